import StageKit

/// Backbone (CIFAR ResNet-18) + MoCo v2 projection head: the unit the pretrain stage trains.
/// Parameter names are `<prefix>conv1.weight`, …, `<prefix>head.2.bias`, so a query and a key encoder
/// can share one checkpoint file under different prefixes.
public final class Encoder<T: GemmScalar> {
    public let backbone: ResNet<T>
    public let head: ProjectionHead<T>
    public let prefix: String
    public private(set) var parameters: [Parameter<T>] = []
    public private(set) var buffers: [Buffer<T>] = []

    /// `prefix` may be "" or end in "." (e.g. "encoder_q.").
    public init(inChannels: Int, width: Int = 16, embeddingDimension: Int = 128, bnSplits: Int = 1,
                prefix: String = "", seed: UInt64 = 0) {
        self.prefix = prefix
        let p = prefix.hasSuffix(".") ? String(prefix.dropLast()) : prefix
        backbone = ResNet(inChannels: inChannels, width: width, bnSplits: bnSplits, prefix: p)
        head = ProjectionHead(inFeatures: backbone.featureDimension, outFeatures: embeddingDimension, prefix: p)
        parameters = backbone.parameters + head.parameters
        buffers = backbone.buffers
        backbone.initialise(seed: seed)
        head.initialise(seed: seed)
    }

    public var featureDimension: Int { backbone.featureDimension }

    /// The algorithms every convolution of the backbone may use (default: the fastest).
    public var convolutionPolicy: ConvolutionPolicy {
        get { backbone.convs.first?.policy ?? .fastest }
        set { for conv in backbone.convs { conv.policy = newValue } }
    }
    public var embeddingDimension: Int { head.fc2.outFeatures }

    /// images: [C, B, H, W] (see `InputBatch`). Returns the pooled feature [B, 8w] and the
    /// L2-normalised embedding [B, 128]; both buffers are reused by the next call.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func forward(_ images: Tensor<T>, training: Bool) -> (feature: Tensor<T>, embedding: Tensor<T>) {
        let feature = backbone.forward(images, training: training)
        return (feature, head.forward(feature))
    }

    /// Backbone only (for embedding without the head).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func features(_ images: Tensor<T>, training: Bool) -> Tensor<T> {
        backbone.forward(images, training: training)
    }

    /// Accumulates the gradients of every parameter from d(loss)/d(embedding) [B, 128].
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func backward(_ dEmbedding: Tensor<T>) {
        backbone.backward(head.backward(dEmbedding))
    }

    /// Accumulates the gradients from d(loss)/d(feature) [B, 8w], bypassing the head.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func backwardFromFeature(_ dFeature: Tensor<T>) {
        backbone.backward(dFeature)
    }

    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func zeroGrad() {
        for p in parameters { p.grad.zero() }
    }

    /// Copies parameters, BN running statistics and counters from an encoder of the same shape.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func copyWeights(from other: Encoder<T>) {
        precondition(parameters.count == other.parameters.count, "copyWeights: encoders differ in shape")
        for (a, b) in zip(parameters, other.parameters) {
            precondition(a.value.count == b.value.count, "copyWeights: \(a.name) differs in shape")
            a.value.data.update(from: b.value.data, count: a.value.count)
        }
        for (a, b) in zip(buffers, other.buffers) { a.value.data.update(from: b.value.data, count: a.value.count) }
        for (a, b) in zip(backbone.norms, other.backbone.norms) { a.batchesTracked = b.batchesTracked }
    }

    /// θ_self ← m·θ_self + (1 − m)·θ_other for every parameter (MoCo's key encoder update; BN running
    /// statistics are the key encoder's own, as in MoCo).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func momentumUpdate(from other: Encoder<T>, m: Double) {
        let (mm, rest) = (T(m), T(1 - m))
        for (a, b) in zip(parameters, other.parameters) {
            let (x, y) = (a.value.data, b.value.data)
            for i in 0..<a.value.count { x[i] = mm * x[i] + rest * y[i] }
        }
    }

    /// FLOPs of one forward pass for a batch (convs + linears).
    public func forwardFlops(batch: Int, h: Int, w: Int) -> Double {
        backbone.forwardFlops(batch: batch, h: h, w: w) + head.flops(batch: batch)
    }
    /// FLOPs of one backward pass (weight and input gradients).
    public func backwardFlops(batch: Int, h: Int, w: Int) -> Double {
        backbone.backwardFlops(batch: batch, h: h, w: w) + 2 * head.flops(batch: batch)
    }
}
