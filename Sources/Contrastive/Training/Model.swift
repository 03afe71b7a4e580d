import Foundation
import NN
import StageKit
import TensorFiles

/// The networks and memory of one pretraining run, by objective:
///   moco:   encoder_q (trained), encoder_k (momentum copy), queue
///   ir:     encoder, bank
///   simclr: encoder
///   cmc:    encoder_l (L view), encoder_ab (ab view), l_bank, ab_bank
/// Each state change (momentum update, enqueue, bank write) is a named call in `Trainer.step`.
final class ContrastiveModel {
    struct Role {
        let name: String                 // checkpoint prefix without the dot, e.g. "encoder_q"
        let encoder: Encoder<Float>
        let view: Int                    // 1 or 2: which view's channels it reads
        let trained: Bool
        var mean: [Double]               // per input channel (pixel/255)
        var std: [Double]
        let input = Tensor<Float>()      // [C, B, H, W] scratch
        let gradient = Tensor<Float>()   // [B, 128] scratch
    }

    let objective: ObjectiveKind
    var roles: [Role] = []
    let optimizer: SGD<Float>
    var queue: Queue?
    var banks: [MemoryBank] = []         // ir: [bank]; cmc: [l_bank, ab_bank]

    static let embeddingDimension = 128

    /// `ranks`: data-parallel processes; each normalises its share's `bnSplits / ranks` BN groups.
    init(options o: PretrainOptions, views: ViewsData, ranks: Int = 1) {
        objective = o.objective
        let c1 = views.shape1[1], c2 = views.shape2[1], seed = o.common.seed
        let stats1 = ViewsData.channelStatistics(views.view1, shape: views.shape1)
        let stats2 = c2 == c1 ? stats1 : ViewsData.channelStatistics(views.view2, shape: views.shape2)
        func make(_ name: String, channels: Int, stream: UInt64) -> Encoder<Float> {
            var rng = RNG(seed: seed, stream: [0x454E_4344, stream])
            let encoder = Encoder<Float>(inChannels: channels, width: o.width, embeddingDimension: ContrastiveModel.embeddingDimension,
                                         bnSplits: o.bnSplits / ranks, prefix: name + ".", seed: rng.next())
            if o.referenceConvolutions { encoder.convolutionPolicy = .direct }
            return encoder
        }
        switch o.objective {
        case .moco:
            let q = make("encoder_q", channels: c1, stream: 0), k = make("encoder_k", channels: c1, stream: 1)
            k.copyWeights(from: q)
            roles = [Role(name: "encoder_q", encoder: q, view: 1, trained: true, mean: stats1.mean, std: stats1.std),
                     Role(name: "encoder_k", encoder: k, view: 2, trained: false, mean: stats1.mean, std: stats1.std)]
            queue = Queue(size: o.queue, dim: ContrastiveModel.embeddingDimension, seed: seed)
        case .ir:
            roles = [Role(name: "encoder", encoder: make("encoder", channels: c1, stream: 0), view: 1, trained: true, mean: stats1.mean, std: stats1.std)]
            banks = [MemoryBank(count: views.count, dim: ContrastiveModel.embeddingDimension, labels: views.labels, seed: seed, stream: 0)]
        case .simclr:
            roles = [Role(name: "encoder", encoder: make("encoder", channels: c1, stream: 0), view: 1, trained: true, mean: stats1.mean, std: stats1.std)]
        case .cmc:
            roles = [Role(name: "encoder_l", encoder: make("encoder_l", channels: c1, stream: 0), view: 1, trained: true, mean: stats1.mean, std: stats1.std),
                     Role(name: "encoder_ab", encoder: make("encoder_ab", channels: c2, stream: 1), view: 2, trained: true, mean: stats2.mean, std: stats2.std)]
            banks = [MemoryBank(count: views.count, dim: ContrastiveModel.embeddingDimension, labels: views.labels, seed: seed, stream: 0),
                     MemoryBank(count: views.count, dim: ContrastiveModel.embeddingDimension, labels: views.labels, seed: seed, stream: 1)]
        }
        optimizer = SGD(parameters: roles.filter(\.trained).flatMap(\.encoder.parameters), learningRate: o.lr,
                        momentum: o.momentum, weightDecay: o.wd)
    }

    static func bankPrefix(_ i: Int, objective: ObjectiveKind) -> String {
        objective == .cmc ? (i == 0 ? "l_" : "ab_") : ""
    }

    /// The encoder whose features `embed` uses (CMC: the L encoder; its ab twin is in the file too).
    var evaluationRole: Role { roles[0] }

    func save(into w: inout TensorFileWriter) {
        for r in roles { r.encoder.save(into: &w) }
        optimizer.save(into: &w)
        queue?.add(to: &w)
        for (i, b) in banks.enumerated() { b.add(to: &w, prefix: ContrastiveModel.bankPrefix(i, objective: objective)) }
    }

    /// Metadata that `embed` and a resumed run need to rebuild the encoders.
    func describe(into m: inout [String: String]) {
        m["encoders"] = roles.map(\.name).joined(separator: ",")
        m["embed_encoder"] = evaluationRole.name
        for r in roles {
            m["\(r.name).in_channels"] = "\(r.encoder.backbone.inChannels)"
            m["\(r.name).input_mean"] = r.mean.map { String($0) }.joined(separator: ",")
            m["\(r.name).input_std"] = r.std.map { String($0) }.joined(separator: ",")
        }
    }

    func load(from f: TensorFile) throws {
        for i in roles.indices {
            try roles[i].encoder.load(from: f)
            let meanKey = "\(roles[i].name).input_mean", stdKey = "\(roles[i].name).input_std"
            guard let m = f.metadata[meanKey].map(parseList), let s = f.metadata[stdKey].map(parseList),
                  m.count == roles[i].mean.count, s.count == roles[i].std.count else {
                throw StageError(f.path, "checkpoint lacks valid \(meanKey)/\(stdKey) metadata")
            }
            roles[i].mean = m
            roles[i].std = s
        }
        do {
            try optimizer.load(from: f)
            if queue != nil { queue = try Queue.read(from: f) }
            for i in banks.indices {
                let b = try MemoryBank.read(from: f, prefix: ContrastiveModel.bankPrefix(i, objective: objective))
                guard b.count == banks[i].count, b.dim == banks[i].dim else {
                    throw StageError(f.path, "memory bank holds \(b.count)×\(b.dim), the views need \(banks[i].count)×\(banks[i].dim)")
                }
                banks[i] = b
            }
        } catch let e as TensorFileError {
            throw StageError(e.path, e.message)
        }
    }
}

func parseList(_ s: String) -> [Double] { s.split(separator: ",").compactMap { Double($0) } }
