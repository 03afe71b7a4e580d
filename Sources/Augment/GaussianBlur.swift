import StageKit
import Foundation

/// Gaussian blur as torchvision's GaussianBlur: σ ~ U(σmin, σmax); a separable kernel of odd size k whose
/// taps are exp(-x²/2σ²) at x = -(k-1)/2 … (k-1)/2, normalised; reflect padding (edge not repeated).
/// k is about 10 % of the image side, made odd (SimCLR's choice): k = 2·⌊⌊0.1·side⌋/2⌋ + 1, so 3 at 28
/// or 32 px and 23 at 224 px; capped so that reflect padding stays inside the image.
public struct GaussianBlur: Sendable, Equatable {
    public var p: Double
    public var sigma: (min: Double, max: Double)

    public init(p: Double, sigma: (Double, Double)) {
        self.p = p
        self.sigma = (sigma.0, sigma.1)
    }

    public static func == (a: Self, b: Self) -> Bool { a.p == b.p && a.sigma == b.sigma }

    /// The σ to blur with, or nil when the coin says no. Draws one uniform, and a second only when applied.
    public func sample(rng: inout RNG) -> Double? {
        guard rng.uniform() < p else { return nil }
        return rng.uniform(sigma.min, sigma.max)
    }

    public static func kernelSize(side: Int) -> Int {
        let k = (Int(0.1 * Double(side)) / 2) * 2 + 1
        return min(k, 2 * max(side - 1, 0) + 1)
    }

    /// Normalised taps for σ and size k, into `taps` [k].
    public static func kernel(sigma: Double, size k: Int, into taps: UnsafeMutablePointer<Float>) {
        let half = Double(k - 1) / 2
        var total = 0.0
        for i in 0..<k {
            let x = (Double(i) - half) / sigma
            let v = Foundation.exp(-0.5 * x * x)
            taps[i] = Float(v)
            total += v
        }
        let s = Float(1 / total)
        for i in 0..<k { taps[i] *= s }
    }

    /// Blurs `image` [C, H, W] in place with σ, using `spare` [C, H, W] as the intermediate.
    public static func apply(sigma: Double, _ image: UnsafeMutablePointer<Float>, channels: Int, height: Int,
                             width: Int, spare: UnsafeMutablePointer<Float>) {
        let kx = kernelSize(side: width), ky = kernelSize(side: height)
        if kx <= 1 && ky <= 1 { return }
        let rx = kx / 2, ry = ky / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: kx + ky + width + 2 * rx) { buf in
            let tx = buf.baseAddress!, ty = tx + kx
            let padded = ty + ky                            // [width + 2 rx] one reflect-padded row
            kernel(sigma: sigma, size: kx, into: tx)
            kernel(sigma: sigma, size: ky, into: ty)
            let n = height * width
            // Horizontal pass: image → spare, tap by tap over a padded copy of the row (vectorises over x).
            for row in 0..<(channels * height) {
                let s = image + row * width, d = spare + row * width
                (padded + rx).update(from: s, count: width)
                for i in 0..<rx { padded[rx - 1 - i] = s[reflect(-1 - i, width)]; padded[rx + width + i] = s[reflect(width + i, width)] }
                let t0 = tx[0]
                for x in 0..<width { d[x] = t0 * padded[x] }
                for k in 1..<max(kx, 1) {
                    let p = padded + k, t = tx[k]
                    for x in 0..<width { d[x] += t * p[x] }
                }
            }
            // Vertical pass: spare → image, row-wise so the inner loop vectorises over x.
            for c in 0..<channels {
                let s = spare + c * n, d = image + c * n
                for y in 0..<height {
                    let out = d + y * width
                    for x in 0..<width { out[x] = 0 }
                    for k in 0..<ky {
                        let src = s + reflect(y + k - ry, height) * width, w = ty[k]
                        for x in 0..<width { out[x] += w * src[x] }
                    }
                }
            }
        }
    }

    /// Reflect padding without repeating the edge: -1 → 1, n → n-2.
    @inline(__always)
    static func reflect(_ i: Int, _ n: Int) -> Int {
        if i < 0 { return -i }
        if i >= n { return 2 * n - 2 - i }
        return i
    }

    public static func apply(sigma: Double, to image: FloatImage) -> FloatImage {
        var out = image
        var spare = [Float](repeating: 0, count: image.pixels.count)
        out.pixels.withUnsafeMutableBufferPointer { p in
            spare.withUnsafeMutableBufferPointer { s in
                apply(sigma: sigma, p.baseAddress!, channels: image.channels, height: image.height, width: image.width,
                      spare: s.baseAddress!)
            }
        }
        return out
    }
}
