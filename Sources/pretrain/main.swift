import ArgumentParser
import Contrastive
import StageKit

/// `pretrain`: contrastive pretraining for one or more epochs from a checkpoint. See `pretrain --help`.
@main
struct Pretrain: StageCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an encoder contrastively (IR, CMC, MoCo v2, SimCLR) with a chosen negative sampler.")

    @OptionGroup var options: PretrainOptions

    func run() throws {
        let options = self.options
        Stage.run("pretrain") { try PretrainStage.run(options) }
    }
}
