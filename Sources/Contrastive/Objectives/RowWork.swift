import Ranking
import StageKit

// One query's work in the "choose" phase (LogitRows.swift): pick its negatives among columns
// 0..<count (all, a rank range by selection, or a random subset), then fill its logit row and count
// its statistics. Objectives differ only in where scores come from and where gradients go.

enum RowWork {
    /// Writes the columns 0..<count except the excluded ones (−1 = none) into `columns`; returns how many.
    @inline(__always)
    static func chooseAll(count: Int, excludeA: Int = -1, excludeB: Int = -1, into columns: UnsafeMutablePointer<Int32>) -> Int {
        var m = 0
        for j in 0..<count where j != excludeA && j != excludeB { columns[m] = Int32(j); m += 1 }
        return m
    }

    /// Writes the columns whose rank (RankOrder: descending score, ties by column) is in `ranks`, in
    /// selection order, among columns 0..<count except the excluded ones; returns how many.
    /// `keys` [count] is the selection's scratch.
    @inline(__always)
    static func chooseRanks(scores: UnsafePointer<Float>, count: Int, excludeA: Int = -1, excludeB: Int = -1, ranks: Range<Int>,
                            keys: UnsafeMutablePointer<UInt64>, into columns: UnsafeMutablePointer<Int32>) -> Int {
        let n = RankSelection.selectRanks(keys, scores: scores, count: count, excludeA: excludeA, excludeB: excludeB, ranks: ranks)
        let r = min(ranks.lowerBound, n)..<min(ranks.upperBound, n)
        var m = 0
        for t in r { columns[m] = Int32(RankOrder.candidate(keys[t])); m += 1 }
        return m
    }

    /// The random stream of row `row`'s `.random` choice at `step` (`objective`: 0 MoCo, 1 SimCLR, so the
    /// two never share draws; IR draws from its own stream).
    static func subsetStream(seed: UInt64, objective: UInt64, step: Int, row: Int) -> RNG {
        RNG(seed: seed, stream: [0x5355_4253, objective, UInt64(step), UInt64(row)])
    }

    /// Writes `n` columns drawn uniformly without replacement from 0..<count except the excluded ones
    /// (a partial Fisher–Yates shuffle of the pool), in draw order; returns how many (≤ the pool).
    @inline(__always)
    static func chooseRandom(_ n: Int, count: Int, excludeA: Int = -1, excludeB: Int = -1, rng: inout RNG,
                             into columns: UnsafeMutablePointer<Int32>) -> Int {
        let pool = chooseAll(count: count, excludeA: excludeA, excludeB: excludeB, into: columns)
        let m = min(n, pool)
        for t in 0..<m {
            let j = t + rng.below(pool - t)
            let c = columns[t]; columns[t] = columns[j]; columns[j] = c
        }
        return m
    }

    /// Fills logits [1 + m] from the positive score and the chosen columns' scores (÷τ) and counts the
    /// row's statistics over those real negatives. `identity`: the columns are 0..<m in order (every
    /// candidate, none excluded), so the indirection is skipped.
    @inline(__always)
    static func gather(positive: Float, scores: UnsafePointer<Float>, m: Int, identity: Bool = false, tau: Float,
                       columns: UnsafePointer<Int32>, logits: UnsafeMutablePointer<Float>,
                       queryLabel: Int64, candidateLabels: [Int64]?, stats: inout RowStats) {
        let invTau = 1 / tau
        logits[0] = positive * invTau
        var hardest = -Float.infinity, sum = 0.0, same = 0, labeled = 0
        if identity {
            var partial: Float = 0                       // Float partial sums per block of 256, Double across
            for t in 0..<m {
                let v = scores[t]
                logits[1 + t] = v * invTau
                hardest = max(hardest, v); partial += v
                if t & 255 == 255 { sum += Double(partial); partial = 0 }
            }
            sum += Double(partial)
        } else {
            for t in 0..<m {
                let v = scores[Int(columns[t])]
                logits[1 + t] = v * invTau
                hardest = max(hardest, v); sum += Double(v)
            }
        }
        if let candidateLabels, queryLabel >= 0 {
            for t in 0..<m {
                let l = candidateLabels[identity ? t : Int(columns[t])]
                if l >= 0 { labeled += 1; if l == queryLabel { same += 1 } }
            }
        }
        stats.record(positive: positive, hardest: hardest, count: m, similaritySum: sum, labeled: labeled, sameLabel: same)
    }

    /// Dense variant for wide kept sets (ring early in its anneal, wide bands): after selection the kept
    /// set is a key interval (RankSelection.keptKeyInterval); logits [1 + count] are written in
    /// column order with −∞ for candidates outside it, so the row loss gives them zero weight and zero
    /// gradient and the backward pass needs no indirection. Only for the softmax form. Returns the
    /// number kept.
    static func gatherMasked(positive: Float, scores: UnsafePointer<Float>, count: Int, ranks: Range<Int>, tau: Float,
                             keys: UnsafeMutablePointer<UInt64>, logits: UnsafeMutablePointer<Float>, queryLabel: Int64,
                             candidateLabels: [Int64]?, stats: inout RowStats) -> Int {
        let (lowKey, highKey) = RankSelection.keptKeyInterval(keys, scores: scores, count: count, ranks: ranks)
        let invTau = 1 / tau
        logits[0] = positive * invTau
        var hardest = -Float.infinity, sum = 0.0, m = 0, same = 0, labeled = 0
        for block in stride(from: 0, to: count, by: 256) {          // Float partial sums per block, Double across
            var partial: Float = 0
            for c in block..<min(count, block + 256) {                 // branch-free: the kept test is unpredictable
                let v = scores[c], k = RankOrder.key(v, c)
                let kept = UInt32((k >= lowKey ? 1 : 0) & (k <= highKey ? 1 : 0))
                let mask = 0 &- kept                                   // all ones when kept
                let w = Float(bitPattern: (v.bitPattern & mask) | (Float.infinity.bitPattern | 0x8000_0000) & ~mask)
                logits[1 + c] = w * invTau
                hardest = max(hardest, w); partial += Float(bitPattern: v.bitPattern & mask); m &+= Int(kept)
            }
            sum += Double(partial)
        }
        if let candidateLabels, queryLabel >= 0 {
            for c in 0..<count {
                let k = RankOrder.key(scores[c], c)
                if k >= lowKey && k <= highKey {
                    let l = candidateLabels[c]
                    if l >= 0 { labeled += 1; if l == queryLabel { same += 1 } }
                }
            }
        }
        stats.record(positive: positive, hardest: hardest, count: m, similaritySum: sum, labeled: labeled, sameLabel: same)
        return m
    }
}
