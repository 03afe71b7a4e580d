// What every objective does per query once its candidate scores exist: choose the negatives (all,
// or a rank range by quickselect), build the logit row, evaluate the loss form, and count the
// statistics. Objectives differ only in where scores come from and where gradients go.

/// Per-worker scratch, allocated once per worker per step (no allocation inside the query loop).
final class RowScratch {
    let keys: UnsafeMutablePointer<UInt64>     // [pool]
    let columns: UnsafeMutablePointer<Int32>   // [maxNegatives]
    let logits: UnsafeMutablePointer<Float>    // [1 + maxNegatives]
    let grad: UnsafeMutablePointer<Float>      // [1 + maxNegatives]

    init(pool: Int, maxNegatives: Int) {
        keys = .allocate(capacity: max(1, pool))
        columns = .allocate(capacity: max(1, maxNegatives))
        logits = .allocate(capacity: 1 + maxNegatives)
        grad = .allocate(capacity: 1 + maxNegatives)
    }
    deinit { keys.deallocate(); columns.deallocate(); logits.deallocate(); grad.deallocate() }
}

enum RowWork {
    /// Writes into `s.columns` the row's negatives among columns 0..<count except the excluded ones:
    /// all of them when `ranks` is nil, else those whose rank (descending score, ties by column) is
    /// in `ranks` (in selection order). Returns how many.
    @inline(__always)
    static func choose(scores: UnsafePointer<Float>, count: Int, excludeA: Int = -1, excludeB: Int = -1,
                       ranks: Range<Int>?, scratch s: RowScratch) -> Int {
        guard let ranks else {
            var m = 0
            for j in 0..<count where j != excludeA && j != excludeB { s.columns[m] = Int32(j); m += 1 }
            return m
        }
        let n = RankSelection.selectRanks(s.keys, scores: scores, count: count, excludeA: excludeA, excludeB: excludeB, ranks: ranks)
        let r = min(ranks.lowerBound, n)..<min(ranks.upperBound, n)
        var m = 0
        for t in r { s.columns[m] = Int32(RankSelection.candidate(s.keys[t])); m += 1 }
        return m
    }

    /// Fills logits [1 + m] from the positive score and the chosen columns' scores (÷τ) and counts
    /// the row's statistics over those real negatives.
    @inline(__always)
    /// `identity`: the columns are 0..<m in order (every candidate, none excluded), so skip the indirection.
    static func gather(positive: Float, scores: UnsafePointer<Float>, m: Int, identity: Bool = false, tau: Float, scratch s: RowScratch,
                       queryLabel: Int64, candidateLabels: UnsafePointer<Int64>?, stats: inout RowStats) {
        let invTau = 1 / tau
        s.logits[0] = positive * invTau
        var hardest = -Float.infinity, sum = 0.0, same = 0, labeled = 0
        if identity {
            var partial: Float = 0                       // Float partial sums per block of 256, Double across
            for t in 0..<m {
                let v = scores[t]
                s.logits[1 + t] = v * invTau
                hardest = max(hardest, v); partial += v
                if t & 255 == 255 { sum += Double(partial); partial = 0 }
            }
            sum += Double(partial)
        } else {
            for t in 0..<m {
                let v = scores[Int(s.columns[t])]
                s.logits[1 + t] = v * invTau
                hardest = max(hardest, v); sum += Double(v)
            }
        }
        if let candidateLabels, queryLabel >= 0 {
            for t in 0..<m {
                let l = candidateLabels[identity ? t : Int(s.columns[t])]
                if l >= 0 { labeled += 1; if l == queryLabel { same += 1 } }
            }
        }
        stats.top1 = positive > hardest
        stats.negatives = m
        stats.selectedCount = m
        stats.selectedSimilaritySum = sum
        stats.labeled = labeled
        stats.sameLabel = same
    }

    /// Dense variant for wide kept sets (ring early in its anneal, wide bands): after selection the kept
    /// set is a key interval (RankSelection.keptKeyInterval); logits [1 + count] are written in
    /// column order with −∞ for candidates outside it, so the row loss gives them zero weight and zero
    /// gradient and the backward pass needs no indirection. Only for the softmax form. Returns the
    /// number kept.
    static func gatherMasked(positive: Float, scores: UnsafePointer<Float>, count: Int, ranks: Range<Int>, tau: Float,
                             scratch s: RowScratch, queryLabel: Int64, candidateLabels: UnsafePointer<Int64>?,
                             stats: inout RowStats) -> Int {
        let (lowKey, highKey) = RankSelection.keptKeyInterval(s.keys, scores: scores, count: count, ranks: ranks)
        let invTau = 1 / tau
        s.logits[0] = positive * invTau
        var hardest = -Float.infinity, sum = 0.0, m = 0, same = 0, labeled = 0
        for block in stride(from: 0, to: count, by: 256) {          // Float partial sums per block, Double across
            var partial: Float = 0
            for c in block..<min(count, block + 256) {                 // branch-free: the kept test is unpredictable
                let v = scores[c], k = RankSelection.key(v, c)
                let kept = UInt32((k >= lowKey ? 1 : 0) & (k <= highKey ? 1 : 0))
                let mask = 0 &- kept                                   // all ones when kept
                let w = Float(bitPattern: (v.bitPattern & mask) | (Float.infinity.bitPattern | 0x8000_0000) & ~mask)
                s.logits[1 + c] = w * invTau
                hardest = max(hardest, w); partial += Float(bitPattern: v.bitPattern & mask); m &+= Int(kept)
            }
            sum += Double(partial)
        }
        if let candidateLabels, queryLabel >= 0 {
            for c in 0..<count {
                let k = RankSelection.key(scores[c], c)
                if k >= lowKey && k <= highKey {
                    let l = candidateLabels[c]
                    if l >= 0 { labeled += 1; if l == queryLabel { same += 1 } }
                }
            }
        }
        stats.top1 = positive > hardest
        stats.negatives = m
        stats.selectedCount = m
        stats.selectedSimilaritySum = sum
        stats.labeled = labeled
        stats.sameLabel = same
        return m
    }
}
