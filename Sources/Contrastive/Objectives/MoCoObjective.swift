import NN
import StageKit

// MoCo v2 (He 2019, Chen 2020): query q_i against its key k⁺_i (positive) and the queue's K keys.
// Keys and queue get no gradient; only q does:
//   S = q·queueᵀ [B,K] → choose (the sampler) → MoCHi's synthetic negatives → row loss → dS (÷τ ÷B)
//   dq = g⁺·k⁺ ÷τ ÷B + Σ g_h·h ÷τ ÷B (MoCHi) + dS·queue.

public struct MoCoResult: Sendable {
    public var loss: Double               // mean over the batch
    public var gradQueries: [Float]       // [B, d] dL/dq
    public var stats: ContrastiveStats
    public var mochi: MochiDraws?         // the draws, when MoCHi was active
    public var chosen: [[Int32]]?         // per query, the queue entries a `.random` choice drew
}

public enum MoCoObjective {
    /// Loss and gradient for queries q [B,d] with positive keys [B,d] against `queue`.
    /// `queryLabels` [B] (optional) feeds the same-label statistic only. `share`: these B rows' place in
    /// a data-parallel batch (nil: they are the whole batch).
    public static func lossAndGradient(queries q: [Float], positiveKeys kPos: [Float], queue: Queue, queryLabels: [Int64]? = nil,
                                       tau: Float, sampler: any NegativeSampler, step: Int, seed: UInt64, threads: Int,
                                       percentiles: Bool = false, share: BatchShare? = nil) -> MoCoResult {
        let d = queue.dim, K = queue.size, B = q.count / d
        precondition(q.count == B * d && kPos.count == B * d, "queries and keys must be [B, d]")
        let share = share ?? .whole(B)
        let choice = sampler.choice(candidates: K, step: step), form = sampler.lossForm
        let synthesis = sampler.synthesis(step: step)
        let invTau = 1 / tau, invB = 1 / Float(share.total)

        // scores: S [B, K] = q [B, d] · queueᵀ [d, K]
        let scores = Tensor<Float>([B, K])
        gemm(transB: true, m: B, n: K, k: d, q, queue.keys, scores.data)
        let allScores = percentiles ? scores.array : []

        // choose: each query's negatives as a logit row [q·k⁺, chosen q·queue_j] ÷ τ
        let positives = Embeddings.rowDots(q, kPos, rows: B, dim: d)                        // [B]
        let source = LogitRows.ScoreRows(scores: scores, positives: positives, candidateLabels: queue.labels, queryLabels: queryLabels)
        let rows = LogitRows.choose(choice, from: source, tau: tau, masking: form == .softmax && synthesis == nil,
                                    extra: synthesis?.count ?? 0,
                                    rng: { RowWork.subsetStream(seed: seed, objective: 0, step: step, row: share.offset + $0) }, threads: threads)
        // MoCHi: synthetic negatives after the real ones
        let mochi = synthesis.map {
            MochiSampler.synthesise($0, rows: rows, scores: scores, queries: q, queue: queue.keys, dim: d, tau: tau,
                                    seed: seed, step: step, firstRow: share.offset, threads: threads)
        }
        // row loss and d loss / d logits
        rows.evaluate(form, tau: tau, threads: threads)

        // gradient: dq = g⁺·k⁺ (+ MoCHi's terms) + dS·queue, everything ÷τ ÷B
        rows.scatter(into: scores.data, candidates: K, scale: invTau * invB, threads: threads)   // scores now hold dS
        var gradQ = rows.positiveGradient(kPos, dim: d) { $0 * invTau * invB }                    // [B, d]
        if let mochi { MochiSampler.addGradient(mochi, rows: rows, invTau: invTau, invB: invB, into: &gradQ, dim: d) }
        gemm(m: B, n: d, k: K, scores.data, queue.keys, beta: 1, &gradQ)                          // dq += dS [B,K] · queue [K,d]

        var stats = rows.reduce(candidates: K, choice: choice)
        stats.outer = sampler.logColumns(step: step)["ring_outer"] ?? 1
        if percentiles { stats.percentiles = Percentiles.of(share.gather(allScores)) }
        return MoCoResult(loss: stats.loss, gradQueries: gradQ, stats: stats, mochi: mochi?.draws,
                          chosen: choice.isRandom ? rows.chosenColumns : nil)
    }

}
