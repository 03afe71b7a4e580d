import ArgumentParser
import Evaluation
import NN
import StageKit

extension EncoderKind: ExpressibleByArgument {}

/// `embed --encoder raw --dataset data.safetensors.zst --out features.safetensors.zst`: frozen features;
/// `embed --part K/N …` one contiguous part of the rows, `embed merge PARTS… --out` the whole again.
@main
struct EmbedCommand: StageCommand {
    static let configuration = CommandConfiguration(commandName: "embed",
        abstract: "Encode a dataset file into a features file (backbone, projection, labels, index).",
        discussion: "Example: embed --encoder checkpoint --checkpoint runs/x/ckpt/epoch-010.safetensors.zst --dataset data/fashion-mnist/test.safetensors.zst --out runs/x/features/test.safetensors.zst",
        version: BuildInfo.versionLine,
        subcommands: [EncodeCommand.self, MergeCommand.self], defaultSubcommand: EncodeCommand.self)
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge",
        abstract: "Join the features files of embed --part 0/N … N−1/N into the one a whole embed writes.",
        discussion: "Example: embed merge runs/x/features/train.part-0-of-2.safetensors.zst runs/x/features/train.part-1-of-2.safetensors.zst --out runs/x/features/train.safetensors.zst")
    @Argument(help: "The part files, in any order.") var parts: [String] = []
    @Option(help: "Features file to write.") var out: String

    func run() throws {
        let (parts, out) = (self.parts, self.out)
        Stage.run("embed merge") { print(try FeatureParts.merge(parts: parts, out: out)) }
    }
}

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encode",
        abstract: "Encode a dataset file (the default subcommand: `embed --encoder …` is `embed encode --encoder …`).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Encoder: \(EncoderKind.allCases.map(\.rawValue).joined(separator: ", ")).") var encoder: EncoderKind = .raw
    @Option(help: "Dataset file (ingest output).") var dataset: String
    @Option(help: "Features file to write.") var out: String
    @Option(help: "Images per encoder call.") var batch: Int = 256
    @Option(help: "Checkpoint for --encoder checkpoint (a pretrain output).") var checkpoint: String?
    @Option(help: "ResNet base width for --encoder random.") var width: Int = 16
    @Option(help: "Embed only part K/N: the K-th of N contiguous runs of whole batches (join the parts with embed merge).") var part: String?

    func run() throws {
        let common = self.common
        var o = EmbedStage.Options(datasetPath: dataset, outPath: out)
        o.encoder = encoder
        o.batch = batch
        o.checkpointPath = checkpoint
        o.width = width
        o.seed = common.seed
        o.threads = common.resolvedThreads
        let part = self.part
        Stage.run("embed") {
            o.part = try part.map(FeatureParts.Part.init(parsing:))
            try BLASRuntime.configure(core: common.blasCore, threads: common.resolvedThreads)
            print(try EmbedStage.run(o))
        }
    }
}
