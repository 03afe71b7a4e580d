import Foundation
import NN
import StageKit

/// One pretraining step per batch, for every objective. The order inside a step follows the
/// reference implementations: forward the query side, update the key encoder (MoCo), forward the
/// key side, loss and gradient, backward, SGD step, then the named state changes (enqueue, bank write).
final class Trainer {
    let o: PretrainOptions
    let model: ContrastiveModel
    let sampler: any NegativeSampler
    let threads: Int
    let totalSteps: Int
    let warmupSteps: Int

    // Batch scratch, reused every step.
    var batch1: [UInt8] = []     // [B, C1, H, W]
    var batch2: [UInt8] = []     // [B, C2, H, W]

    init(options: PretrainOptions, model: ContrastiveModel, sampler: any NegativeSampler, stepsPerEpoch: Int, threads: Int) {
        o = options
        self.model = model
        self.sampler = sampler
        self.threads = threads
        totalSteps = stepsPerEpoch * options.epochs
        warmupSteps = Int((options.warmupEpochs * Double(stepsPerEpoch)).rounded())
    }

    func learningRate(step: Int) -> Double {
        o.lrSchedule.rate(base: o.lr, step: step, totalSteps: totalSteps, warmupSteps: warmupSteps)
    }

    /// Copies the images at `rows` of a view into a contiguous batch.
    static func gather(_ pixels: [UInt8], shape: [Int], rows: ArraySlice<Int>, into out: inout [UInt8]) {
        let size = shape[1] * shape[2] * shape[3]
        if out.count != rows.count * size { out = [UInt8](repeating: 0, count: rows.count * size) }
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (j, r) in rows.enumerated() {
                    (dst.baseAddress! + j * size).update(from: src.baseAddress! + r * size, count: size)
                }
            }
        }
    }

    func normalise(_ pixels: [UInt8], count: Int, shape: [Int], role: ContrastiveModel.Role) {
        pixels.withUnsafeBufferPointer { p in
            InputBatch.normalise(p.baseAddress!, first: 0, count: count, channels: shape[1], height: shape[2], width: shape[3],
                                 mean: role.mean, std: role.std, into: role.input)
        }
    }

    /// Forward (training mode) of one role on a gathered batch; returns the embedding [n, 128].
    func embed(_ role: ContrastiveModel.Role, _ pixels: [UInt8], count: Int, shape: [Int]) -> [Float] {
        normalise(pixels, count: count, shape: shape, role: role)
        return role.encoder.forward(role.input, training: true).embedding.array
    }

    func backward(_ role: ContrastiveModel.Role, _ grad: [Float], rows: Int) {
        role.gradient.reshape([rows, ContrastiveModel.embeddingDimension])
        role.gradient.set(grad)
        role.encoder.backward(role.gradient)
    }

    /// One optimisation step on the batch `rows` (positions in the views file).
    func step(views v: ViewsData, rows: ArraySlice<Int>, step: Int, percentiles: Bool) throws -> ContrastiveStats {
        let b = rows.count
        let labels = rows.map { v.labels[$0] }
        let indices = rows.map { v.index[$0] }
        Trainer.gather(v.view1, shape: v.shape1, rows: rows, into: &batch1)
        for r in model.roles where r.trained { r.encoder.zeroGrad() }
        let tau = Float(o.tau), seed = o.common.seed
        let stats: ContrastiveStats

        switch o.objective {
        case .moco:
            let (qRole, kRole) = (model.roles[0], model.roles[1])
            let q = embed(qRole, batch1, count: b, shape: v.shape1)                       // [B, 128]
            kRole.encoder.momentumUpdate(from: qRole.encoder, m: o.keyMomentum)            // θk ← m θk + (1−m) θq
            let order = shuffleOrder(count: b, groups: o.bnSplits, step: step)             // ShuffleBN (identity when off)
            Trainer.gather(v.view2, shape: v.shape2, rows: permuted(rows, order), into: &batch2)
            let k = ShuffleBN.restore(embed(kRole, batch2, count: b, shape: v.shape2), order: order, dim: dim)  // [B, 128], no gradient
            let r = MoCoObjective.lossAndGradient(queries: q, positiveKeys: k, queue: model.queue!, queryLabels: labels,
                                                  tau: tau, sampler: sampler, step: step, seed: seed, threads: threads,
                                                  percentiles: percentiles)
            try checkFinite(r.loss, step: step)
            backward(qRole, r.gradQueries, rows: b)
            optimise(step: step)
            try model.queue!.enqueue(keys: k, indices: indices, labels: labels)
            stats = monitored(r.stats, anchors: q, positives: k, on: percentiles)

        case .ir:
            let role = model.roles[0]
            let f = embed(role, batch1, count: b, shape: v.shape1)                        // [B, 128]
            let r = IRObjective.lossAndGradient(features: f, indices: Array(rows), bank: model.banks[0], queryLabels: labels,
                                                negatives: o.negatives, tau: tau, sampler: sampler, step: step, seed: seed,
                                                threads: threads, percentiles: percentiles)
            try checkFinite(r.loss, step: step)
            backward(role, r.gradFeatures, rows: b)
            optimise(step: step)
            let positives = percentiles ? model.banks[0].rows(Array(rows)) : []            // [B, 128] before the write, monitored steps only
            try model.banks[0].write(indices: Array(rows), features: f, momentum: Float(o.bankMomentum))
            stats = monitored(r.stats, anchors: f, positives: positives, on: percentiles)

        case .simclr:
            let role = model.roles[0]
            // ShuffleBN: view 2 fills the second half's BN groups so that none mirrors a first-half group.
            let order = o.bnSplits % 2 == 0 ? shuffleOrder(count: b, groups: o.bnSplits / 2, step: step) : Array(0..<b)
            Trainer.gather(v.view2, shape: v.shape2, rows: permuted(rows, order), into: &batch2)
            let both = batch1 + batch2                                                     // [2B, C, H, W]
            let z = embed(role, both, count: 2 * b, shape: v.shape1)                      // [2B, 128] in forward order
            let half = b * dim
            let z1 = Array(z[..<half]), z2 = ShuffleBN.restore(Array(z[half...]), order: order, dim: dim)   // [B, 128] each
            let r = SimCLRObjective.lossAndGradient(z1: z1, z2: z2, dim: dim, labels: labels, tau: tau, sampler: sampler,
                                                    step: step, seed: seed, threads: threads, percentiles: percentiles)
            try checkFinite(r.loss, step: step)
            backward(role, r.gradZ1 + ShuffleBN.apply(r.gradZ2, order: order, dim: dim), rows: 2 * b)
            optimise(step: step)
            stats = monitored(r.stats, anchors: z1, positives: z2, on: percentiles)

        case .cmc:
            let (lRole, abRole) = (model.roles[0], model.roles[1])
            Trainer.gather(v.view2, shape: v.shape2, rows: rows, into: &batch2)
            let fL = embed(lRole, batch1, count: b, shape: v.shape1)                      // [B, 128]
            let fAB = embed(abRole, batch2, count: b, shape: v.shape2)                    // [B, 128]
            let r = CMCObjective.lossAndGradient(featuresL: fL, featuresAB: fAB, indices: Array(rows), bankL: model.banks[0],
                                                 bankAB: model.banks[1], queryLabels: labels, negatives: o.negatives, tau: tau,
                                                 sampler: sampler, step: step, seed: seed, threads: threads, percentiles: percentiles)
            try checkFinite(r.loss, step: step)
            backward(lRole, r.gradL, rows: b)
            backward(abRole, r.gradAB, rows: b)
            optimise(step: step)
            try model.banks[0].write(indices: Array(rows), features: fL, momentum: Float(o.bankMomentum))
            try model.banks[1].write(indices: Array(rows), features: fAB, momentum: Float(o.bankMomentum))
            var s = r.lToAB.stats
            s.loss = r.loss
            stats = monitored(s, anchors: fL, positives: fAB, on: percentiles)
        }
        return stats
    }

    var dim: Int { ContrastiveModel.embeddingDimension }

    /// `--bank-init forward`: before the first step, every bank row becomes the initial encoder's
    /// embedding of that item (eval mode, so no BN statistics move), instead of a random unit vector;
    /// so IR / CMC positives mean something from step one. Bank b is filled by role b from its view.
    func fillBanks(views v: ViewsData, batch: Int) throws {
        for (b, role) in model.roles.enumerated() where b < model.banks.count {
            let (pixels, shape) = role.view == 1 ? (v.view1, v.shape1) : (v.view2, v.shape2)
            var scratch: [UInt8] = []
            for start in stride(from: 0, to: v.count, by: batch) {
                let rows = Array(start..<min(start + batch, v.count))
                Trainer.gather(pixels, shape: shape, rows: rows[...], into: &scratch)
                normalise(scratch, count: rows.count, shape: shape, role: role)
                let f = role.encoder.forward(role.input, training: false).embedding.array   // [n, 128]
                try model.banks[b].write(indices: rows, features: f, momentum: 0)
            }
        }
    }

    /// The forward order of a key batch (ShuffleBN), or the identity when it is off.
    func shuffleOrder(count: Int, groups: Int, step: Int) -> [Int] {
        o.shuffleBn ? ShuffleBN.order(count: count, groups: groups, seed: o.common.seed, step: step) : Array(0..<count)
    }

    func permuted(_ rows: ArraySlice<Int>, _ order: [Int]) -> ArraySlice<Int> {
        ArraySlice(order.map { rows[rows.startIndex + $0] })
    }

    /// Adds the collapse monitor's measures on the steps that log a row.
    func monitored(_ s: ContrastiveStats, anchors: [Float], positives: [Float], on: Bool) -> ContrastiveStats {
        guard on else { return s }
        var out = s
        out.health = EmbeddingHealth.measure(anchors: anchors, positives: positives, dim: dim)
        return out
    }

    func optimise(step: Int) {
        model.optimizer.learningRate = learningRate(step: step)
        model.optimizer.step()
    }

    func checkFinite(_ loss: Double, step: Int) throws {
        if !loss.isFinite {
            throw StageError("training diverged: loss is \(loss) at step \(step); no checkpoint written (the last good one is the --resume input). Try a lower --lr")
        }
    }
}
