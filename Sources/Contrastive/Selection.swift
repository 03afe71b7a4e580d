// Rank selection without sorting: each candidate becomes one UInt64 key whose ascending order is
// descending similarity, ties broken by ascending candidate index; quickselect (nth_element) then
// puts a rank range in place in O(K) expected time.

public enum RankSelection {
    /// The sortable key of (similarity, candidate): ascending key = descending similarity, then
    /// ascending candidate index. −0 is folded into +0 so equal values tie.
    @inline(__always)
    public static func key(_ similarity: Float, _ candidate: Int) -> UInt64 {
        let s: Float = similarity == 0 ? 0 : similarity
        let bits = s.bitPattern
        let ascending: UInt32 = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000
        return (UInt64(~ascending) << 32) | UInt64(UInt32(truncatingIfNeeded: candidate))
    }

    @inline(__always)
    public static func candidate(_ key: UInt64) -> Int { Int(UInt32(truncatingIfNeeded: key)) }

    /// nth_element on keys[lo..<hi]: afterwards keys[nth] holds the key of that rank within the whole
    /// range, every key before it is smaller and every key after it is larger (keys are distinct).
    public static func nthElement(_ keys: UnsafeMutablePointer<UInt64>, _ lo: Int, _ hi: Int, _ nth: Int) {
        var lo = lo, hi = hi - 1                       // inclusive bounds
        guard nth >= lo, nth <= hi else { return }
        while hi > lo {
            if hi - lo < 16 {                          // insertion sort finishes small ranges
                var i = lo + 1
                while i <= hi {
                    let v = keys[i]; var j = i - 1
                    while j >= lo && keys[j] > v { keys[j + 1] = keys[j]; j -= 1 }
                    keys[j + 1] = v; i += 1
                }
                return
            }
            // median of three as the pivot, deterministic
            let mid = lo + (hi - lo) / 2
            if keys[mid] < keys[lo] { swap(keys, mid, lo) }
            if keys[hi] < keys[lo] { swap(keys, hi, lo) }
            if keys[hi] < keys[mid] { swap(keys, hi, mid) }
            let pivot = keys[mid]
            var i = lo, j = hi
            while i <= j {                              // Hoare partition
                while keys[i] < pivot { i += 1 }
                while keys[j] > pivot { j -= 1 }
                if i <= j { swap(keys, i, j); i += 1; j -= 1 }
            }
            if nth <= j { hi = j } else if nth >= i { lo = i } else { return }
        }
    }

    @inline(__always) static func swap(_ p: UnsafeMutablePointer<UInt64>, _ a: Int, _ b: Int) {
        let t = p[a]; p[a] = p[b]; p[b] = t
    }

    /// Rearranges keys[0..<count] so that keys[ranks] hold exactly the keys of those ranks (as a set).
    public static func select(_ keys: UnsafeMutablePointer<UInt64>, count: Int, ranks: Range<Int>) {
        guard !ranks.isEmpty else { return }
        // Upper bound first over everything, then the lower bound only among the hi hardest (hi ≪ K for
        // ring and hard bands), so the second pass is cheap.
        if ranks.upperBound < count { nthElement(keys, 0, count, ranks.upperBound) }
        if ranks.lowerBound > 0 { nthElement(keys, 0, ranks.upperBound, ranks.lowerBound) }
    }

    /// Fills keys with the candidates 0..<count of `scores` except `excludeA` / `excludeB` (−1 = none);
    /// returns how many keys were written.
    @inline(__always)
    public static func fillKeys(_ keys: UnsafeMutablePointer<UInt64>, scores: UnsafePointer<Float>, count: Int,
                                excludeA: Int = -1, excludeB: Int = -1) -> Int {
        var n = 0
        for j in 0..<count where j != excludeA && j != excludeB {
            keys[n] = key(scores[j], j); n += 1
        }
        return n
    }

    /// Fills keys with the candidates 0..<count of `scores` except the excluded ones and rearranges them
    /// so that keys[ranks] hold exactly the keys of those ranks (as a set); returns the pool size.
    ///
    /// Fast path (Floyd–Rivest flavour): a fixed strided sample of the scores gives a threshold t that
    /// is very likely below the score of the deepest boundary rank; one pass puts scores ≥ t at the
    /// front and the rest at the back, so quickselect only runs on the small front part. The front is
    /// exactly the top of the key order, so ranks there are global ranks; if the sample guessed too
    /// high (front smaller than the rank needed), it falls back to quickselect over the whole pool.
    @inline(__always)
    public static func selectRanks(_ keys: UnsafeMutablePointer<UInt64>, scores: UnsafePointer<Float>, count: Int,
                                   excludeA: Int = -1, excludeB: Int = -1, ranks: Range<Int>) -> Int {
        let n = count - (excludeA >= 0 && excludeA < count ? 1 : 0) - (excludeB >= 0 && excludeB < count && excludeB != excludeA ? 1 : 0)
        let lo = min(ranks.lowerBound, n), hi = min(ranks.upperBound, n)
        let deepest = hi < n ? hi : lo               // the boundary that needs the most of the order
        guard lo < hi, deepest > 0, n >= 512 else {
            let m = fillKeys(keys, scores: scores, count: count, excludeA: excludeA, excludeB: excludeB)
            select(keys, count: m, ranks: lo..<hi)
            return m
        }
        let t = threshold(scores: scores, count: count, fraction: Double(deepest) / Double(n))
        var front = 0, back = n - 1
        for j in 0..<count where j != excludeA && j != excludeB {
            let v = scores[j]
            // Branch-free: write both ends, advance one (the other slot is overwritten later).
            let k = key(v, j), takeFront = v >= t ? 1 : 0
            keys[front] = k; keys[back] = k
            front += takeFront; back -= 1 - takeFront
        }
        guard front >= deepest else {
            select(keys, count: n, ranks: lo..<hi)
            return n
        }
        if hi < n {
            if hi < front { nthElement(keys, 0, front, hi) }
            if lo > 0 { nthElement(keys, 0, hi, lo) }
        } else if lo < front {
            nthElement(keys, 0, front, lo)
        }
        return n
    }

    /// A score that about `fraction` of the candidates reach, erring a few standard deviations low
    /// (128-point strided sample; the sample's descending order statistic past the expected rank).
    @inline(__always)
    static func threshold(scores: UnsafePointer<Float>, count: Int, fraction: Double) -> Float {
        let S = 128
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: S) { b -> Float in
            var buf = b
            for i in 0..<S { buf[i] = scores[(i * count) / S] }
            buf.sort(by: >)
            let expected = fraction * Double(S)
            let margin = 3 * (Double(S) * fraction * (1 - fraction)).squareRoot() + 2
            let index = Int((expected + margin).rounded(.up))
            return index >= S ? -Float.infinity : buf[index]
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
        return keys[clipped].map(candidate).sorted()
    }
}
