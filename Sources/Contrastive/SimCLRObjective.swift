import NN
import StageKit

// SimCLR (NT-Xent, Chen 2020): the 2B views Z = [z1; z2] [2B,d]; view a's positive is its partner
// p = (a + B) mod 2B, its candidate negatives the other 2B−2 views (candidate index = row of Z, so
// ties break by that row). Loss = mean over the 2B anchors. Both z1 and z2 get gradients:
//   S = Z·Zᵀ [2B,2B] (gemm) → per anchor: choose negatives, row loss, G row = dL/dS (÷τ ÷2B)
//   dZ = (G + Gᵀ)·Z (gemm), since S_ab = z_a·z_b feeds both z_a and z_b.

public struct SimCLRResult: Sendable {
    public var loss: Double                 // mean over the 2B anchors
    public var gradZ1: [Float]              // [B, d]
    public var gradZ2: [Float]              // [B, d]
    public var stats: ContrastiveStats
}

public enum SimCLRObjective {
    /// `labels` [B] (optional, shared by both views) feeds the same-label statistic only.
    public static func lossAndGradient(z1: [Float], z2: [Float], dim d: Int, labels: [Int64]? = nil, tau: Float,
                                       sampler: NegativeSampler, step: Int, threads: Int, percentiles: Bool = false) -> SimCLRResult {
        let B = z1.count / d, V = 2 * B
        precondition(z1.count == B * d && z2.count == B * d && B >= 2, "z1 and z2 must be [B, d] with B >= 2")
        let pool = V - 2
        let ranks = sampler.rankRange(candidates: pool, step: step)
        let form = sampler.lossForm
        let z = z1 + z2                                          // [2B, d]
        var scores = [Float](repeating: 0, count: V * V)         // [2B, 2B] S, then G
        var gradZ = [Float](repeating: 0, count: V * d)          // [2B, d]
        var rows = [RowStats](repeating: RowStats(), count: V)
        let viewLabels: [Int64] = labels.map { $0 + $0 } ?? [Int64](repeating: -1, count: V)   // [2B]
        var allScores = [Float]()                                // pool scores for the percentiles

        z.withUnsafeBufferPointer { zp in
        scores.withUnsafeMutableBufferPointer { sp in
        gradZ.withUnsafeMutableBufferPointer { gp in
        rows.withUnsafeMutableBufferPointer { rp in
        viewLabels.withUnsafeBufferPointer { lp in
            let zb = zp.baseAddress!, sb = sp.baseAddress!
            gemm(transB: true, m: V, n: V, k: d, zb, zb, sb)      // S [2B,2B] = Z·Zᵀ
            if percentiles {
                allScores.reserveCapacity(V * pool)
                for a in 0..<V { for b in 0..<V where b != a && b != (a + B) % V { allScores.append(sb[a * V + b]) } }
            }
            let scale = 1 / (tau * Float(V))
            parallelRanges(V, threads: threads) { range in
                let scratch = RowScratch(pool: V, maxNegatives: pool)
                for a in range {
                    let row = sb + a * V, partner = (a + B) % V
                    let m = RowWork.choose(scores: row, count: V, excludeA: a, excludeB: partner, ranks: ranks, scratch: scratch)
                    RowWork.gather(positive: row[partner], scores: row, m: m, tau: tau, scratch: scratch,
                                   queryLabel: lp[a], candidateLabels: lp.baseAddress, stats: &rp[a])
                    rp[a].loss = RowLoss.evaluate(form, logits: scratch.logits, count: m, tau: Double(tau), grad: scratch.grad)
                    for c in 0..<V { row[c] = 0 }
                    row[partner] = scratch.grad[0] * scale
                    for t in 0..<m { row[Int(scratch.columns[t])] += scratch.grad[1 + t] * scale }
                }
            }
            // G ← G + Gᵀ (upper triangle computed once, mirrored), then dZ = G·Z.
            for a in 0..<V {
                for b in (a + 1)..<max(a + 1, V) {
                    let s = sb[a * V + b] + sb[b * V + a]
                    sb[a * V + b] = s; sb[b * V + a] = s
                }
                sb[a * V + a] *= 2
            }
            gemm(m: V, n: d, k: V, sb, zb, gp.baseAddress!)
        }}}}}
        var stats = ContrastiveStats.reduce(rows)
        stats.candidates = pool
        stats.rankRange = ranks
        stats.outer = sampler.currentOuter(step: step)
        if percentiles { stats.percentiles = Percentiles.of(allScores) }
        return SimCLRResult(loss: stats.loss, gradZ1: Array(gradZ[0..<(B * d)]), gradZ2: Array(gradZ[(B * d)...]), stats: stats)
    }
}
