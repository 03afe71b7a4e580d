/// MoCo v2's projection head: Linear(d, d) → ReLU → Linear(d, out) → L2-normalise.
/// Named `head.0` and `head.2` (the ReLU is `head.1`).
public final class ProjectionHead<T: GemmScalar> {
    public let fc1: Linear<T>, relu = ReLU<T>(), fc2: Linear<T>, normalize = L2Normalize<T>()
    public var parameters: [Parameter<T>] { fc1.parameters + fc2.parameters }

    public init(inFeatures: Int, outFeatures: Int = 128, prefix: String = "") {
        fc1 = Linear(name: qualified(prefix, "head.0"), inFeatures: inFeatures, outFeatures: inFeatures)
        fc2 = Linear(name: qualified(prefix, "head.2"), inFeatures: inFeatures, outFeatures: outFeatures)
    }

    public func initialise(seed: UInt64) { fc1.initialise(seed: seed); fc2.initialise(seed: seed) }

    /// feature [B, d] → embedding [B, out], rows of unit length.
    @discardableResult
    public func forward(_ feature: Tensor<T>) -> Tensor<T> {
        normalize.forward(fc2.forward(relu.forward(fc1.forward(feature))))
    }

    /// dEmbedding [B, out] → dFeature [B, d].
    @discardableResult
    public func backward(_ dEmbedding: Tensor<T>) -> Tensor<T> {
        fc1.backward(relu.backward(fc2.backward(normalize.backward(dEmbedding))))
    }

    public func flops(batch: Int) -> Double { fc1.flops(batch: batch) + fc2.flops(batch: batch) }
}
