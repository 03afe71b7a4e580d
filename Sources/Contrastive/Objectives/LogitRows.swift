import NN
import StageKit

// The phases of the objectives once the candidate scores exist, each a named step over the batch (IR
// and CMC draw their negatives in IRObjective's own choose step and add their gradient directly):
//   choose    — each query's negatives (the sampler's NegativeChoice) become a logit row
//               [positive, negatives…] ÷ τ, with each negative's candidate column and the row's statistics;
//   (MoCHi)   — synthetic negatives appended to the rows (MochiSampler.synthesise);
//   evaluate  — the row loss and d loss / d logits (RowLoss, the sampler's LossForm);
//   scatter   — the logit gradients back onto the score matrix (dS), ready for one gemm.
// Rows are independent, so each phase splits the batch over the workers; every row is computed the
// same way whatever the split, so results do not depend on the thread count.

/// Every query's logit row for one step.
final class LogitRows {
    let count: Int                              // B rows
    let width: Int                              // 1 + the most negatives a row can hold
    let logits: Tensor<Float>                   // [B, width]: positive at 0, then the negatives (÷τ)
    let grad: Tensor<Float>                     // [B, width]: d loss / d logits after `evaluate`
    let columns: Indices                        // [B, width − 1]: candidate of each chosen negative
    let negatives: UnsafeMutablePointer<Int>    // [B] real negatives in each row (the dense row: every column)
    var synthetic = 0                           // synthetic negatives after the real ones (MoCHi)
    /// Rows whose negatives are every candidate in column order (no indirection; masked rows hold −∞).
    let dense: Bool
    let stats: UnsafeMutablePointer<RowStats>   // [B]

    init(count: Int, negatives maxNegatives: Int, dense: Bool) {
        self.count = count
        width = 1 + maxNegatives
        logits = Tensor([count, width])
        grad = Tensor([count, width])
        columns = Indices(count: dense ? 1 : count * maxNegatives)     // dense rows are read in column order
        negatives = .allocate(capacity: max(1, count)); negatives.initialize(repeating: 0, count: max(1, count))
        self.dense = dense
        stats = .allocate(capacity: max(1, count)); stats.initialize(repeating: RowStats(), count: max(1, count))
    }
    deinit { negatives.deallocate(); stats.deallocate() }

    func logitRow(_ i: Int) -> UnsafeMutablePointer<Float> { logits.data + i * width }
    func gradRow(_ i: Int) -> UnsafeMutablePointer<Float> { grad.data + i * width }
    func columnRow(_ i: Int) -> UnsafeMutablePointer<Int32> { dense ? columns.data : columns.data + i * (width - 1) }

    /// Where each query's candidate scores are: row i of `scores` [rows, candidates], its positive's
    /// score, the columns it must skip (SimCLR: the anchor and its partner) and the labels for the
    /// same-class statistic.
    struct ScoreRows {
        let scores: Tensor<Float>               // [rows, candidates]
        let positives: [Float]                  // [rows]
        var excluded: ((Int) -> (Int, Int))? = nil
        var candidateLabels: [Int64]? = nil     // [candidates] (−1 = none)
        var queryLabels: [Int64]? = nil         // [rows]
        var candidates: Int { scores.shape[1] }
    }

    /// Phase "choose" for objectives whose candidates are the columns of a score matrix (MoCo, SimCLR).
    /// `masking`: softmax rows keeping over a quarter of the candidates use the dense masked row
    /// (no indirection in the loss or the scatter). `extra`: slots after the real negatives (MoCHi's).
    /// `rng(i)`: row i's random stream, for `.random` choices.
    static func choose(_ choice: NegativeChoice, from s: ScoreRows, tau: Float, masking: Bool, extra: Int = 0,
                       rng: (Int) -> RNG, threads: Int) -> LogitRows {
        let B = s.scores.shape[0], K = s.candidates
        let masked: Bool
        if masking, case .ranks(let r) = choice { masked = r.count * 4 > K } else { masked = false }
        let identity = choice == .all && s.excluded == nil
        let rows = LogitRows(count: B, negatives: K + extra, dense: identity || masked)
        parallelRanges(B, threads: threads) { range in
            let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, K))   // [K] selection keys
            defer { keys.deallocate() }
            for i in range {
                let row = s.scores.data + i * K, (exA, exB) = s.excluded?(i) ?? (-1, -1)
                let logits = rows.logitRow(i), columns = rows.columnRow(i), label = s.queryLabels?[i] ?? -1
                let m: Int
                switch choice {
                case .ranks(let ranks) where masked:
                    _ = RowWork.gatherMasked(positive: s.positives[i], scores: row, count: K, ranks: ranks, tau: tau, keys: keys,
                                             logits: logits, queryLabel: label, candidateLabels: s.candidateLabels, stats: &rows.stats[i])
                    rows.negatives[i] = K                       // the dense row: dropped candidates hold −∞
                    continue
                case .all where identity: m = K
                case .all: m = RowWork.chooseAll(count: K, excludeA: exA, excludeB: exB, into: columns)
                case .ranks(let ranks):
                    m = RowWork.chooseRanks(scores: row, count: K, excludeA: exA, excludeB: exB, ranks: ranks, keys: keys, into: columns)
                case .random(let n):
                    var g = rng(i)
                    m = RowWork.chooseRandom(n, count: K, excludeA: exA, excludeB: exB, rng: &g, into: columns)
                }
                rows.negatives[i] = m
                RowWork.gather(positive: s.positives[i], scores: row, m: m, identity: identity, tau: tau, columns: columns,
                               logits: logits, queryLabel: label, candidateLabels: s.candidateLabels, stats: &rows.stats[i])
            }
        }
        return rows
    }

    /// Phase "evaluate": each row's loss (into its statistics) and d loss / d logits.
    func evaluate(_ form: LossForm, tau: Float, threads: Int) {
        parallelRanges(count, threads: threads) { range in
            for i in range {
                let n = self.negatives[i] + self.synthetic
                self.stats[i].loss = RowLoss.evaluate(form, logits: self.logitRow(i), count: n, tau: Double(tau), grad: self.gradRow(i))
            }
        }
    }

    /// Phase "scatter": dS [B, K] = the real negatives' logit gradients × `scale` on their candidate
    /// columns (zero elsewhere); `positive(i)` names a column that receives the positive's gradient too
    /// (SimCLR's partner; nil for MoCo, whose positive is not a column).
    func scatter(into dS: UnsafeMutablePointer<Float>, candidates K: Int, scale: Float, positive: ((Int) -> Int)? = nil, threads: Int) {
        parallelRanges(count, threads: threads) { range in
            for i in range {
                let row = dS + i * K, g = self.gradRow(i), columns = self.columnRow(i)
                if self.dense {
                    for c in 0..<K { row[c] = g[1 + c] * scale }
                } else {
                    for c in 0..<K { row[c] = 0 }
                    if let positive { row[positive(i)] = g[0] * scale }
                    for t in 0..<self.negatives[i] { row[Int(columns[t])] += g[1 + t] * scale }
                }
            }
        }
    }

    /// d loss / d (each row's positive vector) [B, d]: the positive logit's gradient, `scaled`, times
    /// `positives` [B, d] (the vector each row's positive score was taken with).
    func positiveGradient(_ positives: UnsafePointer<Float>, dim d: Int, scaled: (Float) -> Float) -> [Float] {
        var out = [Float](repeating: 0, count: count * d)            // [B, d]
        for i in 0..<count {
            let g0 = scaled(gradRow(i)[0])
            for c in 0..<d { out[i * d + c] = g0 * positives[i * d + c] }
        }
        return out
    }

    /// Each row's chosen candidate columns (for a reference to replay a random choice).
    var chosenColumns: [[Int32]] {
        (0..<count).map { Array(UnsafeBufferPointer(start: columnRow($0), count: negatives[$0])) }
    }

    /// The batch's statistics, reduced in row order.
    func reduce(candidates: Int, choice: NegativeChoice) -> ContrastiveStats {
        var s = ContrastiveStats.reduce(Array(UnsafeBufferPointer(start: stats, count: count)))
        s.candidates = candidates
        s.rankRange = choice.rankRange
        return s
    }
}

/// A buffer of candidate indices the workers fill (each its own rows); `array` copies it out.
final class Indices {
    let count: Int
    let data: UnsafeMutablePointer<Int32>
    init(count: Int) {
        self.count = count
        data = .allocate(capacity: max(1, count)); data.initialize(repeating: 0, count: max(1, count))
    }
    deinit { data.deallocate() }
    var array: [Int32] { Array(UnsafeBufferPointer(start: data, count: count)) }
}
