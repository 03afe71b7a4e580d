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
        if ranks.lowerBound > 0 { nthElement(keys, 0, count, ranks.lowerBound) }
        if ranks.upperBound < count { nthElement(keys, ranks.lowerBound, count, ranks.upperBound) }
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

    /// Convenience for tests and analyses: the candidates of `ranks` among scores (excluding the given
    /// candidates), in ascending candidate order.
    public static func candidates(scores: [Float], ranks: Range<Int>, excluding: [Int] = []) -> [Int] {
        var keys = [UInt64](repeating: 0, count: scores.count)
        let n = keys.withUnsafeMutableBufferPointer { k in
            scores.withUnsafeBufferPointer { s in
                fillKeys(k.baseAddress!, scores: s.baseAddress!, count: s.count,
                         excludeA: excluding.count > 0 ? excluding[0] : -1, excludeB: excluding.count > 1 ? excluding[1] : -1)
            }
        }
        let clipped = min(ranks.lowerBound, n)..<min(ranks.upperBound, n)
        keys.withUnsafeMutableBufferPointer { select($0.baseAddress!, count: n, ranks: clipped) }
        return keys[clipped].map(candidate).sorted()
    }
}
