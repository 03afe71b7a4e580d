import ArgumentParser
import Augment
import StageKit

@main
struct AugmentCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "Make one epoch's two random views of every image of a dataset (see docs/augment.md).",
        discussion: "Example: augment --dataset data/fashion-mnist/train.safetensors.zst --epoch 1 --recipe mocov2 --seed 0 --out runs/x/views/epoch-001.safetensors.zst",
        version: BuildInfo.versionLine)

    @Option(help: "Dataset file written by ingest (.safetensors.zst).") var dataset: String
    @Option(help: "Output views file (.safetensors.zst).") var out: String
    @Option(help: "Recipe: \(Recipe.allCases.map(\.rawValue).joined(separator: ", ")).") var recipe: Recipe = .mocov2
    @Option(help: "Epoch number; each epoch gets fresh views.") var epoch: UInt64 = 0
    @Option(help: "Output side in pixels (default: the input's).") var size: Int?
    @OptionGroup var overrides: RecipeOverrides
    @OptionGroup var common: CommonOptions

    func run() throws {
        Stage.run("augment") {
            try AugmentStage.run(.init(dataset: dataset, out: out, recipe: recipe, epoch: epoch, seed: common.seed,
                                       size: size, threads: common.resolvedThreads, overrides: overrides))
        }
    }
}
