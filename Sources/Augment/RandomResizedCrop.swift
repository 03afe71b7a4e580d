import StageKit
import Foundation

/// RandomResizedCrop with torchvision's sampling: up to 10 tries of (area fraction ~ U(scale),
/// aspect ratio log-uniform in `ratio`), keeping the first box that fits; otherwise a centre crop clamped
/// to the ratio range. The box is then resampled to `outputSize`² with Pillow's bilinear filter (a
/// triangle kernel widened by the downscaling factor, i.e. antialiased), which is what torchvision applies
/// to PIL images.
public struct RandomResizedCrop: Sendable, Equatable {
    /// A crop box in source pixels (torchvision's i, j, h, w).
    public struct Box: Sendable, Equatable, Codable {
        public var top: Int, left: Int, height: Int, width: Int
        public init(top: Int, left: Int, height: Int, width: Int) {
            self.top = top; self.left = left; self.height = height; self.width = width
        }
    }

    public var scale: (min: Double, max: Double)
    public var ratio: (min: Double, max: Double)

    public init(scale: (Double, Double), ratio: (Double, Double) = (3.0 / 4.0, 4.0 / 3.0)) {
        self.scale = (scale.0, scale.1)
        self.ratio = (ratio.0, ratio.1)
    }

    public static func == (a: Self, b: Self) -> Bool { a.scale == b.scale && a.ratio == b.ratio }

    /// Draws a box for an image of `height`×`width` (torchvision `get_params`, Python's round-half-even).
    public func sample(height: Int, width: Int, rng: inout RNG) -> Box {
        let area = Double(height * width)
        let logLo = Foundation.log(ratio.min), logHi = Foundation.log(ratio.max)
        for _ in 0..<10 {
            let target = area * rng.uniform(scale.min, scale.max)
            let aspect = Foundation.exp(rng.uniform(logLo, logHi))
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = rng.below(height - h + 1)
                let left = rng.below(width - w + 1)
                return Box(top: top, left: left, height: h, width: w)
            }
        }
        return RandomResizedCrop.centreBox(height: height, width: width, ratio: ratio)
    }

    /// torchvision's fallback: the whole image, narrowed to the nearest allowed aspect ratio, centred.
    public static func centreBox(height: Int, width: Int, ratio: (min: Double, max: Double)) -> Box {
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.min {
            h = Int((Double(w) / ratio.min).rounded(.toNearestOrEven))
        } else if inRatio > ratio.max {
            w = Int((Double(h) * ratio.max).rounded(.toNearestOrEven))
        }
        return Box(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Crops `box` from `src` and resamples it to `outH`×`outW` into `dst`.
    public static func apply(_ box: Box, src: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                             dst: UnsafeMutablePointer<Float>, outH: Int, outW: Int, workspace ws: Workspace) {
        // src: [C, height, width]   dst: [C, outH, outW]
        let tapsX = Resampler.coefficients(inStart: box.left, inSize: box.width, outSize: outW, extent: width,
                                           start: ws.startX, weights: ws.weightsX)
        let tapsY = Resampler.coefficients(inStart: box.top, inSize: box.height, outSize: outH, extent: height,
                                           start: ws.startY, weights: ws.weightsY)
        let sx = ws.startX.base, wx = ws.weightsX.base     // [outW], [outW, tapsX]
        let sy = ws.startY.base, wy = ws.weightsY.base     // [outH], [outH, tapsY]
        let rowLo = sy[0], rowCount = sy[outH - 1] + tapsY - rowLo
        let rows = ws.rows.reserve(channels * rowCount * outW)      // [C, rowCount, outW] after the x pass
        for c in 0..<channels {
            // Horizontal pass over just the source rows the vertical pass will read.
            for r in 0..<rowCount {
                let s = src + (c * height + rowLo + r) * width
                let d = rows + (c * rowCount + r) * outW
                if tapsX == 3 {
                    for x in 0..<outW {
                        let p = s + sx[x], w = wx + 3 * x
                        d[x] = w[0] * p[0] + w[1] * p[1] + w[2] * p[2]
                    }
                } else {
                    for x in 0..<outW {
                        let p = s + sx[x], w = wx + x * tapsX
                        var acc: Float = 0
                        for k in 0..<tapsX { acc += w[k] * p[k] }
                        d[x] = acc
                    }
                }
            }
            // Vertical pass: each output row is a weighted sum of intermediate rows (vectorises over x).
            for y in 0..<outH {
                let d = dst + (c * outH + y) * outW
                let w = wy + y * tapsY
                let first = rows + (c * rowCount + sy[y] - rowLo) * outW
                let w0 = w[0]
                for x in 0..<outW { d[x] = w0 * first[x] }
                for k in 1..<tapsY {
                    let rk = first + k * outW, wk = w[k]
                    if wk == 0 { continue }
                    for x in 0..<outW { d[x] += wk * rk[x] }
                }
            }
        }
    }

    /// Convenience for tests: crop + resample an owned image.
    public static func apply(_ box: Box, to image: FloatImage, outH: Int, outW: Int) -> FloatImage {
        let ws = Workspace()
        var out = [Float](repeating: 0, count: image.channels * outH * outW)
        image.pixels.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                apply(box, src: s.baseAddress!, channels: image.channels, height: image.height, width: image.width,
                      dst: d.baseAddress!, outH: outH, outW: outW, workspace: ws)
            }
        }
        return FloatImage(channels: image.channels, height: outH, width: outW, pixels: out)
    }
}

/// Pillow's resampling coefficients for the bilinear (triangle) filter, for one axis.
public enum Resampler {
    /// Fills `start` [outSize] and `weights` [outSize, taps] for the source span [inStart, inStart + inSize)
    /// resampled to `outSize` samples, and returns `taps`, the same for every output sample: each sample
    /// reads source[start ..< start + taps] (inside 0 ..< extent) with zero weights outside its own taps,
    /// so the inner loops have a fixed length.
    @discardableResult
    public static func coefficients(inStart: Int, inSize: Int, outSize: Int, extent: Int, start: ScratchBuffer<Int>,
                                    weights: ScratchBuffer<Float>) -> Int {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filterScale                       // the triangle filter's support is 1
        let taps = min(Int(support.rounded(.up)) * 2 + 1, extent)
        let st = start.reserve(outSize), wt = weights.reserve(outSize * taps)
        let inv = 1 / filterScale
        for o in 0..<outSize {
            // In crop-local coordinates, as Pillow sees the cropped image: truncate toward zero, clamp to it.
            let centre = (Double(o) + 0.5) * scale
            let first = max(Int(centre - support + 0.5), 0)
            let last = min(Int(centre + support + 0.5), inSize)
            let n = max(last - first, 0)
            // Shift the read window left when it would run past the image; the weights move with it.
            let begin = min(inStart + first, extent - taps)
            let shift = inStart + first - begin
            let w = wt + o * taps
            for k in 0..<taps { w[k] = 0 }
            var total = 0.0
            for k in 0..<n {
                let t = abs((Double(first + k) - centre + 0.5) * inv)
                let v = t < 1 ? 1 - t : 0
                w[shift + k] = Float(v)
                total += v
            }
            if total > 0 { let s = Float(1 / total); for k in 0..<taps { w[k] *= s } }
            st[o] = begin
        }
        return taps
    }
}
