import StageKit
/// Random horizontal flip: with probability p, mirror every row.
public struct HorizontalFlip: Sendable, Equatable {
    public var p: Double
    public init(p: Double = 0.5) { self.p = p }

    /// One uniform draw, always (so later draws do not shift with p).
    public func sample(rng: inout RNG) -> Bool { rng.uniform() < p }

    /// Mirrors `image` [C, H, W] in place.
    public static func apply(_ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int) {
        for r in 0..<(channels * height) {
            let row = image + r * width
            var i = 0, j = width - 1
            while i < j { let t = row[i]; row[i] = row[j]; row[j] = t; i += 1; j -= 1 }
        }
    }

    public static func apply(to image: FloatImage) -> FloatImage {
        var out = image
        out.pixels.withUnsafeMutableBufferPointer {
            apply($0.baseAddress!, channels: image.channels, height: image.height, width: image.width)
        }
        return out
    }
}
