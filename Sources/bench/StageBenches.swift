import ArgumentParser
import Augment
import Contrastive
import Evaluation
import Foundation
import NN
import StageKit

/// Options shared by the stage benchmarks.
struct BenchThreads: ParsableArguments {
    @Option(help: "Threads.") var threads = 2
    @Option(help: "OpenBLAS kernel (auto or a name).") var blasCore: String?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func configure() throws {
        try BLASRuntime.configure(core: blasCore, threads: threads)
        NNRuntime.threads = threads
        print("(CPU \(Machine.summary); BLAS core \(BLASRuntime.coreName), \(threads) threads)")
    }
}

/// `bench augment`: views per second of the augmentation recipes.
struct AugmentBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "augment", abstract: "Views per second of the augment stage.")
    @OptionGroup var options: BenchThreads
    func run() throws {
        try options.configure()
        AugmentBenchmark.run(threads: options.threads).forEach { print($0) }
    }
}

/// `bench samplers`: the contrastive loss + gradient alone, per sampler, and the full training step
/// per sampler (the overhead that counts).
struct SamplersBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "samplers",
        abstract: "Loss-only and full-step time of every sampler (MoCo, B 256, K 4096).")
    @OptionGroup var options: BenchThreads
    @Option(help: "Timed full steps per sampler.") var steps = 3
    func validate() throws { guard steps >= 1 else { throw ValidationError("--steps must be at least 1 (got \(steps))") } }
    func run() throws {
        try options.configure()
        SamplerBenchmark.run(threads: options.threads).forEach { print($0) }
        PretrainBenchmark.run(threads: options.threads, steps: steps).forEach { print($0) }
    }
}

/// `bench evaluation`: kNN and linear-probe timings at Fashion-MNIST scale.
struct EvaluationBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluation", abstract: "kNN and probe timings.")
    @OptionGroup var options: BenchThreads
    @Flag(help: "Batch norms in a pass of their own instead of the Winograd output pass (A/B; same values).")
    var unfusedNorm = false
    func run() throws {
        try options.configure()
        EvaluationBenchmark.run(threads: options.threads).forEach { print($0) }
        // Evaluation-mode forward against the same model's training step (MoCo, uniform negatives), alternated
        // three times: on a shared machine the available CPU drifts by ±15 % between measurements, so the
        // ratio is taken within each round and the median round reported.
        var ratios: [Double] = []
        for round in 1...3 {
            let (line, evalRate) = embedTiming(threads: options.threads)
            guard let train = PretrainBenchmark.measure(samplers: [UniformSampler.name], steps: 5, threads: options.threads).first else { break }
            let ratio = evalRate / train.imagesPerSecond
            ratios.append(ratio)
            print(line + String(format: "; training step %.0f img/s: ×%.2f (round %d)", train.imagesPerSecond, ratio, round))
        }
        if !ratios.isEmpty {
            print(String(format: "eval-mode forward = %.1f× the training step's img/s (median of %d rounds; MoCo, width 16, batch 256)",
                         BenchSupport.median(ratios), ratios.count))
        }
    }

    /// Embedding 10 000 Fashion-MNIST-sized images with the default model (width 16), eval mode, batch 256.
    func embedTiming(threads: Int) -> (String, Double) {
        let n = 10_000, batch = 256, side = 28
        var rng = RNG(seed: 5)
        let images = (0..<(n * side * side)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var o = EmbedStage.Options(datasetPath: "synthetic", outPath: "unused")
        o.threads = threads
        let encoder = try! EncoderKind.random.make(imageShape: [1, side, side], options: o)
        if unfusedNorm, let network = encoder as? NetworkEncoder { network.encoder.convolutionPolicy.fusedEvaluationNorm = false }
        var backbone = [Float](repeating: 0, count: batch * encoder.backboneDim)
        var projection = [Float](repeating: 0, count: batch * encoder.projectionDim)
        let start = DispatchTime.now().uptimeNanoseconds
        images.withUnsafeBufferPointer { img in
            var first = 0
            while first < n {
                let rows = min(batch, n - first)
                encoder.encode(images: img.baseAddress! + first * side * side, count: rows, backbone: &backbone, projection: &projection)
                first += rows
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return (String(format: "embed 10000 × 1×28×28 with ResNet-18 width 16 (eval, batch 256): %.1f s (%.0f img/s)", seconds, Double(n) / seconds),
                Double(n) / seconds)
    }
}
