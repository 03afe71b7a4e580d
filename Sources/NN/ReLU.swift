import StageKit

/// max(0, x) on any shape; backward masks by the output.
public final class ReLU<T: GemmScalar> {
    public let output = Tensor<T>()            // same shape as the input
    public let inputGrad = Tensor<T>()         // same shape as the input
    public init() {}

    @discardableResult
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        output.reshape(x.shape)
        let (src, dst) = (x.data, output.data)
        parallelBlocks(x.count, threads: NNRuntime.threads) { r in
            for i in r { dst[i] = src[i] > 0 ? src[i] : 0 }
        }
        return output
    }

    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        inputGrad.reshape(output.shape)
        let (y, dy, dx) = (output.data, dOut.data, inputGrad.data)
        parallelBlocks(output.count, threads: NNRuntime.threads) { r in
            for i in r { dx[i] = y[i] > 0 ? dy[i] : 0 }
        }
        return inputGrad
    }
}
