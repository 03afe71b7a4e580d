import Contrastive
import Foundation
import NN
import StageKit

/// A training step `bench engine` times: the MoCo step below or the pretrain stage's SimCLR step.
protocol TimedStep: AnyObject {
    func run() throws
    /// FLOPs of one step (convolutions counted directly, plus the loss products).
    var flops: Double { get }
    /// The timed steps' wall time (warm-up steps excluded).
    var timedSeconds: Double { get set }
}

/// The pretrain stage's SimCLR step (Contrastive.PretrainBenchmark.Step: its Trainer, the real objective) as a TimedStep.
final class SimCLRStep: TimedStep {
    let step: PretrainBenchmark.Step
    var timedSeconds = 0.0
    var flops: Double { step.flops }

    init(width: Int, channels: Int, size: Int, batch: Int, threads: Int, policy: ConvolutionPolicy) throws {
        step = try PretrainBenchmark.step(objective: .simclr, width: width, side: size, channels: channels, batch: batch,
                                          threads: threads, policy: policy)
    }

    func run() throws { try step.run() }
}

/// One MoCo v2 training step with preallocated state: two encoders, SGD, the key queue and the loss
/// buffers. The InfoNCE here is a minimal stand-in, the same computation as scripts/bench_torch.py's.
final class MoCoStep: TimedStep {
    let batch: Int, queueSize = 4096, dim = 128, temperature: Float = 0.2
    let query: Encoder<Float>, key: Encoder<Float>, optimiser: SGD<Float>
    let view1 = Tensor<Float>(), view2 = Tensor<Float>()   // [C, B, H, W] normalised inputs
    let pixels1: [UInt8], pixels2: [UInt8]                   // [B, C, H, W] u8 views
    let queue: Tensor<Float>                                 // [K, 128] keys, unit rows
    let negativeLogits: Tensor<Float>                        // [B, K]
    let queryGrad: Tensor<Float>                             // [B, 128]
    var queueHead = 0
    let channels: Int, size: Int
    let flops: Double

    init(width: Int, channels: Int, size: Int, batch: Int, policy: ConvolutionPolicy = .fastest) {
        self.batch = batch; self.channels = channels; self.size = size
        query = Encoder(inChannels: channels, width: width, prefix: "encoder_q.", seed: 1)
        key = Encoder(inChannels: channels, width: width, prefix: "encoder_k.", seed: 1)
        query.convolutionPolicy = policy; key.convolutionPolicy = policy
        key.copyWeights(from: query)
        optimiser = SGD(parameters: query.parameters, learningRate: 0.06, momentum: 0.9, weightDecay: 5e-4)
        var rng = RNG(seed: 7)
        let n = batch * channels * size * size
        pixels1 = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        pixels2 = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        queue = Tensor([queueSize, dim])
        for i in 0..<queueSize {
            var norm: Float = 0
            for j in 0..<dim { let v = Float(rng.normal()); queue[i * dim + j] = v; norm += v * v }
            for j in 0..<dim { queue[i * dim + j] /= norm.squareRoot() }
        }
        negativeLogits = Tensor([batch, queueSize])
        queryGrad = Tensor([batch, dim])
        let b = batch
        flops = 2 * query.forwardFlops(batch: b, h: size, w: size) + query.backwardFlops(batch: b, h: size, w: size)
            + 3 * 2 * Double(b * queueSize * dim)    // logits, and dq from the negatives (2 passes of the same size)
    }

    static let phaseNames = ["input", "query forward", "key forward", "loss", "query backward", "update"]
    var phaseSeconds: [String: Double] = [:]
    var timedSeconds = 0.0                                   // the timed steps' wall time (warm-up steps excluded)
    var phaseStart = 0.0
    @inline(__always) func lap(_ name: String) {
        let t = BenchSupport.now()
        phaseSeconds[name, default: 0] += t - phaseStart
        phaseStart = t
    }

    func run() {
        phaseStart = BenchSupport.now()
        let mean = [Double](repeating: 0.5, count: channels), std = [Double](repeating: 0.25, count: channels)
        pixels1.withUnsafeBufferPointer {
            InputBatch.normalise($0.baseAddress!, count: batch, channels: channels, height: size, width: size, mean: mean, std: std, into: view1)
        }
        pixels2.withUnsafeBufferPointer {
            InputBatch.normalise($0.baseAddress!, count: batch, channels: channels, height: size, width: size, mean: mean, std: std, into: view2)
        }
        query.zeroGrad()
        lap("input")
        let q = query.forward(view1, training: true).embedding      // [B, 128]
        lap("query forward")
        let k = key.forward(view2, training: true).embedding        // [B, 128], no gradient
        lap("key forward")
        infoNCE(q, k)
        lap("loss")
        query.backward(queryGrad)
        lap("query backward")
        optimiser.step()
        key.momentumUpdate(from: query, m: 0.99)
        enqueue(k)
        lap("update")
    }

    /// loss = mean_i CE([q_i·k_i, q_i·queue]/τ, target 0); writes dloss/dq into queryGrad; returns the loss.
    @discardableResult
    func infoNCE(_ q: Tensor<Float>, _ k: Tensor<Float>) -> Double {
        let (b, d, n, invT) = (batch, dim, queueSize, 1 / temperature)
        let neg = negativeLogits.data
        gemm(transB: true, m: b, n: n, k: d, alpha: invT, q.data, queue.data, neg)       // [B, K]
        let (qs, ks, dq) = (q.data, k.data, queryGrad.data)
        var total = 0.0
        let scale = 1 / Float(b)
        for i in 0..<b {
            var pos: Float = 0
            for j in 0..<d { pos += qs[i * d + j] * ks[i * d + j] }
            pos *= invT
            let row = neg + i * n
            var top = pos
            for j in 0..<n { top = max(top, row[j]) }
            var z = exp(pos - top)
            for j in 0..<n { let e = exp(row[j] - top); row[j] = e; z += e }
            total += Double(log(z) - (pos - top))
            let pPos = exp(pos - top) / z
            // d/dlogits = softmax − onehot(0), ×1/B; chain through /τ into dq.
            for j in 0..<n { row[j] *= scale * invT / z }
            let gPos = (pPos - 1) * scale * invT
            for j in 0..<d { dq[i * d + j] = gPos * ks[i * d + j] }
        }
        gemm(m: b, n: d, k: n, neg, queue.data, beta: 1, dq)                                 // dq += dNeg · queue
        return total / Double(b)
    }

    func enqueue(_ k: Tensor<Float>) {
        for i in 0..<batch {
            (queue.data + ((queueHead + i) % queueSize) * dim).update(from: k.data + i * dim, count: dim)
        }
        queueHead = (queueHead + batch) % queueSize
    }
}
