import Ranking

// Rank selection without sorting, for the samplers' rank ranges: each candidate becomes its RankOrder
// key (descending similarity, ties by candidate index); quickselect (RankOrder.nthElement) then puts a
// rank range in place in O(K) expected time, after a bucketing pass that usually confines it to a
// small part of the keys.

public enum RankSelection {
    /// Rearranges keys[0..<count] so that keys[ranks] hold exactly the keys of those ranks (as a set).
    public static func select(_ keys: UnsafeMutablePointer<UInt64>, count: Int, ranks: Range<Int>) {
        guard !ranks.isEmpty else { return }
        // Upper bound first over everything, then the lower bound only among the hi hardest (hi ≪ K for
        // ring and hard bands), so the second pass is cheap.
        if ranks.upperBound < count { RankOrder.nthElement(keys, 0, count, ranks.upperBound) }
        if ranks.lowerBound > 0 { RankOrder.nthElement(keys, 0, ranks.upperBound, ranks.lowerBound) }
    }

    /// Fills keys with the candidates 0..<count of `scores` except `excludeA` / `excludeB` (−1 = none);
    /// returns how many keys were written.
    @inline(__always)
    public static func fillKeys(_ keys: UnsafeMutablePointer<UInt64>, scores: UnsafePointer<Float>, count: Int,
                                excludeA: Int = -1, excludeB: Int = -1) -> Int {
        var n = 0
        for j in 0..<count where j != excludeA && j != excludeB {
            keys[n] = RankOrder.key(scores[j], j); n += 1
        }
        return n
    }

    /// Fills keys with the candidates 0..<count of `scores` except the excluded ones and rearranges them
    /// so that keys[ranks] hold exactly the keys of those ranks (as a set); returns the pool size.
    ///
    /// Fast path (Floyd–Rivest flavour): a fixed strided sample of the scores gives thresholds that very
    /// likely bracket the boundary ranks. A boundary in the upper half of the order is placed inside a
    /// small "top" bucket (scores ≥ t1, at the front), one in the lower half inside a small "bottom"
    /// bucket (scores < t2, at the back); the rest lies between. Buckets are contiguous in key order,
    /// so ranks inside them are global ranks and quickselect only runs on the small buckets. If the
    /// sample guessed wrong (a bucket too small), it falls back to quickselect over the whole pool.
    @inline(__always)
    public static func selectRanks(_ keys: UnsafeMutablePointer<UInt64>, scores: UnsafePointer<Float>, count: Int,
                                   excludeA: Int = -1, excludeB: Int = -1, ranks: Range<Int>) -> Int {
        let n = count - (excludeA >= 0 && excludeA < count ? 1 : 0) - (excludeB >= 0 && excludeB < count && excludeB != excludeA ? 1 : 0)
        let lo = min(ranks.lowerBound, n), hi = min(ranks.upperBound, n)
        // Boundaries that need placing: lo when > 0, hi when < n; each goes to the nearer end.
        let half = n / 2
        let loTop = lo > 0 && lo <= half, hiTop = hi < n && hi <= half
        let loBottom = lo > 0 && lo > half, hiBottom = hi < n && hi > half
        let topRank = hiTop ? hi : (loTop ? lo : 0)                 // the top bucket must hold this many
        let bottomRank = loBottom ? lo : (hiBottom ? hi : n)        // the bottom bucket must hold n − this
        guard lo < hi, topRank > 0 || bottomRank < n, n >= 512 else {
            let m = fillKeys(keys, scores: scores, count: count, excludeA: excludeA, excludeB: excludeB)
            select(keys, count: m, ranks: lo..<hi)
            return m
        }
        let (t1, t2) = thresholds(scores: scores, count: count, topFraction: Double(topRank) / Double(n),
                                  bottomFraction: Double(bottomRank) / Double(n))
        // Pass 1 (branch-free): scores ≥ t1 to the front, the rest to the back.
        var front = 0, back = n - 1
        for j in 0..<count where j != excludeA && j != excludeB {
            let v = scores[j]
            let k = RankOrder.key(v, j), takeFront = v >= t1 ? 1 : 0
            keys[front] = k; keys[back] = k                 // write both ends, advance one
            front += takeFront; back -= 1 - takeFront
        }
        // Pass 2 over the back part (branch-free Lomuto): scores ≥ t2 (middle) before scores < t2 (bottom).
        var mid = front
        if bottomRank < n {
            let limit = RankOrder.key(t2, Int(UInt32.max)) >> 32              // score ≥ t2 ⇔ key's high word ≤ limit
            for j in front..<n {
                let x = keys[j], isMiddle = (x >> 32) <= limit ? 1 : 0
                keys[j] = keys[mid]; keys[mid] = x
                mid += isMiddle
            }
        } else {
            mid = n
        }
        let bottomStart = mid                                        // bottom bucket = keys[bottomStart..<n]
        guard front >= topRank, n - bottomStart >= n - bottomRank else {
            select(keys, count: n, ranks: lo..<hi)
            return n
        }
        if hiTop { RankOrder.nthElement(keys, 0, front, hi); if lo > 0 { RankOrder.nthElement(keys, 0, hi, lo) } }
        else if loTop { RankOrder.nthElement(keys, 0, front, lo) }
        if loBottom { RankOrder.nthElement(keys, bottomStart, n, lo); if hi < n { RankOrder.nthElement(keys, lo, n, hi) } }
        else if hiBottom { RankOrder.nthElement(keys, bottomStart, n, hi) }
        return n
    }

    /// The smallest and largest key of the candidates ranked in `ranks` (a non-empty range within the
    /// pool), i.e. the kept set as a key interval, found with one bucketing pass (thresholds as in
    /// `selectRanks`) and quickselect inside the small buckets only; the middle of the order is
    /// counted, never stored. Falls back to `selectRanks` when the sampled thresholds miss.
    @inline(__always)
    public static func keptKeyInterval(_ keys: UnsafeMutablePointer<UInt64>, scores: UnsafePointer<Float>, count: Int,
                                       ranks: Range<Int>) -> (low: UInt64, high: UInt64) {
        let n = count, lo = ranks.lowerBound, last = ranks.upperBound - 1   // ranks whose keys bound the set
        precondition(lo <= last && last < n)
        let half = n / 2
        let needLo = lo > 0, needLast = last < n - 1
        var topRank = 0, bottomRank = n                                     // top must hold > topRank−1, bottom ≥ n−bottomRank
        for (need, r) in [(needLo, lo), (needLast, last)] where need {
            if r < half { topRank = max(topRank, r + 1) } else { bottomRank = min(bottomRank, r) }
        }
        if n >= 512 && (topRank > 0 || bottomRank < n) {
            let (t1, t2) = thresholds(scores: scores, count: count, topFraction: Double(topRank) / Double(n),
                                      bottomFraction: Double(bottomRank) / Double(n))
            var front = 0, back = n - 1
            // Compare in key space (integers, so the compiler emits no branches): score ≥ t ⇔ high word ≤ limit.
            let limit1 = Int(RankOrder.key(t1, Int(UInt32.max)) >> 32), limit2 = Int(RankOrder.key(t2, Int(UInt32.max)) >> 32)
            for j in 0..<count {
                let k = RankOrder.key(scores[j], j), high = Int(k >> 32)
                keys[front] = k; keys[back] = k                              // branch-free: advance front, back or neither
                let top = limit1 &- high >= 0 ? 1 : 0
                front &+= top
                back &-= (high &- limit2 > 0 ? 1 : 0) & (1 - top)
            }
            let bottomStart = back + 1
            if front >= topRank && bottomStart <= bottomRank {
                func rankKey(_ r: Int) -> UInt64 {
                    if r < front { RankOrder.nthElement(keys, 0, front, r) } else { RankOrder.nthElement(keys, bottomStart, n, r) }
                    return keys[r]
                }
                let low: UInt64 = needLo ? rankKey(lo) : 0
                let high: UInt64 = needLast ? rankKey(last) : UInt64.max
                return (low, high)
            }
        }
        _ = selectRanks(keys, scores: scores, count: count, ranks: ranks)
        var low = UInt64.max, high: UInt64 = 0
        for t in ranks { low = min(low, keys[t]); high = max(high, keys[t]) }
        return (low, high)
    }

    /// Scores t1 and t2 such that about `topFraction` of the candidates reach t1 (erring a few standard
    /// deviations low, so the top bucket is big enough) and about `bottomFraction` reach t2 (erring
    /// high, so the bottom bucket is big enough), from a 128-point strided sample.
    @inline(__always)
    static func thresholds(scores: UnsafePointer<Float>, count: Int, topFraction: Double, bottomFraction: Double) -> (Float, Float) {
        let S = 128
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: S) { b -> (Float, Float) in
            var buf = b
            for i in 0..<S { buf[i] = scores[(i * count) / S] }
            buf.sort(by: >)
            func margin(_ f: Double) -> Double { 3 * (Double(S) * f * (1 - f)).squareRoot() + 2 }
            var t1 = Float.infinity, t2 = -Float.infinity
            if topFraction > 0 {
                let i = Int((topFraction * Double(S) + margin(topFraction)).rounded(.up))
                t1 = i >= S ? -Float.infinity : buf[i]
            }
            if bottomFraction < 1 {
                let i = Int((bottomFraction * Double(S) - margin(bottomFraction)).rounded(.down)) - 1
                t2 = i < 0 ? Float.infinity : buf[i]
            }
            return (t1, t2)
        }
    }

    /// Convenience for tests and analyses: the candidates of `ranks` among scores (excluding the given
    /// candidates), in ascending candidate order.
    public static func candidates(scores: [Float], ranks: Range<Int>, excluding: [Int] = []) -> [Int] {
        var keys = [UInt64](repeating: 0, count: max(1, scores.count))
        let exA = excluding.count > 0 ? excluding[0] : -1, exB = excluding.count > 1 ? excluding[1] : -1
        let n = keys.withUnsafeMutableBufferPointer { k in
            scores.withUnsafeBufferPointer { s in
                selectRanks(k.baseAddress!, scores: s.baseAddress!, count: s.count, excludeA: exA, excludeB: exB, ranks: ranks)
            }
        }
        let clipped = min(ranks.lowerBound, n)..<min(ranks.upperBound, n)
        return keys[clipped].map(RankOrder.candidate).sorted()
    }
}
