import ArgumentParser
import Foundation
import StageKit

/// Benchmarks, one subcommand per area (`bench engine`, …). Each subcommand lives in its own file and
/// prints a table; speed is measured here, never asserted in tests. Adding a benchmark: a new
/// ParsableCommand file and its entry in `subcommands`.
@main
struct Bench: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Throughput benchmarks of the engine and pipeline stages.",
        discussion: "Example: bench engine --threads 2 (with torch importable, a PyTorch column appears beside ours)",
        version: BuildInfo.versionLine,
        subcommands: [EngineBench.self, AugmentBench.self, SamplersBench.self, EvaluationBench.self, MachineBench.self, WinogradBench.self],
        defaultSubcommand: EngineBench.self)

    /// Line-buffered output: a table's rows appear as they are measured, also into a file or a pipe.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        stageMain()
    }
}
