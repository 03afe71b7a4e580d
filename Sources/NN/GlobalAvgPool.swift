import StageKit

/// Mean over H×W: `[C, B, H, W]` → row-major `[B, C]` (the pooled feature).
public final class GlobalAvgPool<T: GemmScalar> {
    public let output = Tensor<T>()            // [B, C]
    public let inputGrad = Tensor<T>()         // [C, B, H, W]
    private var inputShape: [Int] = []
    public init() {}

    @discardableResult
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        let (c, b) = (x.shape[0], x.shape[1])
        let spatial = x.count / (c * b)
        inputShape = x.shape
        output.reshape([b, c])
        let (src, dst) = (x.data, output.data)
        parallelFor(c, threads: NNRuntime.threads) { ch in
            for i in 0..<b {
                let p = src + (ch * b + i) * spatial
                var s: T = 0
                for j in 0..<spatial { s += p[j] }
                dst[i * c + ch] = s / T(spatial)
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        let (c, b) = (inputShape[0], inputShape[1])
        let spatial = inputShape[2] * inputShape[3]
        inputGrad.reshape(inputShape)
        let (dy, dx) = (dOut.data, inputGrad.data)
        parallelFor(c, threads: NNRuntime.threads) { ch in
            for i in 0..<b {
                (dx + (ch * b + i) * spatial).update(repeating: dy[i * c + ch] / T(spatial), count: spatial)
            }
        }
        return inputGrad
    }
}
