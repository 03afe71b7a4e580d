import Foundation
import Cluster
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
    let comm: Communicator       // the data-parallel ranks (a world of one without mpirun)
    let totalSteps: Int
    let warmupSteps: Int

    // Batch scratch, reused every step.
    var batch1: [UInt8] = []     // [B, C1, H, W]
    var batch2: [UInt8] = []     // [B, C2, H, W]
    var flat: [Float] = []       // [parameters + BN buffers] the all-reduce's buffer

    init(options: PretrainOptions, model: ContrastiveModel, sampler: any NegativeSampler, stepsPerEpoch: Int, threads: Int,
         comm: Communicator = .single) {
        o = options
        self.comm = comm
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

    /// One optimisation step on the batch `all` (positions in the views file). Data-parallel: this rank
    /// trains on its consecutive share of the rows (whole BN groups), and what the maths needs from the
    /// whole batch — the keys of the queue, the bank writes, SimCLR's 2B views — is all-gathered, so
    /// every rank ends the step in the same state. One process is the share that is the whole batch.
    func step(views v: ViewsData, rows all: ArraySlice<Int>, step: Int, percentiles: Bool) throws -> ContrastiveStats {
        let B = all.count, b = B / comm.size, first = comm.rank * b
        let rows = all[(all.startIndex + first)..<(all.startIndex + first + b)]          // this rank's share
        let share = BatchShare(offset: first, total: B, gather: comm.allGather)
        let labels = rows.map { v.labels[$0] }, allLabels = all.map { v.labels[$0] }
        Trainer.gather(v.view1, shape: v.shape1, rows: rows, into: &batch1)
        for r in model.roles where r.trained { r.encoder.zeroGrad() }
        let tau = Float(o.tau), seed = o.common.seed
        let stats: ContrastiveStats

        switch o.objective {
        case .moco:
            let (qRole, kRole) = (model.roles[0], model.roles[1])
            let q = embed(qRole, batch1, count: b, shape: v.shape1)                       // [b, 128]
            kRole.encoder.momentumUpdate(from: qRole.encoder, m: o.keyMomentum)            // θk ← m θk + (1−m) θq
            let order = shuffleOrder(count: B, groups: o.bnSplits, step: step)             // ShuffleBN over the whole batch
            Trainer.gather(v.view2, shape: v.shape2, rows: permuted(all, order[first..<(first + b)]), into: &batch2)
            let keys = ShuffleBN.restore(comm.allGather(embed(kRole, batch2, count: b, shape: v.shape2)), order: order, dim: dim)  // [B, 128], no gradient
            let k = Array(keys[(first * dim)..<((first + b) * dim)])                       // [b, 128] this share's positives
            let r = MoCoObjective.lossAndGradient(queries: q, positiveKeys: k, queue: model.queue!, queryLabels: labels,
                                                  tau: tau, sampler: sampler, step: step, seed: seed, threads: threads,
                                                  percentiles: percentiles, share: share)
            let s = reduced(r.stats)
            try checkFinite(s.loss, step: step)
            backward(qRole, r.gradQueries, rows: b)
            synchronise()
            optimise(step: step)
            try model.queue!.enqueue(keys: keys, indices: all.map { v.index[$0] }, labels: allLabels)
            stats = monitored(s, anchors: percentiles ? comm.allGather(q) : q, positives: keys, on: percentiles)

        case .ir:
            let role = model.roles[0]
            let f = embed(role, batch1, count: b, shape: v.shape1)                        // [b, 128]
            let r = IRObjective.lossAndGradient(features: f, indices: Array(rows), bank: model.banks[0], queryLabels: labels,
                                                negatives: o.negatives, tau: tau, sampler: sampler, step: step, seed: seed,
                                                threads: threads, percentiles: percentiles, share: share)
            let s = reduced(r.stats)
            try checkFinite(s.loss, step: step)
            backward(role, r.gradFeatures, rows: b)
            synchronise()
            optimise(step: step)
            let positives = percentiles ? model.banks[0].rows(Array(all)) : []             // [B, 128] before the write, monitored steps only
            let features = comm.allGather(f)                                               // [B, 128]
            try model.banks[0].write(indices: Array(all), features: features, momentum: Float(o.bankMomentum))
            stats = monitored(s, anchors: features, positives: positives, on: percentiles)

        case .simclr:
            let role = model.roles[0]
            // ShuffleBN: view 2 fills the second half's BN groups so that none mirrors a first-half group.
            let order = o.bnSplits % 2 == 0 ? shuffleOrder(count: B, groups: o.bnSplits / 2, step: step) : Array(0..<B)
            Trainer.gather(v.view2, shape: v.shape2, rows: permuted(all, order[first..<(first + b)]), into: &batch2)
            let z = embed(role, batch1 + batch2, count: 2 * b, shape: v.shape1)           // [2b, 128]: view 1, view 2 in forward order
            let half = b * dim
            let z1 = comm.allGather(Array(z[..<half]))                                     // [B, 128]
            let z2 = ShuffleBN.restore(comm.allGather(Array(z[half...])), order: order, dim: dim)   // [B, 128]
            // the loss of the whole batch, the same on every rank; each backpropagates its own views
            let r = SimCLRObjective.lossAndGradient(z1: z1, z2: z2, dim: dim, labels: allLabels, tau: tau, sampler: sampler,
                                                    step: step, seed: seed, threads: threads, percentiles: percentiles)
            try checkFinite(r.loss, step: step)
            let mine = (first * dim)..<((first + b) * dim)
            backward(role, Array(r.gradZ1[mine]) + Array(ShuffleBN.apply(r.gradZ2, order: order, dim: dim)[mine]), rows: 2 * b)
            synchronise()
            optimise(step: step)
            stats = monitored(r.stats, anchors: z1, positives: z2, on: percentiles)

        case .cmc:
            let (lRole, abRole) = (model.roles[0], model.roles[1])
            Trainer.gather(v.view2, shape: v.shape2, rows: rows, into: &batch2)
            let fL = embed(lRole, batch1, count: b, shape: v.shape1)                      // [b, 128]
            let fAB = embed(abRole, batch2, count: b, shape: v.shape2)                    // [b, 128]
            let r = CMCObjective.lossAndGradient(featuresL: fL, featuresAB: fAB, indices: Array(rows), bankL: model.banks[0],
                                                 bankAB: model.banks[1], queryLabels: labels, negatives: o.negatives, tau: tau,
                                                 sampler: sampler, step: step, seed: seed, threads: threads, percentiles: percentiles,
                                                 share: share)
            var both = r.lToAB.stats
            both.loss = r.loss
            let s = reduced(both)
            try checkFinite(s.loss, step: step)
            backward(lRole, r.gradL, rows: b)
            backward(abRole, r.gradAB, rows: b)
            synchronise()
            optimise(step: step)
            let (allL, allAB) = (comm.allGather(fL), comm.allGather(fAB))                 // [B, 128] each
            try model.banks[0].write(indices: Array(all), features: allL, momentum: Float(o.bankMomentum))
            try model.banks[1].write(indices: Array(all), features: allAB, momentum: Float(o.bankMomentum))
            stats = monitored(s, anchors: allL, positives: allAB, on: percentiles)
        }
        return stats
    }

    /// Data-parallel: the ranks' gradients summed (each is already ÷ the global batch) and their BN
    /// running statistics averaged, in one flat all-reduce, so every rank takes the same SGD step.
    func synchronise() {
        guard comm.size > 1 else { return }
        let grads = model.roles.filter(\.trained).flatMap(\.encoder.parameters).map(\.grad)
        let buffers = model.roles.flatMap(\.encoder.buffers).map(\.value)
        let count = (grads + buffers).reduce(0) { $0 + $1.count }
        if flat.count != count { flat = [Float](repeating: 0, count: count) }   // [all gradients, all BN buffers]
        flat.withUnsafeMutableBufferPointer { f in
            var at = 0
            for t in grads + buffers { (f.baseAddress! + at).update(from: t.data, count: t.count); at += t.count }
            comm.allReduceSum(f.baseAddress!, count: count)
            at = 0
            for t in grads { t.data.update(from: f.baseAddress! + at, count: t.count); at += t.count }
            let inverse = 1 / Float(comm.size)
            for t in buffers {
                for i in 0..<t.count { t.data[i] = f[at + i] * inverse }
                at += t.count
            }
        }
    }

    /// The ranks' statistics of their shares as the batch's: loss, top-1 and negatives per query are
    /// means over queries (every share has B/N), the selected similarity and the same-class fraction means
    /// over negatives, so each rank's weighs by its negatives (ranks without labelled ones are left out).
    func reduced(_ s: ContrastiveStats) -> ContrastiveStats {
        guard comm.size > 1 else { return s }
        let n = s.negativesPerQuery, labelled = s.sameLabelFraction == nil ? 0 : n
        var v = [s.loss, s.top1, n, s.meanSelectedSimilarity * n, (s.sameLabelFraction ?? 0) * labelled, labelled]
        comm.allReduceSum(&v)
        let ranks = Double(comm.size)
        var out = s
        out.loss = v[0] / ranks; out.top1 = v[1] / ranks; out.negativesPerQuery = v[2] / ranks
        out.meanSelectedSimilarity = v[2] > 0 ? v[3] / v[2] : 0
        out.sameLabelFraction = v[5] > 0 ? v[4] / v[5] : nil
        return out
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

    /// The batch rows entering the given forward positions (`order`'s values index `rows`).
    func permuted(_ rows: ArraySlice<Int>, _ order: ArraySlice<Int>) -> ArraySlice<Int> {
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
