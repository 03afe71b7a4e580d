import NN
import StageKit

// Instance discrimination (Wu 2018) against a memory bank [N,d]: query f_i's positive is bank[i]
// (i = its dataset index), its negatives are bank entries other than bank[i] (the item itself is
// always excluded, so its own stale copy is never a negative):
//   uniform / hcl / dcl: k entries drawn uniformly with replacement;
//   ring / band: S = f·bankᵀ [B,N] (gemm), ranks over the N−1 candidates (ties by bank index),
//                then k−1 drawn uniformly with replacement from the kept ranks (IR-Ring, SPEC §2).
// Only f gets a gradient: df_i = (g⁺·bank[i] + Σ_t g_t·bank[draw_t]) / (τ·B).
// The draws come from RNG(seed, [IR, stream, step, i]) and are returned so a reference can replay them.

public struct IRResult: Sendable {
    public var loss: Double                 // mean over the batch
    public var gradFeatures: [Float]        // [B, d]
    public var stats: ContrastiveStats
    public var negatives: [Int32]           // [B, m] bank index of each drawn negative
    public var negativesPerQuery: Int       // m
}

public enum IRObjective {
    /// `indices` [B] are the items' rows in the bank; `queryLabels` [B] feeds the same-label statistic only.
    public static func lossAndGradient(features f: [Float], indices: [Int], bank: MemoryBank, queryLabels: [Int64]? = nil,
                                       negatives k: Int, tau: Float, sampler: NegativeSampler, step: Int, seed: UInt64,
                                       stream: UInt64 = 0, threads: Int, percentiles: Bool = false) -> IRResult {
        let d = bank.dim, N = bank.count, B = indices.count
        precondition(f.count == B * d && k >= 1, "features must be [B, d] and k >= 1")
        let pool = N - 1
        let ranks = sampler.rankRange(candidates: pool, step: step)
        let m = ranks == nil ? k : max(1, k - 1)
        let form = sampler.lossForm
        var scores = [Float](repeating: 0, count: ranks == nil ? 0 : B * N)   // [B, N] for ring/band
        var drawn = [Int32](repeating: 0, count: B * m)                        // [B, m]
        var grad = [Float](repeating: 0, count: B * d)                         // [B, d]
        var rows = [RowStats](repeating: RowStats(), count: B)
        var pooled = [Float](repeating: 0, count: percentiles ? B * (ranks == nil ? m : pool) : 0)

        f.withUnsafeBufferPointer { fp in
        bank.features.withUnsafeBufferPointer { bp in
        bank.labels.withUnsafeBufferPointer { lp in
        scores.withUnsafeMutableBufferPointer { sp in
        drawn.withUnsafeMutableBufferPointer { dp in
        grad.withUnsafeMutableBufferPointer { gp in
        rows.withUnsafeMutableBufferPointer { rp in
        pooled.withUnsafeMutableBufferPointer { pp in
            let fb = fp.baseAddress!, bb = bp.baseAddress!
            if ranks != nil { gemm(transB: true, m: B, n: N, k: d, fb, bb, sp.baseAddress!) }   // S [B,N] = f·bankᵀ
            let scale = 1 / (tau * Float(B))
            parallelRanges(B, threads: threads) { range in
                let scratch = RowScratch(pool: N, maxNegatives: max(m, pool))
                let drawScores = UnsafeMutablePointer<Float>.allocate(capacity: m)     // [m]
                let drawLabels = UnsafeMutablePointer<Int64>.allocate(capacity: m)     // [m]
                defer { drawScores.deallocate(); drawLabels.deallocate() }
                for i in range {
                    let self_ = indices[i], fi = fb + i * d
                    precondition(self_ >= 0 && self_ < N, "index \(self_) outside the bank")
                    var rng = RNG(seed: seed, stream: [0x4952, stream, UInt64(step), UInt64(i)])
                    let row = dp.baseAddress! + i * m
                    if let ranks {
                        let srow = sp.baseAddress! + i * N
                        let kept = RowWork.choose(scores: srow, count: N, excludeA: self_, ranks: ranks, scratch: scratch)
                        precondition(kept > 0, "the sampler keeps no negatives")
                        for t in 0..<m { row[t] = scratch.columns[rng.below(kept)] }
                        if percentiles {
                            var o = i * pool
                            for j in 0..<N where j != self_ { pp[o] = srow[j]; o += 1 }
                        }
                    } else {
                        for t in 0..<m { row[t] = Int32(UniformSampler.draw(N, excluding: self_, rng: &rng)) }
                    }
                    for t in 0..<m {
                        let j = Int(row[t])
                        drawScores[t] = Embeddings.dot(fi, bb + j * d, d); drawLabels[t] = lp[j]
                        scratch.columns[t] = Int32(t)
                        if percentiles && ranks == nil { pp[i * m + t] = drawScores[t] }
                    }
                    let positive = Embeddings.dot(fi, bb + self_ * d, d)
                    RowWork.gather(positive: positive, scores: drawScores, m: m, tau: tau, scratch: scratch,
                                   queryLabel: queryLabels?[i] ?? -1, candidateLabels: drawLabels, stats: &rp[i])
                    rp[i].loss = RowLoss.evaluate(form, logits: scratch.logits, count: m, tau: Double(tau), grad: scratch.grad)
                    let gi = gp.baseAddress! + i * d
                    let g0 = scratch.grad[0] * scale
                    for c in 0..<d { gi[c] = g0 * bb[self_ * d + c] }
                    for t in 0..<m {
                        let g = scratch.grad[1 + t] * scale, nb = bb + Int(row[t]) * d
                        for c in 0..<d { gi[c] += g * nb[c] }
                    }
                }
            }
        }}}}}}}}
        var stats = ContrastiveStats.reduce(rows)
        stats.candidates = ranks == nil ? m : pool
        stats.rankRange = ranks
        stats.outer = sampler.currentOuter(step: step)
        if percentiles { stats.percentiles = Percentiles.of(pooled) }
        return IRResult(loss: stats.loss, gradFeatures: grad, stats: stats, negatives: drawn, negativesPerQuery: m)
    }
}
