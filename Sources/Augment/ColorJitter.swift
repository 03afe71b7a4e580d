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
    /// Written with selects instead of branches and libm calls, so the loop can vectorise.
    static func shiftHue(_ image: UnsafeMutablePointer<Float>, n: Int, by shift: Float) {
        let rp = image, gp = image + n, bp = image + 2 * n
        for i in 0..<n {
            let r = rp[i], g = gp[i], b = bp[i]
            let v = max(r, max(g, b)), span = v - min(r, min(g, b))
            // A gray pixel (span 0) gets h = 0, s = 0 and comes back unchanged, as in torchvision.
            let inv: Float = span > 0 ? 1 / span : 0
            let s: Float = v > 0 ? span / v : 0
            // Hue in sixths of a turn: the channel holding the maximum picks the formula.
            let hr = (g - b) * inv, hg = 2 + (b - r) * inv, hb = 4 + (r - g) * inv
            var h = (v == r ? hr : (v == g ? hg : hb)) * (1 / 6) + 1      // in [5/6, 2]
            h = h >= 1 ? h - 1 : h
            h += shift                                                     // |shift| ≤ 0.5
            h = h < 0 ? h + 1 : (h >= 1 ? h - 1 : h)                       // Python's % 1.0
            // HSV → RGB as v − v·s·clamp(min(k, 4 − k), 0, 1) with k = (m + 6h) mod 6, m = 5, 3, 1 for r, g, b:
            // the same values as torchvision's sector table (p, q, t are already inside [0, 1]), branch-free.
            let h6 = h * 6, vs = v * s
            var kr = 5 + h6, kg = 3 + h6, kb = 1 + h6
            kr = kr >= 6 ? kr - 6 : kr
            kg = kg >= 6 ? kg - 6 : kg
            kb = kb >= 6 ? kb - 6 : kb
            rp[i] = v - vs * min(max(min(kr, 4 - kr), 0), 1)
            gp[i] = v - vs * min(max(min(kg, 4 - kg), 0), 1)
            bp[i] = v - vs * min(max(min(kb, 4 - kb), 0), 1)
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

    /// Mean in a fixed order: eight float lanes (so the loop vectorises), combined in Double.
    @inline(__always)
    static func mean(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>(repeating: 0)
        let whole = count / 8
        let raw = UnsafeRawPointer(p)
        for i in 0..<whole { lanes += raw.loadUnaligned(fromByteOffset: i * 32, as: SIMD8<Float>.self) }
        var s = 0.0
        for k in 0..<8 { s += Double(lanes[k]) }
        for i in (whole * 8)..<count { s += Double(p[i]) }
        return Float(s / Double(count))
    }
}
