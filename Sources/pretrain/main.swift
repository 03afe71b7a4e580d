import ArgumentParser
import Contrastive
import StageKit

/// `pretrain`: contrastive pretraining for one or more epochs from a checkpoint. See `pretrain --help`.
@main
struct Pretrain: StageCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an encoder contrastively (IR, CMC, MoCo v2, SimCLR) with a chosen negative sampler.",
        discussion: "Example (epoch 2 of 10, MoCo v2 + Ring): pretrain --views runs/x/views/epoch-002.safetensors.zst --resume runs/x/ckpt/epoch-001.safetensors.zst --objective moco --sampler ring --epochs 10 --log runs/x/log.csv --out runs/x/ckpt/epoch-002.safetensors.zst",
        version: BuildInfo.versionLine)

    @OptionGroup var options: PretrainOptions

    func run() throws {
        let options = self.options
        Stage.run("pretrain") { try PretrainStage.run(options) }
    }
}
