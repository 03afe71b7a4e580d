import StageKit

/// Converts the file contract's u8 images `[B, C, H, W]` into the engine's normalised float input
/// `[C, B, H, W]`: x = (pixel/255 − mean[c]) / std[c].
public enum InputBatch {
    /// Fills `into` (reshaped to [C, B, H, W]) from `count` images starting at image `first` of `images`.
    public static func normalise<T: GemmScalar>(_ images: UnsafePointer<UInt8>, first: Int = 0, count: Int,
                                                channels: Int, height: Int, width: Int,
                                                mean: [Double], std: [Double], into out: Tensor<T>) {
        precondition(mean.count == channels && std.count == channels, "InputBatch: mean/std need \(channels) values")
        let plane = height * width
        out.reshape([channels, count, height, width])
        let dst = out.data
        var scale = [T](repeating: 0, count: 256 * channels)   // lookup: pixel value → normalised value
        for c in 0..<channels {
            for v in 0..<256 { scale[c * 256 + v] = T((Double(v) / 255 - mean[c]) / std[c]) }
        }
        scale.withUnsafeBufferPointer { table in
            parallelFor(count * channels, threads: NNRuntime.threads) { job in
                let i = job / channels, c = job % channels
                let src = images + ((first + i) * channels + c) * plane
                let lut = table.baseAddress! + c * 256
                let o = dst + (c * count + i) * plane
                for j in 0..<plane { o[j] = lut[Int(src[j])] }
            }
        }
    }

    /// Reorders float `[B, C, H, W]` into `[C, B, H, W]`.
    public static func channelMajor<T: GemmScalar>(_ x: [T], batch: Int, channels: Int, height: Int, width: Int,
                                                   into out: Tensor<T>) {
        let plane = height * width
        out.reshape([channels, batch, height, width])
        for i in 0..<batch {
            for c in 0..<channels {
                for j in 0..<plane { out[(c * batch + i) * plane + j] = x[(i * channels + c) * plane + j] }
            }
        }
    }
}
