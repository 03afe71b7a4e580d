/// y = x·Wᵀ + b on row-major `[B, In]` → `[B, Out]`, weight `[Out, In]` as nn.Linear.
/// Its products (the projection head's: batch × at most 8w × 8w) run single-threaded in the caller: a
/// multi-threaded one costs more in hand-off than it saves at this size, and wakes OpenBLAS's threads,
/// which then spin (sched_yield) against the engine's workers — ≈ 10 % of an `embed` run's perf samples.
public final class Linear<T: GemmScalar> {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter<T>            // [Out, In]
    public let bias: Parameter<T>              // [Out]
    public var parameters: [Parameter<T>] { [weight, bias] }
    public let output = Tensor<T>()            // [B, Out]
    public let inputGrad = Tensor<T>()         // [B, In]
    private var input: Tensor<T>?              // [B, In]

    public init(name: String, inFeatures: Int, outFeatures: Int) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        weight = Parameter(qualified(name, "weight"), [outFeatures, inFeatures])
        bias = Parameter(qualified(name, "bias"), [outFeatures])
    }

    public func initialise(seed: UInt64) {
        Initialisation.linearUniform(weight, fanIn: inFeatures, seed: seed)
        Initialisation.linearUniform(bias, fanIn: inFeatures, seed: seed)
    }

    @discardableResult
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        let b = x.shape[0]
        precondition(x.count == b * inFeatures, "Linear: input \(x.shape), expected [B, \(inFeatures)]")
        input = x
        output.reshape([b, outFeatures])
        for i in 0..<b { (output.data + i * outFeatures).update(from: bias.value.data, count: outFeatures) }
        BLASRuntime.singleThreaded {
            T.gemm(false, true, b, outFeatures, inFeatures, 1, x.data, inFeatures, weight.value.data, inFeatures,
                   1, output.data, outFeatures)
        }
        return output
    }

    /// Accumulates dW, db and returns dX.  dOut: [B, Out].
    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        let b = x.shape[0]
        BLASRuntime.singleThreaded {
            T.gemm(true, false, outFeatures, inFeatures, b, 1, dOut.data, outFeatures, x.data, inFeatures,
                   1, weight.grad.data, inFeatures)
        }
        for i in 0..<b {
            for o in 0..<outFeatures { bias.grad.data[o] += dOut.data[i * outFeatures + o] }
        }
        inputGrad.reshape([b, inFeatures])
        BLASRuntime.singleThreaded {
            T.gemm(false, false, b, inFeatures, outFeatures, 1, dOut.data, outFeatures, weight.value.data, inFeatures,
                   0, inputGrad.data, inFeatures)
        }
        return inputGrad
    }

    public func flops(batch: Int) -> Double { 2 * Double(batch * inFeatures * outFeatures) }
}
