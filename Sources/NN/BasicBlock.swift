import StageKit

/// ResNet's residual BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), where the
/// shortcut is the identity, or conv1×1(stride)+BN when the shape changes (torchvision's `downsample`).
public final class BasicBlock<T: GemmScalar> {
    public let conv1: Conv2d<T>, bn1: BatchNorm2d<T>   // bn1 carries the first ReLU
    public let conv2: Conv2d<T>, bn2: BatchNorm2d<T>
    public let downsampleConv: Conv2d<T>?, downsampleBN: BatchNorm2d<T>?
    public var output: Tensor<T> { bn2.output } // [O, B, Ho, Wo]: bn2 writes the block's output (add + ReLU fused)
    private let sumGrad = Tensor<T>()          // [O, B, Ho, Wo] gradient at the pre-ReLU sum
    private var input: Tensor<T>?              // [I, B, H, W]

    public init(name: String, inChannels: Int, outChannels: Int, stride: Int, bnSplits: Int = 1) {
        conv1 = Conv2d(name: qualified(name, "conv1"), inChannels: inChannels, outChannels: outChannels,
                       kernel: 3, stride: stride, padding: 1)
        bn1 = BatchNorm2d(name: qualified(name, "bn1"), channels: outChannels, splits: bnSplits, fusedReLU: true)
        conv2 = Conv2d(name: qualified(name, "conv2"), inChannels: outChannels, outChannels: outChannels,
                       kernel: 3, stride: 1, padding: 1)
        bn2 = BatchNorm2d(name: qualified(name, "bn2"), channels: outChannels, splits: bnSplits)
        if stride != 1 || inChannels != outChannels {
            downsampleConv = Conv2d(name: qualified(name, "downsample.0"), inChannels: inChannels,
                                    outChannels: outChannels, kernel: 1, stride: stride)
            downsampleBN = BatchNorm2d(name: qualified(name, "downsample.1"), channels: outChannels, splits: bnSplits)
        } else {
            downsampleConv = nil; downsampleBN = nil
        }
    }

    public var convs: [Conv2d<T>] { [conv1, conv2] + (downsampleConv.map { [$0] } ?? []) }
    public var norms: [BatchNorm2d<T>] { [bn1, bn2] + (downsampleBN.map { [$0] } ?? []) }
    public var parameters: [Parameter<T>] {
        conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters
            + (downsampleConv?.parameters ?? []) + (downsampleBN?.parameters ?? [])
    }
    public var buffers: [Buffer<T>] { bn1.buffers + bn2.buffers + (downsampleBN?.buffers ?? []) }

    @discardableResult
    public func forward(_ x: Tensor<T>, training: Bool) -> Tensor<T> {
        input = x
        let shortcut = downsampleConv.map { downsampleBN!.forward(after: $0, x, training: training) } ?? x
        // relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut): bn2's output pass adds the shortcut and applies the ReLU
        let h = bn1.forward(after: conv1, x, training: training)
        return bn2.forward(after: conv2, h, training: training, residual: shortcut)
    }

    /// This block's row label in PassTimes: "32 @14×14".
    private var passSize: String { "\(output.shape[0]) @\(output.shape[2])×\(output.shape[3])" }

    /// Accumulates every parameter gradient and returns dX.  dOut: [O, B, Ho, Wo].
    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        sumGrad.reshape(output.shape)
        let (y, dy, ds) = (output.data, dOut.data, sumGrad.data)
        PassTimes.measure("block \(passSize) backward ReLU mask") {
            parallelBlocks(output.count, threads: NNRuntime.threads) { r in
                VectorKernels.reluMask(dy, y, ds, r)
            }
        }
        let dx = conv1.backward(bn1.backward(conv2.backward(bn2.backward(sumGrad))))   // [I, B, H, W]
        let dShortcut = downsampleConv.map { $0.backward(downsampleBN!.backward(sumGrad)) } ?? sumGrad
        let (d, e) = (dx.data, dShortcut.data)
        PassTimes.measure("block \(passSize) backward shortcut add") {
            parallelBlocks(dx.count, threads: NNRuntime.threads) { r in
                VectorKernels.add(d, e, r)
            }
        }
        return dx
    }
}
