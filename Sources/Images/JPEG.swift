import CTurboJPEG
import Foundation
import StageKit

/// Output colour of decoded JPEGs. Adding a variant touches `channels` and `pixelFormat`.
public enum ColorMode: String, CaseIterable, Sendable {
    case gray, rgb
    public var channels: Int { self == .gray ? 1 : 3 }
    var pixelFormat: Int32 { self == .gray ? Int32(TJPF_GRAY.rawValue) : Int32(TJPF_RGB.rawValue) }
}


/// JPEG decoding through TurboJPEG (the only module that reaches libjpeg-turbo). Decoding uses the library's
/// defaults — accurate integer DCT and fancy upsampling — which are also `djpeg`'s, so unresized pixels equal
/// `djpeg -pnm` (RGB) and `djpeg -grayscale -pnm` (gray). Any libjpeg warning (e.g. a truncated file,
/// "Premature end of JPEG file") counts as a bad image: we never keep silently half-grey images.
public final class JPEGDecoder {
    let handle: tjhandle
    /// Largest image accepted (8192 × 8192: 192 MiB decoded as RGB, per decoding thread).
    public static let maxPixels = 1 << 26

    public init() throws {
        guard let h = tjInitDecompress() else { throw StageError("cannot initialise the TurboJPEG decompressor") }
        handle = h
    }

    deinit { tjDestroy(handle) }

    private func why() -> String { String(cString: tjGetErrorStr2(handle)).trimmingCharacters(in: .whitespacesAndNewlines) }

    /// The image's width and height from its header.
    public func size(_ jpeg: [UInt8], path: String) throws -> (width: Int, height: Int) {
        var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let rc = jpeg.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt(jpeg.count), &w, &h, &subsampling, &colorspace)
        }
        guard rc == 0, w > 0, h > 0 else { throw StageError(path, "corrupt JPEG header (\(why()))") }
        // A damaged or hostile header can claim 65535×65535; refuse before allocating for it. Every 8×8
        // block costs at least a bit of entropy-coded data, so a file of B bytes holds at most ~512·B
        // pixels: a tiny file claiming a huge image is refused too (1024·B leaves a margin).
        guard Int(w) * Int(h) <= JPEGDecoder.maxPixels else {
            throw StageError(path, "JPEG claims \(w)×\(h) pixels, more than the limit of \(JPEGDecoder.maxPixels)")
        }
        guard Int(w) * Int(h) <= max(1 << 16, jpeg.count * 1024) else {
            throw StageError(path, "JPEG header claims \(w)×\(h) pixels but the file has only \(jpeg.count) bytes (a damaged or crafted header)")
        }
        return (Int(w), Int(h))
    }

    /// Decodes to interleaved pixels [H, W, C] at `width`×`height`, which must be the image's size or one of
    /// TurboJPEG's DCT scalings of it (see `scaledSize`).
    public func decode(_ jpeg: [UInt8], path: String, width: Int, height: Int, color: ColorMode) throws -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * color.channels)   // [H, W, C]
        let rc = jpeg.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(jpeg.count), dst.baseAddress, Int32(width), 0, Int32(height),
                              color.pixelFormat, 0)
            }
        }
        if rc != 0 { throw StageError(path, "corrupt or truncated JPEG (\(why()))") }
        return pixels
    }

    /// The smallest TurboJPEG DCT scaling (1/8, 1/4, 1/2 or none) that keeps the shorter side ≥ `target`.
    /// Scaling inside the DCT is both faster and better filtered than bilinear downscaling from full size.
    public static func scaledSize(width: Int, height: Int, target: Int) -> (width: Int, height: Int) {
        for denominator in [8, 4, 2] {
            let w = (width + denominator - 1) / denominator, h = (height + denominator - 1) / denominator
            if min(w, h) >= target { return (w, h) }
        }
        return (width, height)
    }
}

/// Resize policy for `--size S`: scale so that the shorter side is S (bilinear interpolation with pixel
/// centres aligned, after TurboJPEG's DCT scaling has shrunk large images by up to 8×), then crop the
/// centre S×S. Without --size no resampling happens at all.
public enum ResizeCrop {
    /// src [H, W, C] interleaved → dst [C, S, S] planar.
    public static func shorterSideThenCenterCrop(_ src: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int,
                                                 size: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let scale = Double(size) / Double(min(width, height))
        let rw = width <= height ? size : max(size, Int((Double(width) * scale).rounded()))
        let rh = height < width ? size : max(size, Int((Double(height) * scale).rounded()))
        let cropX = (rw - size) / 2, cropY = (rh - size) / 2
        func taps(_ n: Int, _ resized: Int, _ crop: Int) -> (lo: [Int], hi: [Int], frac: [Float]) {
            var lo = [Int](repeating: 0, count: size), hi = lo, frac = [Float](repeating: 0, count: size)   // [S] each
            let ratio = Double(n) / Double(resized)
            for o in 0..<size {
                let s = min(max((Double(o + crop) + 0.5) * ratio - 0.5, 0), Double(n - 1))
                lo[o] = Int(s)
                hi[o] = min(lo[o] + 1, n - 1)
                frac[o] = Float(s - Double(lo[o]))
            }
            return (lo, hi, frac)
        }
        let xs = taps(width, rw, cropX), ys = taps(height, rh, cropY)
        // Separable: blend the two source rows once per output row, then blend along x from that row.
        let plane = size * size
        let x0 = xs.lo.map { $0 * channels }, x1 = xs.hi.map { $0 * channels }   // [S] offsets into a row
        var blended = [Float](repeating: 0, count: width * channels)               // [W, C] one vertically blended row
        blended.withUnsafeMutableBufferPointer { row in
            let rowCount = width * channels
            for oy in 0..<size {
                let row0 = src + ys.lo[oy] * rowCount, row1 = src + ys.hi[oy] * rowCount
                let fy = ys.frac[oy]
                // Only the source columns the crop reaches are needed.
                let first = x0[0], last = x1[size - 1] + channels
                for i in first..<last {
                    let top = Float(row0[i])
                    row[i] = top + fy * (Float(row1[i]) - top)
                }
                for ox in 0..<size {
                    let a = x0[ox], b = x1[ox], fx = xs.frac[ox]
                    for c in 0..<channels {
                        let left = row[a + c]
                        // Values are ≥ 0, so adding ½ and truncating rounds to nearest.
                        dst[c * plane + oy * size + ox] = UInt8(min(left + fx * (row[b + c] - left) + 0.5, 255))
                    }
                }
            }
        }
    }

    /// No resampling: [H, W, C] interleaved → [C, H, W] planar.
    public static func planar(_ src: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let plane = width * height
        for p in 0..<plane {
            for c in 0..<channels { dst[c * plane + p] = src[p * channels + c] }
        }
    }
}
