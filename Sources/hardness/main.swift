import Analysis
import ArgumentParser
import NN
import StageKit

@main
struct HardnessCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "hardness",
        abstract: "Hardness analysis of negatives (Cai et al.) and the CNCE estimator study (Wu et al.).",
        discussion: "Example: hardness analyse --queries runs/x/features/test.safetensors.zst --candidates runs/x/ckpt/epoch-010.safetensors.zst --hierarchy resources/hierarchy/fashion-mnist.json --out runs/x/hardness/stats.safetensors.zst --summary runs/x/hardness/summary.json",
        version: BuildInfo.versionLine,
        subcommands: [Analyse.self, CNCEStudyCommand.self], defaultSubcommand: Analyse.self)
}

struct Analyse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyse",
        abstract: "Similarity distribution, same-class fraction and LCA depth per difficulty bucket, and consistency of candidates.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Queries: a features file (projection, labels, index).") var queries: String
    @Option(help: "Candidates: a features file, or a checkpoint with queue/queue_label/queue_index or bank/bank_label.") var candidates: String
    @Option(name: .customLong("query-tensor"), help: "Tensor holding the query embeddings (default: projection/queue/bank, first found).") var queryTensor: String?
    @Option(name: .customLong("candidate-tensor"), help: "Tensor holding the candidate embeddings (labels in NAME_label, indices in NAME_index).") var candidateTensor: String?
    @Option(help: "Class hierarchy JSON (see docs/analysis.md), e.g. resources/hierarchy/fashion-mnist.json.") var hierarchy: String?
    @Flag(name: .customLong("exclude-self"), help: "Drop candidates whose dataset index equals the query's (queries and candidates from the same set).") var excludeSelf = false
    @Option(name: .customLong("consistency-percent"), help: "x: count how often each candidate is in a query's hardest / easiest x %.") var consistencyPercent = 5.0
    @Option(name: .customLong("histogram-bins"), help: "Similarity histogram bins over [-1, 1].") var histogramBins = 200
    @Option(help: "Queries per matrix product (memory: chunk × candidates floats).") var chunk = 256
    @Option(help: "Output .safetensors.zst.") var out: String
    @Option(help: "JSON summary (default: the output path with .json).") var summary: String?

    func run() throws {
        Stage.run("hardness") {
            try BLASRuntime.configure(core: common.blasCore, threads: common.resolvedThreads)
            var o = HardnessOptions()
            o.excludeSelf = excludeSelf
            o.consistencyPercent = consistencyPercent
            o.histogramBins = histogramBins
            o.chunk = chunk
            o.threads = common.resolvedThreads
            o.seed = common.seed
            var a = HardnessStageArguments(queries: queries, candidates: candidates, out: out, options: o)
            a.queryTensor = queryTensor
            a.candidateTensor = candidateTensor
            a.hierarchy = hierarchy
            a.summary = summary
            print(HardnessStage.headline(try HardnessStage.run(a, seed: common.seed)))
        }
    }
}

struct CNCEStudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnce-study",
        abstract: "Bias and variance of NCE vs CNCE (ring) mutual-information estimates on correlated Gaussians with the optimal critic.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Output folder (cnce.json, cnce.md).") var out: String
    @Option(help: "Repetitions per estimator.") var repetitions = 200
    @Option(help: "Positive pairs per repetition.") var batch = 128
    @Option(help: "Negatives per positive.") var negatives = 32
    @Option(help: "Candidate pool per positive from which negatives are drawn (the 'queue').") var pool = 1024
    @Option(help: "Dimensions of the Gaussian pairs.") var dim = 4
    @Option(help: "Per-dimension correlations, comma-separated.") var rhos = "0.5,0.8,0.9"

    func run() throws {
        Stage.run("hardness") {
            var c = CNCEStudyConfig()
            c.repetitions = repetitions
            c.batch = batch
            c.negatives = negatives
            c.pool = pool
            c.dim = dim
            c.rhos = try rhos.split(separator: ",").map {
                guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v > -1, v < 1 else {
                    throw StageError.usage("--rhos: '\($0)' is not a correlation in (-1, 1)")
                }
                return v
            }
            c.seed = common.seed
            c.threads = common.resolvedThreads
            try CNCEStudy.run(c, outDir: out)
        }
    }
}
