import Foundation

/// Batch normalisation over row-major `[B, D]` features, PyTorch semantics (eps 1e-5, momentum 0.1,
/// unbiased running variance).
public final class BatchNorm1d<T: GemmScalar> {
    public let features: Int
    public let eps: Double = 1e-5, momentum: Double = 0.1
    public let gamma: Parameter<T>             // [D]
    public let beta: Parameter<T>              // [D]
    public let runningMean: Buffer<T>          // [D]
    public let runningVar: Buffer<T>           // [D]
    public var batchesTracked: Int64 = 0
    public var parameters: [Parameter<T>] { [gamma, beta] }
    public var buffers: [Buffer<T>] { [runningMean, runningVar] }

    public let output = Tensor<T>()            // [B, D]
    public let inputGrad = Tensor<T>()         // [B, D]
    private let xhat = Tensor<T>()             // [B, D]
    private let invStd = Tensor<T>()           // [D]
    private var trainedForward = true

    public init(name: String, features: Int) {
        self.features = features
        gamma = Parameter(qualified(name, "weight"), [features])
        beta = Parameter(qualified(name, "bias"), [features])
        gamma.value.data.update(repeating: 1, count: features)
        runningMean = Buffer(qualified(name, "running_mean"), [features])
        runningVar = Buffer(qualified(name, "running_var"), [features], fill: 1)
    }

    @discardableResult
    public func forward(_ x: Tensor<T>, training: Bool) -> Tensor<T> {
        let (b, d) = (x.shape[0], x.shape[1])
        precondition(d == features, "BatchNorm1d: \(d) features, expected \(features)")
        output.reshape([b, d]); xhat.reshape([b, d]); invStd.reshape([d])
        trainedForward = training
        if training { batchesTracked += 1 }
        for j in 0..<d {
            let m: Double, v: Double
            if training {
                var s = 0.0
                for i in 0..<b { s += Double(x.data[i * d + j]) }
                m = s / Double(b)
                var q = 0.0
                for i in 0..<b { let e = Double(x.data[i * d + j]) - m; q += e * e }
                v = q / Double(b)
                let unbiased = b > 1 ? q / Double(b - 1) : v
                runningMean.value[j] = T((1 - momentum) * Double(runningMean.value[j]) + momentum * m)
                runningVar.value[j] = T((1 - momentum) * Double(runningVar.value[j]) + momentum * unbiased)
            } else {
                m = Double(runningMean.value[j]); v = Double(runningVar.value[j])
            }
            let inv = 1 / (v + eps).squareRoot()
            invStd[j] = T(inv)
            for i in 0..<b {
                let h = T((Double(x.data[i * d + j]) - m) * inv)
                xhat[i * d + j] = h
                output[i * d + j] = h * gamma.value[j] + beta.value[j]
            }
        }
        return output
    }

    /// Accumulates dγ, dβ and returns dX.  dOut: [B, D].
    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        let (b, d) = (xhat.shape[0], xhat.shape[1])
        inputGrad.reshape([b, d])
        for j in 0..<d {
            var sdy = 0.0, sdyx = 0.0
            for i in 0..<b {
                sdy += Double(dOut[i * d + j]); sdyx += Double(dOut[i * d + j] * xhat[i * d + j])
            }
            gamma.grad[j] += T(sdyx); beta.grad[j] += T(sdy)
            let gi = gamma.value[j] * invStd[j]
            for i in 0..<b {
                inputGrad[i * d + j] = trainedForward
                    ? gi * (dOut[i * d + j] - T(sdy / Double(b)) - xhat[i * d + j] * T(sdyx / Double(b)))
                    : gi * dOut[i * d + j]
            }
        }
        return inputGrad
    }
}
