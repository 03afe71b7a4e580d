import TensorFiles

/// SGD with momentum and weight decay, PyTorch semantics (dampening 0, no Nesterov):
///   g ← grad + wd·θ;  buf ← μ·buf + g (buf = g on the first step);  θ ← θ − lr·buf.
/// Weight decay applies to every parameter (biases and BN γ/β included), as in MoCo.
public final class SGD<T: GemmScalar> {
    public let parameters: [Parameter<T>]
    public var learningRate: Double
    public let momentum: Double, weightDecay: Double
    public private(set) var momentumBuffers: [Tensor<T>]   // one per parameter, same shape
    public private(set) var steps: Int64 = 0

    public init(parameters: [Parameter<T>], learningRate: Double, momentum: Double = 0.9, weightDecay: Double = 0) {
        self.parameters = parameters
        self.learningRate = learningRate; self.momentum = momentum; self.weightDecay = weightDecay
        momentumBuffers = parameters.map { Tensor($0.value.shape) }
    }

    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func step() {
        let (lr, mu, wd, first) = (T(learningRate), T(momentum), T(weightDecay), steps == 0)
        for (p, buffer) in zip(parameters, momentumBuffers) {
            let (w, g, buf) = (p.value.data, p.grad.data, buffer.data)
            for i in 0..<p.value.count {
                let d = g[i] + wd * w[i]
                let b = first ? d : mu * buf[i] + d
                buf[i] = b
                w[i] -= lr * b
            }
        }
        steps += 1
    }
}

extension SGD where T: TensorElement {
    /// Writes `<prefix>optimizer.<parameter name>.momentum_buffer` for every parameter and
    /// `<prefix>optimizer.steps`.
    public func save(into writer: inout TensorFileWriter, prefix: String = "") {
        for (p, b) in zip(parameters, momentumBuffers) {
            writer.add(prefix + "optimizer." + p.name + ".momentum_buffer", b.array, shape: b.shape)
        }
        writer.add(prefix + "optimizer.steps", [steps], shape: [])
    }

    public func load(from file: TensorFile, prefix: String = "") throws {
        for (p, b) in zip(parameters, momentumBuffers) {
            b.set(try file.array(prefix + "optimizer." + p.name + ".momentum_buffer", as: T.self, shape: b.shape))
        }
        steps = try file.array(prefix + "optimizer.steps", as: Int64.self, shape: [])[0]
    }
}
