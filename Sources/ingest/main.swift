import ArgumentParser
import Foundation
import Images
import StageKit

extension ColorMode: ExpressibleByArgument {}
extension CIFARKind: ExpressibleByArgument {}
extension CIFARLabel: ExpressibleByArgument {}

/// Options shared by every source: where to write and which subset to keep.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output .safetensors.zst file.")
    var out: String

    @Option(help: "Keep at most N images (after --shard); 0 keeps all.")
    var limit: Int = 0

    @Option(help: "Keep source positions p with p % N == i (written i/N).")
    var shard: String = "0/1"

    func subset() throws -> Subset {
        guard limit >= 0 else { throw StageError.usage("--limit must be ≥ 0 (got \(limit))") }
        let (i, n) = try Subset.parseShard(shard)
        return Subset(limit: limit, shard: i, shards: n)
    }
}

/// `ingest idx|cifar|folder …`: one source → images u8 [N,C,H,W], labels i64 [N], index i64 [N].
@main
struct IngestCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Turn an image source into a dataset .safetensors.zst file.",
        discussion: "Example: ingest folder ~/photos/train --size 32 --color rgb --out data/photos/train.safetensors.zst",
        version: BuildInfo.versionLine,
        subcommands: [IDXCommand.self, CIFARCommand.self, FolderCommand.self, DatasetCommand.self])
}

struct IDXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "idx", abstract: "MNIST-style IDX files (raw or .gz).")
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "IDX image file [N, H, W].") var images: String
    @Option(help: "IDX label file [N].") var labels: String

    func run() throws {
        Stage.run("ingest") {
            print(try Ingest.run(.idx(images: images, labels: labels), subset: try output.subset(), out: output.out,
                                 seed: common.seed, threads: common.resolvedThreads))
        }
    }
}

struct CIFARCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cifar", abstract: "CIFAR-10/100 binary batches, concatenated in order.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "cifar10 (3073-byte records) or cifar100 (3074-byte records).") var kind: CIFARKind = .cifar10
    @Option(help: "CIFAR-100 label to keep: fine (default) or coarse.") var label: CIFARLabel?
    @Argument(help: "Batch files (.bin).") var batches: [String]

    func validate() throws {
        if label != nil && kind == .cifar10 { throw ValidationError("--label applies to --kind cifar100 only") }
    }

    func run() throws {
        Stage.run("ingest") {
            print(try Ingest.run(.cifar(batches: batches, kind: kind, label: label ?? .fine), subset: try output.subset(),
                                 out: output.out, seed: common.seed, threads: common.resolvedThreads))
        }
    }
}

struct FolderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folder",
        abstract: "JPEGs: an ImageFolder tree (sub-folder per class) or, with --unlabeled, a flat folder.",
        discussion: "Resize policy: with --size S, scale the shorter side to S (TurboJPEG DCT scaling by up to 1/8 while the shorter side stays ≥ S, then bilinear) and crop the centre S×S. Without --size no resampling happens and all images must share one size.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The folder.") var root: String
    @Flag(help: "A flat folder of JPEGs with no classes (labels −1).") var unlabeled = false
    @Option(help: "Shorter side to S, then centre crop S×S.") var size: Int?
    @Option(help: "gray or rgb.") var color: ColorMode = .rgb
    @Flag(help: "Skip corrupt or truncated JPEGs (listed on stderr and in the metadata) instead of failing.") var skipBad = false

    func validate() throws {
        if let size, size < 1 { throw ValidationError("--size must be at least 1 (got \(size))") }
    }

    func run() throws {
        let options = JPEGOptions(size: size, color: color, skipBad: skipBad, threads: common.resolvedThreads)
        Stage.run("ingest") {
            print(try Ingest.run(.folder(root: root, labeled: !unlabeled, options: options), subset: try output.subset(),
                                 out: output.out, seed: common.seed, threads: common.resolvedThreads))
        }
    }
}

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "An existing dataset .safetensors.zst: a --shard/--limit selection of its images.",
        discussion: "Rows keep their label and their index (the position in the original source). Example: ingest dataset data/cifar10/train.safetensors.zst --limit 5000 --out data/cifar10/train-first5000.safetensors.zst")
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The dataset file.") var path: String

    func run() throws {
        Stage.run("ingest") {
            print(try Ingest.run(.dataset(path: path), subset: try output.subset(), out: output.out,
                                 seed: common.seed, threads: common.resolvedThreads))
        }
    }
}
