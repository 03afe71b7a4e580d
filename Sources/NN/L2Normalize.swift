/// Row-wise x / max(‖x‖, eps) on `[B, D]` (F.normalize with eps 1e-12).
public final class L2Normalize<T: GemmScalar> {
    public let eps: Double = 1e-12
    public let output = Tensor<T>()            // [B, D]
    public let inputGrad = Tensor<T>()         // [B, D]
    private let norms = Tensor<T>()            // [B]
    public init() {}

    @discardableResult
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        let (b, d) = (x.shape[0], x.shape[1])
        output.reshape([b, d]); norms.reshape([b])
        for i in 0..<b {
            var s = 0.0
            for j in 0..<d { s += Double(x[i * d + j]) * Double(x[i * d + j]) }
            let n = max(s.squareRoot(), eps)
            norms[i] = T(n)
            for j in 0..<d { output[i * d + j] = T(Double(x[i * d + j]) / n) }
        }
        return output
    }

    /// dX = (dY − y·(y·dY)) / ‖x‖.  dOut: [B, D].
    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        let (b, d) = (output.shape[0], output.shape[1])
        inputGrad.reshape([b, d])
        for i in 0..<b {
            var dot = 0.0
            for j in 0..<d { dot += Double(output[i * d + j]) * Double(dOut[i * d + j]) }
            let n = Double(norms[i])
            for j in 0..<d {
                inputGrad[i * d + j] = T((Double(dOut[i * d + j]) - Double(output[i * d + j]) * dot) / n)
            }
        }
        return inputGrad
    }
}
