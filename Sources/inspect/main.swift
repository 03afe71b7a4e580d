import ArgumentParser
import Foundation
import StageKit
import TensorFiles

/// `inspect FILE…`: lists a tensor file's tensors (dtype, shape, min/max/mean), metadata and checksum status.
@main
struct Inspect: StageCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors, metadata and checksum status of .safetensors.zst files.",
        discussion: "Example: inspect --no-stats runs/default/ckpt/epoch-003.safetensors.zst",
        version: BuildInfo.versionLine)

    @Argument(help: "Files to inspect.")
    var files: [String]

    @Flag(help: "Skip the per-tensor statistics (faster on large files).")
    var noStats = false

    mutating func run() throws {
        let noStats = self.noStats
        let files = self.files
        Stage.run("inspect") {
            for path in files { print(try TensorFileSummary.describe(path, statistics: !noStats)) }
        }
    }
}
