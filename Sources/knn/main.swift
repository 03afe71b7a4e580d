import ArgumentParser
import Evaluation
import NN
import StageKit

extension FeatureKind: ExpressibleByArgument {}

/// `knn --train F --test F --out results.json`: weighted kNN (k, τ) on frozen features.
@main
struct KNNCommand: StageCommand {
    static let configuration = CommandConfiguration(commandName: "knn",
        abstract: "Weighted kNN classification (InstDisc/MoCo monitor) of test features against train features.",
        discussion: "Example: knn --train runs/x/features/train.safetensors.zst --test runs/x/features/test.safetensors.zst --feature backbone --k 200 --tau 0.1 --out runs/x/results/knn-backbone.json",
        version: BuildInfo.versionLine)

    @OptionGroup var common: CommonOptions
    @Option(help: "Train features file (embed output).") var train: String
    @Option(help: "Test features file (embed output).") var test: String
    @Option(help: "Results file (JSON).") var out: String
    @Option(help: "Neighbours per test item.") var k: Int = 200
    @Option(help: "Temperature of the vote weights exp(s/tau).") var tau: Double = 0.1
    @Option(help: "Feature tensor: projection (the MoCo demo / InstDisc monitor) or backbone.") var feature: FeatureKind = .projection
    @Option(help: "Test rows per similarity chunk (0 = about 8 M similarities per chunk).") var chunk: Int = 0

    func run() throws {
        let common = self.common
        var o = KNNStage.Options(trainPath: train, testPath: test, outPath: out)
        o.feature = feature
        o.parameters = KNNParameters(k: k, tau: tau, chunkRows: chunk)
        o.seed = common.seed
        o.threads = common.resolvedThreads
        Stage.run("knn") {
            try BLASRuntime.configure(core: common.blasCore, threads: common.resolvedThreads)
            print(try KNNStage.run(o))
        }
    }
}
