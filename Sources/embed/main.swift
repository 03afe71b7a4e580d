import ArgumentParser
import Evaluation
import NN
import StageKit

extension EncoderKind: ExpressibleByArgument {}

/// `embed --encoder raw --dataset data.safetensors.zst --out features.safetensors.zst`: frozen features.
@main
struct EmbedCommand: StageCommand {
    static let configuration = CommandConfiguration(commandName: "embed",
        abstract: "Encode a dataset file into a features file (backbone, projection, labels, index).",
        discussion: "Example: embed --encoder checkpoint --checkpoint runs/x/ckpt/epoch-010.safetensors.zst --dataset data/fashion-mnist/test.safetensors.zst --out runs/x/features/test.safetensors.zst",
        version: BuildInfo.versionLine)

    @OptionGroup var common: CommonOptions
    @Option(help: "Encoder: \(EncoderKind.allCases.map(\.rawValue).joined(separator: ", ")).") var encoder: EncoderKind = .raw
    @Option(help: "Dataset file (ingest output).") var dataset: String
    @Option(help: "Features file to write.") var out: String
    @Option(help: "Images per encoder call.") var batch: Int = 256
    @Option(help: "Checkpoint for --encoder checkpoint (a pretrain output).") var checkpoint: String?
    @Option(help: "ResNet base width for --encoder random.") var width: Int = 16

    func run() throws {
        let common = self.common
        var o = EmbedStage.Options(datasetPath: dataset, outPath: out)
        o.encoder = encoder
        o.batch = batch
        o.checkpointPath = checkpoint
        o.width = width
        o.seed = common.seed
        o.threads = common.resolvedThreads
        Stage.run("embed") {
            try BLASRuntime.configure(core: common.blasCore, threads: common.resolvedThreads)
            print(try EmbedStage.run(o))
        }
    }
}
