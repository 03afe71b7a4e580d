/// ResNet-18 in the CIFAR form (3×3 stride-1 stem, no max-pool), widths w, 2w, 4w, 8w, two BasicBlocks
/// per stage, global average pool → pooled feature [B, 8w]. Names follow torchvision's resnet18
/// (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, …) so a checkpoint loads into it once
/// conv1 is replaced by a 3×3 stride-1 conv and maxpool by Identity.
public final class ResNet<T: GemmScalar> {
    /// Widest base width a stage builds (64 is the standard ResNet-18; memory grows with its square).
    public static var widthLimit: Int { 256 }

    public let inChannels: Int, width: Int
    public let conv1: Conv2d<T>
    public let bn1: BatchNorm2d<T>             // carries the stem ReLU
    public let blocks: [BasicBlock<T>]         // layer1.0, layer1.1, …, layer4.1
    public let pool = GlobalAvgPool<T>()
    public var featureDimension: Int { 8 * width }

    public init(inChannels: Int, width: Int = 16, bnSplits: Int = 1, prefix: String = "", blocksPerStage: Int = 2) {
        self.inChannels = inChannels; self.width = width
        conv1 = Conv2d(name: qualified(prefix, "conv1"), inChannels: inChannels, outChannels: width, kernel: 3,
                       stride: 1, padding: 1, needsInputGrad: false)
        bn1 = BatchNorm2d(name: qualified(prefix, "bn1"), channels: width, splits: bnSplits, fusedReLU: true)
        var blocks: [BasicBlock<T>] = []
        var channels = width
        for stage in 0..<4 {
            let out = width << stage
            for i in 0..<blocksPerStage {
                blocks.append(BasicBlock(name: qualified(prefix, "layer\(stage + 1).\(i)"), inChannels: channels,
                                         outChannels: out, stride: stage > 0 && i == 0 ? 2 : 1, bnSplits: bnSplits))
                channels = out
            }
        }
        self.blocks = blocks
    }

    public var convs: [Conv2d<T>] { [conv1] + blocks.flatMap(\.convs) }
    public var norms: [BatchNorm2d<T>] { [bn1] + blocks.flatMap(\.norms) }
    public var parameters: [Parameter<T>] { conv1.parameters + bn1.parameters + blocks.flatMap(\.parameters) }
    public var buffers: [Buffer<T>] { bn1.buffers + blocks.flatMap(\.buffers) }

    /// Kaiming-normal (fan_out, relu) convs; BN γ=1, β=0 (set at construction).
    public func initialise(seed: UInt64) {
        for c in convs { Initialisation.kaimingNormalFanOut(c.weight, seed: seed) }
    }

    /// x: [C, B, H, W] → pooled feature [B, 8w].
    @discardableResult
    public func forward(_ x: Tensor<T>, training: Bool) -> Tensor<T> {
        precondition(x.shape.count == 4 && x.shape[0] == inChannels, "ResNet: input \(x.shape), expected [\(inChannels), B, H, W]")
        precondition(x.shape[2] >= 16 && x.shape[3] >= 16, "ResNet: input must be at least 16×16")
        var h = bn1.forward(after: conv1, x, training: training)
        for block in blocks { h = block.forward(h, training: training) }
        return pool.forward(h)
    }

    /// dFeature: [B, 8w]. Accumulates every parameter gradient (no input gradient).
    public func backward(_ dFeature: Tensor<T>) {
        var g = pool.backward(dFeature)
        for block in blocks.reversed() { g = block.backward(g) }
        conv1.backward(bn1.backward(g))
    }

    /// Multiply–add FLOPs ×2 of the convolutions' forward pass for a batch.
    public func forwardFlops(batch: Int, h: Int, w: Int) -> Double {
        var total = conv1.flops(batch: batch, h: h, w: w)
        var (hh, ww) = (h, w)
        for block in blocks {
            total += block.conv1.flops(batch: batch, h: hh, w: ww)
            let (ho, wo) = block.conv1.outputSize(hh, ww)
            total += block.conv2.flops(batch: batch, h: ho, w: wo)
            if let d = block.downsampleConv { total += d.flops(batch: batch, h: hh, w: ww) }
            (hh, ww) = (ho, wo)
        }
        return total
    }

    /// FLOPs of backward (input and weight gradients; the stem has no input gradient).
    public func backwardFlops(batch: Int, h: Int, w: Int) -> Double {
        2 * forwardFlops(batch: batch, h: h, w: w) - conv1.flops(batch: batch, h: h, w: w)
    }
}
