import ArgumentParser
import Foundation
import NN
import StageKit

/// Seconds per full pretraining step (encoders forward/backward, loss with the sampler, SGD, state
/// updates) for each sampler, on synthetic views, through the same `Trainer` the stage uses. This is
/// the "step time" the samplers' overhead is judged against. Called by the `bench` executable.
public enum PretrainBenchmark {
    public struct Timing: Sendable {
        public var sampler: String            // the sampler's name
        public var secondsPerStep: Double
        public var imagesPerSecond: Double
    }

    public static func measure(objective: ObjectiveKind = .moco, samplers: [String] = SamplerOptions.names,
                               width: Int = 16, side: Int = 28, channels: Int = 1, batch: Int = 256, queue: Int = 4096,
                               steps: Int = 3, threads: Int) -> [Timing] {
        let n = batch * (steps + 1)
        let views = syntheticViews(count: n, channels: channels, side: side)
        let rows = Array(0..<n)
        let stepsPerEpoch = n / batch
        let trainers: [(String, Trainer)] = samplers.compactMap { name in
            guard let o = try? PretrainOptions.parse([
                      "--views", "synthetic", "--out", "unused", "--epochs", "1", "--anneal-epochs", "1",
                      "--objective", objective.rawValue, "--sampler", name, "--width", "\(width)", "--batch", "\(batch)",
                      "--queue", "\(queue)", "--mochi-n", "\(min(1024, queue))", "--threads", "\(threads)",
                  ]), let sampler = try? o.negativeSampler(stepsPerEpoch: stepsPerEpoch) else { return nil }
            let model = ContrastiveModel(options: o, views: views)
            let trainer = Trainer(options: o, model: model, sampler: sampler,
                                  stepsPerEpoch: stepsPerEpoch, threads: threads)
            // Warm-up step: allocates every workspace.
            _ = try? trainer.step(views: views, rows: rows[0..<batch], step: 0, percentiles: false)
            return (name, trainer)
        }
        // Round-robin over the samplers so that drifting machine load affects them alike; median per sampler.
        var seconds = [[Double]](repeating: [], count: trainers.count)
        for s in 1...steps {
            for (i, (_, trainer)) in trainers.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try? trainer.step(views: views, rows: rows[(s * batch)..<((s + 1) * batch)], step: s, percentiles: false)
                seconds[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
        }
        return trainers.enumerated().map { i, entry in
            let median = seconds[i].sorted()[seconds[i].count / 2]
            return Timing(sampler: entry.0, secondsPerStep: median, imagesPerSecond: Double(batch) / median)
        }
    }

    /// One training step of the pretrain stage (its `Trainer`, the uniform sampler, the default recipe's other
    /// settings: split batch norm, ShuffleBN, τ 0.2) on synthetic views, for `bench engine --objective`, which
    /// times it beside PyTorch's step of the same recipe. `batch` is the stage's --batch (SimCLR: pairs, both
    /// views in one forward of 2·batch images); the views cycle over four batches.
    public final class Step {
        public let batch: Int
        /// Multiply–adds ×2 of the step's encoder passes (direct-convolution count) and its loss products.
        public let flops: Double
        let trainer: Trainer, views: ViewsData
        let batches: Int                    // the views hold this many batches, run in turn
        var next = 0

        init(trainer: Trainer, views: ViewsData, batch: Int, flops: Double) {
            (self.trainer, self.views, self.batch, self.flops) = (trainer, views, batch, flops)
            batches = views.shape1[0] / batch
        }

        public func run() throws {
            let first = (next % batches) * batch
            _ = try trainer.step(views: views, rows: Array(first..<(first + batch))[...], step: next, percentiles: false)
            next += 1
        }
    }

    public static func step(objective: ObjectiveKind, width: Int, side: Int, channels: Int, batch: Int, threads: Int,
                            policy: ConvolutionPolicy = .fastest) throws -> Step {
        guard objective == .simclr || objective == .moco else {
            throw ValidationError("PretrainBenchmark.step: moco or simclr (got \(objective))")
        }
        let views = syntheticViews(count: 4 * batch, channels: channels, side: side)
        let o = try PretrainOptions.parse([
            "--views", "synthetic", "--out", "unused", "--epochs", "1", "--objective", objective.rawValue,
            "--sampler", UniformSampler.name, "--width", "\(width)", "--batch", "\(batch)", "--threads", "\(threads)",
        ])
        let model = ContrastiveModel(options: o, views: views)
        for role in model.roles { role.encoder.convolutionPolicy = policy }
        let trainer = Trainer(options: o, model: model, sampler: try o.negativeSampler(stepsPerEpoch: 4),
                              stepsPerEpoch: 4, threads: threads)
        let encoder = model.roles[0].encoder, dim = Double(ContrastiveModel.embeddingDimension)
        let flops: Double
        switch objective {
        case .simclr:   // both views forward and backward; the 2B×2B similarities and their two gradient products
            flops = encoder.forwardFlops(batch: 2 * batch, h: side, w: side) + encoder.backwardFlops(batch: 2 * batch, h: side, w: side)
                + 3 * 2 * Double(4 * batch * batch) * dim
        default:        // MoCo: queries forward and backward, keys forward; the queue's logits and their gradient products
            flops = 2 * encoder.forwardFlops(batch: batch, h: side, w: side) + encoder.backwardFlops(batch: batch, h: side, w: side)
                + 3 * 2 * Double(batch * o.queue) * dim
        }
        return Step(trainer: trainer, views: views, batch: batch, flops: flops)
    }

    /// `count` random pairs of views (labels cycling over 10 classes), the same for every call.
    static func syntheticViews(count n: Int, channels: Int, side: Int) -> ViewsData {
        var rng = RNG(seed: 11)
        let size = channels * side * side
        let view1 = (0..<(n * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let view2 = (0..<(n * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return ViewsData(path: "synthetic", view1: view1, view2: view2, shape1: [n, channels, side, side],
                         shape2: [n, channels, side, side], labels: (0..<n).map { Int64($0 % 10) },
                         index: (0..<n).map { Int64($0) }, epoch: nil)
    }

    /// Printable lines: each sampler's full step time and its ratio to uniform.
    public static func run(threads: Int, width: Int = 16, steps: Int = 3) -> [String] {
        let timings = measure(width: width, steps: steps, threads: threads)
        guard let uniform = timings.first(where: { $0.sampler == UniformSampler.name }) else { return [] }
        var lines = [String(format: "pretrain step (moco, width %d, 1×28×28, batch 256, K 4096, %d threads):", width, threads)]
        for t in timings {
            lines.append(String(format: "  %@ %7.3f s/step  %6.1f img/s  %5.2f× uniform", t.sampler.padding(toLength: 8, withPad: " ", startingAt: 0) as NSString,
                                t.secondsPerStep, t.imagesPerSecond, t.secondsPerStep / uniform.secondsPerStep))
        }
        return lines
    }
}
