// The one rank order of the project: candidates by descending similarity, ties broken by ascending
// candidate index. The samplers (Contrastive) choose ranks in it and the hardness analysis (Analysis)
// buckets by it, so a rank means the same in both. Each candidate becomes one UInt64 key whose
// ascending order is this order; selection then works on plain integers.

public enum RankOrder {
    /// The key of (similarity, candidate < 2³²): larger similarity → smaller key, then smaller index.
    /// −0 is folded into +0 so the two tie. NaN keeps its bits: +NaN ranks before (harder than) every
    /// number, −NaN after; the stages refuse non-finite embeddings, so neither reaches a sampler.
    @inlinable @inline(__always)
    public static func key(_ similarity: Float, _ candidate: Int) -> UInt64 {
        let s: Float = similarity == 0 ? 0 : similarity
        let bits = s.bitPattern
        let ascending: UInt32 = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000
        return (UInt64(~ascending) << 32) | UInt64(UInt32(truncatingIfNeeded: candidate))
    }

    /// The candidate index a key was made from.
    @inlinable @inline(__always)
    public static func candidate(_ key: UInt64) -> Int { Int(UInt32(truncatingIfNeeded: key)) }

    /// The similarity a key was made from (−0 comes back as +0).
    @inlinable @inline(__always)
    public static func similarity(_ key: UInt64) -> Float {
        let ascending = ~UInt32(truncatingIfNeeded: key >> 32)
        let bits = (ascending & 0x8000_0000) != 0 ? (ascending & 0x7FFF_FFFF) : ~ascending
        return Float(bitPattern: bits)
    }

    /// nth_element on keys[lo..<hi]: afterwards keys[nth] holds the key of that rank within the whole
    /// range, every key before it is smaller and every key after it is larger (keys are distinct).
    /// Hoare partition around a median-of-three pivot; insertion sort finishes ranges under 16.
    @inlinable
    public static func nthElement(_ keys: UnsafeMutablePointer<UInt64>, _ lo: Int, _ hi: Int, _ nth: Int) {
        var lo = lo, hi = hi - 1                       // inclusive bounds
        guard nth >= lo, nth <= hi else { return }
        while hi > lo {
            if hi - lo < 16 {
                var i = lo + 1
                while i <= hi {
                    let v = keys[i]; var j = i - 1
                    while j >= lo && keys[j] > v { keys[j + 1] = keys[j]; j -= 1 }
                    keys[j + 1] = v; i += 1
                }
                return
            }
            let mid = lo + (hi - lo) / 2
            if keys[mid] < keys[lo] { swap(keys, mid, lo) }
            if keys[hi] < keys[lo] { swap(keys, hi, lo) }
            if keys[hi] < keys[mid] { swap(keys, hi, mid) }
            let pivot = keys[mid]
            var i = lo, j = hi
            while i <= j {
                while keys[i] < pivot { i += 1 }
                while keys[j] > pivot { j -= 1 }
                if i <= j { swap(keys, i, j); i += 1; j -= 1 }
            }
            if nth <= j { hi = j } else if nth >= i { lo = i } else { return }
        }
    }

    /// Puts every rank of `ranks[rlo..<rhi]` (sorted ascending, unique, all in lo..<hi) in place, leaving
    /// each segment between them contiguous and internally unordered.
    @inlinable
    public static func multiSelect(_ keys: UnsafeMutablePointer<UInt64>, _ lo: Int, _ hi: Int,
                                   _ ranks: UnsafePointer<Int>, _ rlo: Int, _ rhi: Int) {
        guard rlo < rhi, hi - lo > 1 else { return }
        let mid = (rlo + rhi) / 2
        let k = ranks[mid]
        nthElement(keys, lo, hi, k)
        multiSelect(keys, lo, k, ranks, rlo, mid)
        multiSelect(keys, k + 1, hi, ranks, mid + 1, rhi)
    }

    /// Every candidate of `similarities` in rank order (a full sort; the reference for tests).
    public static func ranked(_ similarities: [Float]) -> [Int] {
        similarities.enumerated().map { key($0.element, $0.offset) }.sorted().map(candidate)
    }

    @inlinable @inline(__always) static func swap(_ p: UnsafeMutablePointer<UInt64>, _ a: Int, _ b: Int) {
        let t = p[a]; p[a] = p[b]; p[b] = t
    }
}
