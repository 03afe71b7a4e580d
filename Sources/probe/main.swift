import ArgumentParser
import Evaluation
import NN
import StageKit

extension FeatureKind: ExpressibleByArgument {}
extension ProbeProtocol: ExpressibleByArgument {}
extension ProbeInit: ExpressibleByArgument {}

/// `probe --train F --test F --out results.json [--protocol tuned|moco|ring] [overrides]`: linear probe on frozen features.
@main
struct ProbeCommand: StageCommand {
    static let configuration = CommandConfiguration(commandName: "probe",
        abstract: "Multinomial logistic regression on frozen features; reports test top-1 / top-5.",
        discussion: "Example: probe --train runs/x/features/train.safetensors.zst --test runs/x/features/test.safetensors.zst --protocol tuned --out runs/x/results/probe.json",
        version: BuildInfo.versionLine)

    @OptionGroup var common: CommonOptions
    @Option(help: "Train features file (embed output).") var train: String
    @Option(help: "Test features file (embed output).") var test: String
    @Option(help: "Results file (JSON).") var out: String
    @Option(help: "Encoder checkpoint the features came from; its sha256 is recorded before and after.") var checkpoint: String?
    @Option(help: "Feature tensor: backbone (pooled, pre-head; the standard) or projection.") var feature: FeatureKind = .backbone
    @Option(name: .customLong("protocol"), help: "Protocol: tuned (standardised; L2 chosen on a 10 % hold-out from --l2-grid, refit on all; L-BFGS), moco (SGD lr 30, ×0.1 at 60/80 %) or ring (SGD lr 0.01, wd 1e-5).") var protocolName: ProbeProtocol = .tuned
    @Option(help: "tuned: the L2 penalties to choose from (comma-separated).") var l2Grid: String = TunedProbeSettings().grid.map { "\($0)" }.joined(separator: ",")
    @Option(help: "tuned: L-BFGS iteration limit per fit.") var maxIterations: Int = TunedProbeSettings().maxIterations
    @Option(help: "Override the protocol's learning rate.") var lr: Double?
    @Option(help: "Override the protocol's epoch count.") var epochs: Int?
    @Option(help: "Override the protocol's weight decay.") var wd: Double?
    @Option(help: "Override the protocol's batch size.") var batch: Int?
    @Option(help: "Override the protocol's momentum.") var momentum: Double?
    @Option(help: "Classifier initialisation: normal (N(0, 0.01²), torch lincls) or zeros.") var initialization: ProbeInit = .normal
    @Flag(help: "Standardise each feature with the train split's mean and std.") var standardize = false

    func run() throws {
        let common = self.common
        var o = ProbeStage.Options(trainPath: train, testPath: test, outPath: out)
        o.checkpointPath = checkpoint
        o.feature = feature
        o.protocolName = protocolName
        var h = protocolName.hyperparameters
        if let lr { h.lr = lr }
        if let epochs { h.epochs = epochs }
        if let wd { h.weightDecay = wd }
        if let batch { h.batch = batch }
        if let momentum { h.momentum = momentum }
        h.standardize = standardize
        h.initialization = initialization
        o.hyper = h
        let grid = l2Grid.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !grid.isEmpty, grid.allSatisfy({ $0 != nil && $0! > 0 && $0!.isFinite }) else {
            throw ValidationError("--l2-grid must list positive numbers, e.g. 1e-4,1e-3 (got '\(l2Grid)')")
        }
        guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be at least 1") }
        o.tuned.grid = grid.map { $0! }
        o.tuned.maxIterations = maxIterations
        o.seed = common.seed
        o.threads = common.resolvedThreads
        Stage.run("probe") {
            try BLASRuntime.configure(core: common.blasCore, threads: common.resolvedThreads)
            print(try ProbeStage.run(o))
        }
    }
}
