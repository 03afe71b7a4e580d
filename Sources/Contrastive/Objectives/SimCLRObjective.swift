import NN
import StageKit

// SimCLR (NT-Xent, Chen 2020): the 2B views Z = [z1; z2] [2B,d]; view a's positive is its partner
// p = (a + B) mod 2B, its candidate negatives the other 2B−2 views (candidate index = row of Z, so
// ties break by that row). Loss = mean over the 2B anchors. Both z1 and z2 get gradients:
//   S = Z·Zᵀ [2B,2B] → choose (the sampler) → row loss → G = dS (÷τ ÷2B, the partner's column too)
//   dZ = (G + Gᵀ)·Z, since S_ab = z_a·z_b feeds both z_a and z_b.

public struct SimCLRResult: Sendable {
    public var loss: Double                 // mean over the 2B anchors
    public var gradZ1: [Float]              // [B, d]
    public var gradZ2: [Float]              // [B, d]
    public var stats: ContrastiveStats
    public var chosen: [[Int32]]?           // per anchor, the views a `.random` choice drew
}

public enum SimCLRObjective {
    /// `labels` [B] (optional, shared by both views) feeds the same-label statistic only.
    public static func lossAndGradient(z1: [Float], z2: [Float], dim d: Int, labels: [Int64]? = nil, tau: Float,
                                       sampler: any NegativeSampler, step: Int, seed: UInt64 = 0, threads: Int,
                                       percentiles: Bool = false) -> SimCLRResult {
        let B = z1.count / d, V = 2 * B
        precondition(z1.count == B * d && z2.count == B * d && B >= 2, "z1 and z2 must be [B, d] with B >= 2")
        let pool = V - 2
        let choice = sampler.choice(candidates: pool, step: step)
        let z = z1 + z2                                                     // [2B, d]
        func partner(_ a: Int) -> Int { (a + B) % V }

        // scores: S [2B, 2B] = Z·Zᵀ
        let scores = Tensor<Float>([V, V])
        gemm(transB: true, m: V, n: V, k: d, z, z, scores.data)
        let allScores = percentiles ? poolScores(scores, batch: B) : []

        // choose: each anchor's negatives among the other 2B − 2 views
        let viewLabels = labels.map { $0 + $0 } ?? [Int64](repeating: -1, count: V)        // [2B]
        let positives = (0..<V).map { scores[$0 * V + partner($0)] }                         // [2B]
        let source = LogitRows.ScoreRows(scores: scores, positives: positives, excluded: { ($0, partner($0)) },
                                         candidateLabels: viewLabels, queryLabels: viewLabels)
        let rows = LogitRows.choose(choice, from: source, tau: tau, masking: false,
                                    rng: { RowWork.subsetStream(seed: seed, objective: 1, step: step, row: $0) }, threads: threads)
        // row loss and d loss / d logits
        rows.evaluate(sampler.lossForm, tau: tau, threads: threads)

        // gradient: G = dS (÷τ ÷2B) on the chosen and partner columns, G ← G + Gᵀ, dZ = G·Z
        rows.scatter(into: scores.data, candidates: V, scale: 1 / (tau * Float(V)), positive: partner, threads: threads)
        symmetrise(scores)
        var gradZ = [Float](repeating: 0, count: V * d)                    // [2B, d]
        gemm(m: V, n: d, k: V, scores.data, z, &gradZ)

        var stats = rows.reduce(candidates: pool, choice: choice)
        stats.outer = sampler.logColumns(step: step)["ring_outer"] ?? 1
        if percentiles { stats.percentiles = Percentiles.of(allScores) }
        return SimCLRResult(loss: stats.loss, gradZ1: Array(gradZ[0..<(B * d)]), gradZ2: Array(gradZ[(B * d)...]), stats: stats,
                            chosen: choice.isRandom ? rows.chosenColumns : nil)
    }

    /// Every anchor's pool scores (all views but itself and its partner), for the percentiles.
    static func poolScores(_ s: Tensor<Float>, batch B: Int) -> [Float] {
        let V = 2 * B
        var out: [Float] = []
        out.reserveCapacity(V * (V - 2))
        for a in 0..<V { for b in 0..<V where b != a && b != (a + B) % V { out.append(s[a * V + b]) } }
        return out
    }

    /// G ← G + Gᵀ in place (upper triangle computed once and mirrored; the diagonal doubled).
    static func symmetrise(_ g: Tensor<Float>) {
        let V = g.shape[0], p = g.data
        for a in 0..<V {
            for b in (a + 1)..<max(a + 1, V) {
                let s = p[a * V + b] + p[b * V + a]
                p[a * V + b] = s; p[b * V + a] = s
            }
            p[a * V + a] *= 2
        }
    }
}
