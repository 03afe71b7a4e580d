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

    func configure() throws {
        try BLASRuntime.configure(core: blasCore, threads: threads)
        NNRuntime.threads = threads
        print("(BLAS core \(BLASRuntime.coreName), \(threads) threads)")
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
    func run() throws {
        try options.configure()
        EvaluationBenchmark.run(threads: options.threads).forEach { print($0) }
    }
}
