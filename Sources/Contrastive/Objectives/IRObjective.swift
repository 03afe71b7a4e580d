import NN
import StageKit

// Instance discrimination (Wu 2018) against a memory bank [N,d]: query f_i's positive is bank[i]
// (i = its dataset index), its negatives are bank entries other than bank[i] (the item itself is
// always excluded, so its own stale copy is never a negative):
//   `.all` samplers (uniform, hcl, dcl): k entries drawn uniformly with replacement;
//   ring / band / subset: S = f·bankᵀ [B,N], the sampler keeps part of the N−1 candidates (ranks:
//   ties by bank index), then k−1 are drawn uniformly with replacement from the kept ones (SPEC §2).
// Only f gets a gradient: df_i = (g⁺·bank[i] + Σ_t g_t·bank[draw_t]) / (τ·B), B the global batch.
// The draws come from RNG(seed, [IR, stream, step, i]) and are returned so a reference can replay them.

public struct IRResult: Sendable {
    public var loss: Double                 // mean over the batch
    public var gradFeatures: [Float]        // [B, d]
    public var stats: ContrastiveStats
    public var negatives: [Int32]           // [B, m] bank index of each drawn negative
    public var negativesPerQuery: Int       // m
    public var kept: [Int32]                // [B] candidates each query drew from (N − 1 for every candidate)
}

public enum IRObjective {
    /// `indices` [B] are the items' rows in the bank; `queryLabels` [B] feeds the same-label statistic only.
    public static func lossAndGradient(features f: [Float], indices: [Int], bank: MemoryBank, queryLabels: [Int64]? = nil,
                                       negatives k: Int, tau: Float, sampler: any NegativeSampler, step: Int, seed: UInt64,
                                       stream: UInt64 = 0, threads: Int, percentiles: Bool = false, share: BatchShare? = nil) -> IRResult {
        let d = bank.dim, N = bank.count, B = indices.count
        let share = share ?? .whole(B)
        precondition(f.count == B * d && k >= 1, "features must be [B, d] and k >= 1")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < N }, "an index lies outside the bank")
        let choice = sampler.choice(candidates: N - 1, step: step)
        let m = choice == .all ? k : max(1, k - 1)

        // scores: S [B, N] = f · bankᵀ, only when the sampler looks at them
        let scores = Tensor<Float>(choice == .all ? [0, N] : [B, N])
        if choice != .all { gemm(transB: true, m: B, n: N, k: d, f, bank.features, scores.data) }

        // choose: draw each query's m negatives, and build its logit row [f·bank[i], f·bank[draw_t]] ÷ τ
        let plan = Draws(choice: choice, indices: indices, bankSize: N, perQuery: m, seed: seed, stream: stream, step: step,
                         firstRow: share.offset)
        let (rows, drawn, similarities, kept) = plan.draw(features: f, bank: bank.features, bankLabels: bank.labels, dim: d, scores: scores,
                                                          queryLabels: queryLabels, tau: tau, threads: threads)
        // row loss and d loss / d logits
        rows.evaluate(sampler.lossForm, tau: tau, threads: threads)

        // gradient: df_i = (g⁺·bank[i] + Σ_t g_t·bank[draw_t]) / (τ·B)
        let scale = 1 / (tau * Float(share.total))
        var grad = rows.positiveGradient(bank.rows(indices), dim: d) { $0 * scale }           // [B, d]
        addNegativeGradient(rows, drawn: drawn, bank: bank.features, dim: d, scale: scale, into: &grad, threads: threads)

        var stats = rows.reduce(candidates: choice == .all ? m : N - 1, choice: choice)
        stats.outer = sampler.logColumns(step: step)["ring_outer"] ?? 1
        if percentiles { stats.percentiles = Percentiles.of(share.gather(plan.scored(scores: scores, drawnSimilarities: similarities))) }
        return IRResult(loss: stats.loss, gradFeatures: grad, stats: stats, negatives: drawn.array, negativesPerQuery: m, kept: kept.array)
    }

    /// df_i += Σ_t g_t · scale · bank[draw_t], row by row in draw order.
    static func addNegativeGradient(_ rows: LogitRows, drawn: Indices, bank: UnsafePointer<Float>, dim d: Int, scale: Float,
                                    into grad: UnsafeMutablePointer<Float>, threads: Int) {
        let m = rows.width - 1
        parallelRanges(rows.count, threads: threads) { range in
            for i in range {
                let gi = grad + i * d, g = rows.gradRow(i)
                for t in 0..<m {
                    let w = g[1 + t] * scale, nb = bank + Int(drawn.data[i * m + t]) * d
                    for c in 0..<d { gi[c] += w * nb[c] }
                }
            }
        }
    }

    /// How one step draws each query's negatives from the bank.
    struct Draws {
        let choice: NegativeChoice
        let indices: [Int]
        let bankSize: Int, perQuery: Int
        let seed: UInt64, stream: UInt64, step: Int
        let firstRow: Int                    // global row of query 0 (data-parallel share)

        func rng(_ i: Int) -> RNG { RNG(seed: seed, stream: [0x4952, stream, UInt64(step), UInt64(firstRow + i)]) }

        /// Phase "choose": the kept candidates (every one, or the sampler's part of S's row without the
        /// query's own entry), m draws with replacement from them, and the logit rows.
        /// Returns the rows, the drawn bank rows [B, m] and their similarities [B, m].
        func draw(features f: UnsafePointer<Float>, bank: UnsafePointer<Float>, bankLabels: [Int64], dim d: Int, scores: Tensor<Float>,
                  queryLabels: [Int64]?, tau: Float, threads: Int) -> (LogitRows, drawn: Indices, similarities: Tensor<Float>, kept: Indices) {
            let B = indices.count, N = bankSize, m = perQuery
            let rows = LogitRows(count: B, negatives: m, dense: false)
            let drawn = Indices(count: B * m)                                    // [B, m] bank rows
            let similarities = Tensor<Float>([B, m])                             // [B, m] f_i · bank[draw]
            let keptCounts = Indices(count: B)                                   // [B] how many each query drew from
            parallelRanges(B, threads: threads) { range in
                let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: N)   // [N] selection keys
                let kept = UnsafeMutablePointer<Int32>.allocate(capacity: N)    // [N − 1] kept bank rows
                defer { keys.deallocate(); kept.deallocate() }
                var labels = [Int64](repeating: -1, count: m)                    // [m] the draws' labels
                for i in range {
                    let own = indices[i]
                    var g = rng(i)
                    func take(_ n: Int) -> Int32 { precondition(n > 0, "the sampler keeps no negatives"); return kept[g.below(n)] }
                    let columns = rows.columnRow(i)                             // the draws' bank rows, then 0..<m
                    switch choice {
                    case .all:
                        keptCounts.data[i] = Int32(N - 1)
                        for t in 0..<m { columns[t] = Int32(UniformSampler.draw(N, excluding: own, rng: &g)) }
                    case .ranks(let ranks):
                        let n = RowWork.chooseRanks(scores: scores.data + i * N, count: N, excludeA: own, ranks: ranks, keys: keys, into: kept)
                        keptCounts.data[i] = Int32(n)
                        for t in 0..<m { columns[t] = take(n) }
                    case .random(let count):
                        let n = RowWork.chooseRandom(count, count: N, excludeA: own, rng: &g, into: kept)
                        keptCounts.data[i] = Int32(n)
                        for t in 0..<m { columns[t] = take(n) }
                    }
                    let fi = f + i * d, sims = similarities.data + i * m
                    for t in 0..<m {
                        let j = Int(columns[t])
                        drawn.data[i * m + t] = Int32(j)
                        sims[t] = Embeddings.dot(fi, bank + j * d, d)
                        labels[t] = bankLabels[j]
                        columns[t] = Int32(t)                                   // the logit row reads sims in draw order
                    }
                    rows.negatives[i] = m
                    RowWork.gather(positive: Embeddings.dot(fi, bank + own * d, d), scores: sims, m: m, tau: tau, columns: columns,
                                   logits: rows.logitRow(i), queryLabel: queryLabels?[i] ?? -1, candidateLabels: labels,
                                   stats: &rows.stats[i])
                }
            }
            return (rows, drawn, similarities, keptCounts)
        }

        /// The similarities the percentiles describe: every candidate's when the sampler scored the bank,
        /// else the drawn negatives'.
        func scored(scores: Tensor<Float>, drawnSimilarities: Tensor<Float>) -> [Float] {
            guard choice != .all else { return drawnSimilarities.array }
            let B = indices.count, N = bankSize
            var out: [Float] = []
            out.reserveCapacity(B * (N - 1))
            for i in 0..<B { for j in 0..<N where j != indices[i] { out.append(scores[i * N + j]) } }
            return out
        }
    }
}
