import StageKit

/// Max pooling (kernel k, stride s, no padding) on `[C, B, H, W]`; backward routes each gradient to
/// the position that won the forward max (first one on ties, as PyTorch).
public final class MaxPool2d<T: GemmScalar> {
    public let kernel: Int, stride: Int
    public let output = Tensor<T>()            // [C, B, Ho, Wo]
    public let inputGrad = Tensor<T>()         // [C, B, H, W]
    private var argmax: [Int32] = []           // [C·B·Ho·Wo] offset of the winner inside its plane
    private var inputShape: [Int] = []

    public init(kernel: Int, stride: Int? = nil) {
        self.kernel = kernel; self.stride = stride ?? kernel
    }

    @discardableResult
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        let (c, b, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h - kernel) / stride + 1, wo = (w - kernel) / stride + 1
        inputShape = x.shape
        output.reshape([c, b, ho, wo])
        if argmax.count != output.count { argmax = [Int32](repeating: 0, count: output.count) }
        let (k, s, src, dst) = (kernel, stride, x.data, output.data)
        argmax.withUnsafeMutableBufferPointer { am in
            let am = am.baseAddress!
            parallelFor(c * b, threads: NNRuntime.threads) { plane in
                let xin = src + plane * h * w
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var best = -T.infinity, at = 0
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let pos = (oy * s + ky) * w + ox * s + kx
                                if xin[pos] > best { best = xin[pos]; at = pos }
                            }
                        }
                        let o = (plane * ho + oy) * wo + ox
                        dst[o] = best; am[o] = Int32(at)
                    }
                }
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        inputGrad.reshape(inputShape)
        inputGrad.zero()
        let (h, w) = (inputShape[2], inputShape[3])
        let planeOut = output.shape[2] * output.shape[3]
        let (dy, dx) = (dOut.data, inputGrad.data)
        argmax.withUnsafeBufferPointer { am in
            parallelFor(inputShape[0] * inputShape[1], threads: NNRuntime.threads) { plane in
                for o in plane * planeOut..<(plane + 1) * planeOut { dx[plane * h * w + Int(am[o])] += dy[o] }
            }
        }
        return inputGrad
    }
}
