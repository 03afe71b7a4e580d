import NN
import StageKit

// MoCo v2 (He 2019, Chen 2020): query q_i against its key k⁺_i (positive) and the queue's K keys.
// Keys and queue get no gradient; only q does. Forward and backward in one pass:
//   S = q·queueᵀ [B,K] (gemm) → per query: choose negatives, logits ÷τ, row loss, dL/dS row
//   dq = g⁺·k⁺ + G·queue (gemm) + Σ g_h·h (MoCHi's synthetic negatives), all ÷τ and ÷B.

public struct MoCoResult: Sendable {
    public var loss: Double               // mean over the batch
    public var gradQueries: [Float]       // [B, d] dL/dq
    public var stats: ContrastiveStats
    public var mochi: MochiDraws?         // the draws, when MoCHi was active
}

public enum MoCoObjective {
    /// Loss and gradient for queries q [B,d] with positive keys [B,d] against `queue`.
    /// `queryLabels` [B] (optional) feeds the same-label statistic only.
    public static func lossAndGradient(queries q: [Float], positiveKeys: [Float], queue: Queue, queryLabels: [Int64]? = nil,
                                       tau: Float, sampler: NegativeSampler, step: Int, seed: UInt64, threads: Int,
                                       percentiles: Bool = false) -> MoCoResult {
        let d = queue.dim, K = queue.size, B = q.count / d
        precondition(q.count == B * d && positiveKeys.count == B * d, "queries and keys must be [B, d]")
        let ranks = sampler.rankRange(candidates: K, step: step)
        let form = sampler.lossForm
        let mochiOn = sampler.mochiActive(step: step)
        let ms = mochiOn ? sampler.config.mochiS : 0, msp = mochiOn ? sampler.config.mochiSPrime : 0
        let mn = min(sampler.config.mochiN, K)
        // Wide kept sets (over a quarter of the queue) use the dense masked row: no indirection.
        let masked = form == .softmax && !mochiOn && (ranks.map { $0.count * 4 > K } ?? false)
        // (at least one slot each so the buffers always have an address; trimmed below)
        var draws = MochiDraws(s: ms, sPrime: msp, pairs: [Int32](repeating: 0, count: max(1, B * ms * 2)),
                               alpha: [Float](repeating: 0, count: max(1, B * ms)),
                               queryMix: [Int32](repeating: 0, count: max(1, B * msp)), beta: [Float](repeating: 0, count: max(1, B * msp)))
        var scores = [Float](repeating: 0, count: B * K)        // [B, K] q·queueᵀ, then reused as G = dL/dS
        var gradQ = [Float](repeating: 0, count: B * d)         // [B, d]
        var rows = [RowStats](repeating: RowStats(), count: B)
        var allScores: [Float] = []                             // [B·K] copy for the percentiles

        q.withUnsafeBufferPointer { qp in
        queue.keys.withUnsafeBufferPointer { kp in
        positiveKeys.withUnsafeBufferPointer { pp in
        scores.withUnsafeMutableBufferPointer { sp in
        gradQ.withUnsafeMutableBufferPointer { gp in
        rows.withUnsafeMutableBufferPointer { rp in
        draws.pairs.withUnsafeMutableBufferPointer { pairsP in
        draws.alpha.withUnsafeMutableBufferPointer { alphaP in
        draws.queryMix.withUnsafeMutableBufferPointer { mixP in
        draws.beta.withUnsafeMutableBufferPointer { betaP in
            let drawPointers = MochiDrawPointers(pairs: pairsP.baseAddress!, alpha: alphaP.baseAddress!,
                                                 queryMix: mixP.baseAddress!, beta: betaP.baseAddress!)
            let qb = qp.baseAddress!, kb = kp.baseAddress!, pb = pp.baseAddress!, sb = sp.baseAddress!, gb = gp.baseAddress!
            gemm(transB: true, m: B, n: K, k: d, qb, kb, sb)    // S [B,K] = q [B,d] · queueᵀ [d,K]
            if percentiles { allScores = Array(sp) }
            let invB = 1 / Float(B), invTau = 1 / tau
            queue.labels.withUnsafeBufferPointer { labels in
            parallelRanges(B, threads: threads) { range in
                let scratch = RowScratch(pool: K, maxNegatives: K + ms + msp)
                let hardest = UnsafeMutablePointer<Int32>.allocate(capacity: mn)         // [N]
                let synth = UnsafeMutablePointer<Float>.allocate(capacity: max(1, (ms + msp) * d))  // [s+s′, d]
                defer { hardest.deallocate(); synth.deallocate() }
                for i in range {
                    let row = sb + i * K, qi = qb + i * d
                    let positive = Embeddings.dot(qi, pb + i * d, d)
                    let m: Int
                    if masked, let ranks {
                        _ = RowWork.gatherMasked(positive: positive, scores: row, count: K, ranks: ranks, tau: tau, scratch: scratch,
                                                 queryLabel: queryLabels?[i] ?? -1, candidateLabels: labels.baseAddress, stats: &rp[i])
                        m = K                                            // logits row is dense (masked entries −∞)
                    } else {
                        m = ranks == nil ? K : RowWork.choose(scores: row, count: K, ranks: ranks, scratch: scratch)  // identity: no columns
                        RowWork.gather(positive: positive, scores: row, m: m, identity: ranks == nil, tau: tau, scratch: scratch,
                                       queryLabel: queryLabels?[i] ?? -1, candidateLabels: labels.baseAddress, stats: &rp[i])
                    }
                    if mochiOn {
                        _ = RankSelection.selectRanks(scratch.keys, scores: row, count: K, ranks: 0..<mn)
                        for t in 0..<mn { hardest[t] = Int32(RankSelection.candidate(scratch.keys[t])) }
                        var rng = MochiSampler.rng(seed: seed, step: step, row: i)
                        MochiSampler.synthesise(query: qi, queue: kb, dim: d, hardest: hardest, n: mn, s: ms, sPrime: msp,
                                                rng: &rng, out: synth, row: i, draws: drawPointers)
                        for e in 0..<(ms + msp) { scratch.logits[1 + m + e] = Embeddings.dot(qi, synth + e * d, d) * invTau }
                        rp[i].negatives = m + ms + msp
                    }
                    let total = m + ms + msp
                    rp[i].loss = RowLoss.evaluate(form, logits: scratch.logits, count: total, tau: Double(tau), grad: scratch.grad)
                    // Backward: dS row (÷τ ÷B), sparse over the chosen columns; the positive and synthetic terms directly.
                    let gscale = invTau * invB
                    if ranks == nil || masked {
                        for c in 0..<K { row[c] = scratch.grad[1 + c] * gscale }
                    } else {
                        for c in 0..<K { row[c] = 0 }
                        for t in 0..<m { row[Int(scratch.columns[t])] += scratch.grad[1 + t] * gscale }
                    }
                    let gi = gb + i * d, g0 = scratch.grad[0] * invTau * invB
                    for c in 0..<d { gi[c] = g0 * pb[i * d + c] }
                    for e in 0..<(ms + msp) {
                        let ge = scratch.grad[1 + m + e] * invTau * invB, h = synth + e * d
                        for c in 0..<d { gi[c] += ge * h[c] }
                    }
                }
            }
            }
            gemm(m: B, n: d, k: K, sb, kb, beta: 1, gb)         // dq [B,d] += G [B,K] · queue [K,d]
        }}}}}}}}}}
        draws.pairs.removeLast(draws.pairs.count - B * ms * 2); draws.alpha.removeLast(draws.alpha.count - B * ms)
        draws.queryMix.removeLast(draws.queryMix.count - B * msp); draws.beta.removeLast(draws.beta.count - B * msp)
        var stats = ContrastiveStats.reduce(rows)
        stats.candidates = K
        stats.rankRange = ranks
        stats.outer = sampler.currentOuter(step: step)
        if percentiles { stats.percentiles = Percentiles.of(allScores) }
        return MoCoResult(loss: stats.loss, gradQueries: gradQ, stats: stats, mochi: mochiOn ? draws : nil)
    }
}

