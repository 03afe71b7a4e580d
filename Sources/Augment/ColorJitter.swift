import StageKit
import Foundation

/// ColorJitter as torchvision applies it (wrapped in RandomApply with probability p): factors
/// b, c, s ~ U(max(0, 1-x), 1+x), hue shift h ~ U(-hue, hue), applied in a random order (a permutation of
/// the four; a component whose strength is 0 is skipped and draws nothing). Formulas on [0, 1] floats,
/// each result clamped to [0, 1]:
///   brightness  x·b
///   contrast    c·x + (1-c)·mean(luma(x))        (mean of x itself for one channel)
///   saturation  s·x + (1-s)·luma(x)              (RGB only)
///   hue         rotate H in HSV by h turns        (RGB only)
public struct ColorJitter: Sendable, Equatable {
    public var p: Double
    public var brightness: Double, contrast: Double, saturation: Double, hue: Double

    /// What one application does: the order (indices 0 brightness, 1 contrast, 2 saturation, 3 hue) and
    /// the factor of each component that is on.
    public struct Params: Sendable, Equatable, Codable {
        public var order: [Int]
        public var brightness: Double?, contrast: Double?, saturation: Double?, hue: Double?
        public init(order: [Int], brightness: Double?, contrast: Double?, saturation: Double?, hue: Double?) {
            self.order = order; self.brightness = brightness; self.contrast = contrast
            self.saturation = saturation; self.hue = hue
        }
    }

    public init(p: Double, brightness: Double, contrast: Double, saturation: Double, hue: Double) {
        self.p = p; self.brightness = brightness; self.contrast = contrast; self.saturation = saturation; self.hue = hue
    }

    /// One uniform for the coin; when applied, a Fisher–Yates permutation of 4 and the factors in the
    /// order brightness, contrast, saturation, hue.
    public func sample(rng: inout RNG) -> Params? {
        guard rng.uniform() < p else { return nil }
        var order = [0, 1, 2, 3]
        for i in stride(from: 3, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        func factor(_ x: Double) -> Double? { x > 0 ? rng.uniform(max(0, 1 - x), 1 + x) : nil }
        let b = factor(brightness), c = factor(contrast), s = factor(saturation)
        let h = hue > 0 ? rng.uniform(-hue, hue) : nil
        return Params(order: order, brightness: b, contrast: c, saturation: s, hue: h)
    }

    /// Applies `params` to `image` [C, H, W] in place; `spare` holds at least H·W floats.
    public static func apply(_ params: Params, _ image: UnsafeMutablePointer<Float>, channels: Int, height: Int,
                             width: Int, spare: UnsafeMutablePointer<Float>) {
        let n = height * width, total = channels * n
        for step in params.order {
            switch step {
            case 0:
                guard let b = params.brightness else { continue }
                let f = Float(b)
                for i in 0..<total { image[i] = min(max(image[i] * f, 0), 1) }
            case 1:
                guard let c = params.contrast else { continue }
                let mean: Float
                if channels == 3 {
                    GrayscaleMean.luma(image, n: n, into: spare)
                    mean = GrayscaleMean.mean(spare, count: n)
                } else {
                    mean = GrayscaleMean.mean(image, count: total)
                }
                blend(image, count: total, factor: Float(c), constant: mean)
            case 2:
                guard let s = params.saturation, channels == 3 else { continue }
                let f = Float(s), g = 1 - f
                let (wr, wg, wb) = RandomGrayscale.weights
                let r = image, gr = image + n, b = image + 2 * n
                for i in 0..<n {
                    let l = g * (wr * r[i] + wg * gr[i] + wb * b[i])
                    r[i] = min(max(f * r[i] + l, 0), 1)
                    gr[i] = min(max(f * gr[i] + l, 0), 1)
                    b[i] = min(max(f * b[i] + l, 0), 1)
                }
            default:
                guard let h = params.hue, channels == 3 else { continue }
                shiftHue(image, n: n, by: Float(h))
            }
        }
    }

    @inline(__always)
    static func blend(_ p: UnsafeMutablePointer<Float>, count: Int, factor f: Float, constant m: Float) {
        let g = (1 - f) * m
        for i in 0..<count { p[i] = min(max(f * p[i] + g, 0), 1) }
    }

    /// RGB → HSV (torchvision's `_rgb2hsv`), H += shift mod 1, HSV → RGB (`_hsv2rgb`), per pixel.
    static func shiftHue(_ image: UnsafeMutablePointer<Float>, n: Int, by shift: Float) {
        let rp = image, gp = image + n, bp = image + 2 * n
        for i in 0..<n {
            let r = rp[i], g = gp[i], b = bp[i]
            let v = max(r, max(g, b)), span = v - min(r, min(g, b))
            guard span > 0 else { continue }            // gray pixel: hue rotation leaves it as it is
            let inv = 1 / span
            let s = span / v
            // Hue in sixths of a turn: which channel is the maximum picks the sector pair.
            var h: Float
            if v == r { h = (g - b) * inv } else if v == g { h = 2 + (b - r) * inv } else { h = 4 + (r - g) * inv }
            h = h * (1 / 6) + 1
            h -= h.rounded(.down)
            h += shift
            h -= h.rounded(.down)                       // Python's % 1.0: into [0, 1)
            let h6 = h * 6
            let sector = h6.rounded(.down)
            let f = h6 - sector
            let p = min(max(v * (1 - s), 0), 1)
            let q = min(max(v * (1 - s * f), 0), 1)
            let t = min(max(v * (1 - s * (1 - f)), 0), 1)
            switch Int(sector) {
            case 0, 6: rp[i] = v; gp[i] = t; bp[i] = p
            case 1: rp[i] = q; gp[i] = v; bp[i] = p
            case 2: rp[i] = p; gp[i] = v; bp[i] = t
            case 3: rp[i] = p; gp[i] = q; bp[i] = v
            case 4: rp[i] = t; gp[i] = p; bp[i] = v
            default: rp[i] = v; gp[i] = p; bp[i] = q
            }
        }
    }

    public static func apply(_ params: Params, to image: FloatImage) -> FloatImage {
        var out = image
        var spare = [Float](repeating: 0, count: image.planeSize)
        out.pixels.withUnsafeMutableBufferPointer { p in
            spare.withUnsafeMutableBufferPointer { s in
                apply(params, p.baseAddress!, channels: image.channels, height: image.height, width: image.width,
                      spare: s.baseAddress!)
            }
        }
        return out
    }
}

/// The luma and its mean, shared by contrast and saturation.
enum GrayscaleMean {
    @inline(__always)
    static func luma(_ image: UnsafePointer<Float>, n: Int, into dst: UnsafeMutablePointer<Float>) {
        RandomGrayscale.luma(image, count: n, into: dst)
    }

    @inline(__always)
    static func mean(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var s: Double = 0
        for i in 0..<count { s += Double(p[i]) }
        return Float(s / Double(count))
    }
}
