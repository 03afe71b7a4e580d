import StageKit
import Foundation

/// sRGB → CIE L*a*b* (D65 white, sRGB primaries), for CMC's split of an image into a luminance view (L)
/// and a chrominance view (ab).
///
/// u8 encoding of the views (the views file stores u8):
///   L8 = round(L · 255/100)     L ∈ [0, 100]
///   a8 = round(a + 128), b8 = round(b + 128)   clamped to 0…255 (sRGB's a, b lie within about ±128)
/// `decodeU8` inverts it.
public enum LabConversion {
    static let white: (x: Double, y: Double, z: Double) = (0.95047, 1.0, 1.08883)
    static let epsilon = 216.0 / 24389.0          // (6/29)³
    static let kappaInv = 1.0 / (3.0 * 36.0 / 841.0)   // 1 / (3 (6/29)²)

    @inline(__always) static func linear(_ c: Double) -> Double {
        c <= 0.04045 ? c / 12.92 : Foundation.pow((c + 0.055) / 1.055, 2.4)
    }
    @inline(__always) static func gamma(_ c: Double) -> Double {
        c <= 0.0031308 ? 12.92 * c : 1.055 * Foundation.pow(c, 1 / 2.4) - 0.055
    }
    @inline(__always) static func f(_ t: Double) -> Double {
        t > epsilon ? Foundation.cbrt(t) : t * kappaInv + 4.0 / 29.0
    }
    @inline(__always) static func fInverse(_ t: Double) -> Double {
        t > 6.0 / 29.0 ? t * t * t : (t - 4.0 / 29.0) / kappaInv
    }

    /// One pixel: sRGB in [0, 1] → (L, a, b).
    public static func lab(r: Double, g: Double, b: Double) -> (Double, Double, Double) {
        let rl = linear(r), gl = linear(g), bl = linear(b)
        let x = 0.4124564 * rl + 0.3575761 * gl + 0.1804375 * bl
        let y = 0.2126729 * rl + 0.7151522 * gl + 0.0721750 * bl
        let z = 0.0193339 * rl + 0.1191920 * gl + 0.9503041 * bl
        let fx = f(x / white.x), fy = f(y / white.y), fz = f(z / white.z)
        return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    }

    /// One pixel: (L, a, b) → sRGB in [0, 1] (clamped).
    public static func rgb(l: Double, a: Double, b: Double) -> (Double, Double, Double) {
        let fy = (l + 16) / 116, fx = fy + a / 500, fz = fy - b / 200
        let x = white.x * fInverse(fx), y = white.y * fInverse(fy), z = white.z * fInverse(fz)
        let rl = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z
        let gl = -0.9692660 * x + 1.8760108 * y + 0.0415560 * z
        let bl = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z
        func c(_ v: Double) -> Double { min(max(gamma(max(v, 0)), 0), 1) }
        return (c(rl), c(gl), c(bl))
    }

    @inline(__always) static func byte(_ v: Double) -> UInt8 { UInt8(min(max(v + 0.5, 0), 255.99)) }

    /// RGB [3, H, W] floats → L view [1, H, W] and ab view [2, H, W] as u8 (the encoding above).
    /// Float arithmetic here (the u8 result is what counts; Double is kept for the one-pixel API).
    public static func splitU8(_ image: UnsafePointer<Float>, count n: Int, l lOut: UnsafeMutablePointer<UInt8>,
                               ab abOut: UnsafeMutablePointer<UInt8>) {
        @inline(__always) func lin(_ c: Float) -> Float { c <= 0.04045 ? c * (1 / 12.92) : Foundation.pow((c + 0.055) * (1 / 1.055), 2.4) }
        @inline(__always) func fl(_ t: Float) -> Float { t > Float(epsilon) ? Foundation.cbrt(t) : t * Float(kappaInv) + 4 / 29 }
        @inline(__always) func byteF(_ v: Float) -> UInt8 { UInt8(min(max(v + 0.5, 0), 255.99)) }
        let wx = Float(1 / white.x), wz = Float(1 / white.z)
        for i in 0..<n {
            let rl = lin(image[i]), gl = lin(image[n + i]), bl = lin(image[2 * n + i])
            let x = (0.4124564 * rl + 0.3575761 * gl + 0.1804375 * bl) * wx
            let y = 0.2126729 * rl + 0.7151522 * gl + 0.0721750 * bl
            let z = (0.0193339 * rl + 0.1191920 * gl + 0.9503041 * bl) * wz
            let fx = fl(x), fy = fl(y), fz = fl(z)
            lOut[i] = byteF((116 * fy - 16) * (255 / 100))
            abOut[i] = byteF(500 * (fx - fy) + 128)
            abOut[n + i] = byteF(200 * (fy - fz) + 128)
        }
    }

    /// The inverse of the u8 encoding: (L8, a8, b8) → (L, a, b).
    public static func decodeU8(l: UInt8, a: UInt8, b: UInt8) -> (Double, Double, Double) {
        (Double(l) * 100 / 255, Double(a) - 128, Double(b) - 128)
    }
}
