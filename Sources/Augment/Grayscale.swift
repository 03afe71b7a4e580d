import StageKit
/// Random grayscale: with probability p, replace every channel of an RGB image by its luma
/// (ITU-R 601-2: 0.299 R + 0.587 G + 0.114 B, as Pillow's "L" conversion; torchvision's tensor path uses
/// 0.2989 for R, a difference far below one grey level). One-channel images are left as they are.
public struct RandomGrayscale: Sendable, Equatable {
    public static let weights: (r: Float, g: Float, b: Float) = (0.299, 0.587, 0.114)
    public var p: Double
    public init(p: Double) { self.p = p }

    public func sample(rng: inout RNG) -> Bool { rng.uniform() < p }

    /// In place on [C, H, W]; a no-op unless C == 3.
    public static func apply(_ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int) {
        guard channels == 3 else { return }
        let n = height * width
        let r = image, g = image + n, b = image + 2 * n
        let (wr, wg, wb) = weights
        for i in 0..<n {
            let l = wr * r[i] + wg * g[i] + wb * b[i]
            r[i] = l; g[i] = l; b[i] = l
        }
    }

    /// Luma of an RGB image into `dst` [H, W].
    @inline(__always)
    static func luma(_ image: UnsafePointer<Float>, count n: Int, into dst: UnsafeMutablePointer<Float>) {
        let (wr, wg, wb) = weights
        for i in 0..<n { dst[i] = wr * image[i] + wg * image[n + i] + wb * image[2 * n + i] }
    }

    public static func apply(to image: FloatImage) -> FloatImage {
        var out = image
        out.pixels.withUnsafeMutableBufferPointer {
            apply($0.baseAddress!, channels: image.channels, height: image.height, width: image.width)
        }
        return out
    }
}
