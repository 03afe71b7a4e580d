/// Per-query ranking without a full sort: each candidate becomes one UInt64 key whose ascending order
/// is descending similarity, ties broken by ascending candidate position (a total order, so results
/// never depend on the selection algorithm). Multi-quickselect then puts every requested rank in place,
/// leaving each bucket as a contiguous, internally unordered segment.

/// Key for similarity `s` of candidate position `position` (< 2³²). Larger similarity → smaller key.
@inline(__always)
public func hardnessKey(_ s: Float, _ position: Int) -> UInt64 {
    let bits = (s + 0).bitPattern                    // + 0 turns −0 into +0 so the two tie
    let ascending: UInt32 = (bits & 0x8000_0000) != 0 ? ~bits : (bits | 0x8000_0000)
    return UInt64(~ascending) << 32 | UInt64(UInt32(truncatingIfNeeded: position))
}

@inline(__always) public func keyPosition(_ key: UInt64) -> Int { Int(UInt32(truncatingIfNeeded: key)) }

@inline(__always)
public func keySimilarity(_ key: UInt64) -> Float {
    let ascending = ~UInt32(truncatingIfNeeded: key >> 32)
    let bits = (ascending & 0x8000_0000) != 0 ? (ascending & 0x7FFF_FFFF) : ~ascending
    return Float(bitPattern: bits)
}

/// Rearranges keys[lo..<hi] so that keys[k] holds the element of rank k (within the whole array),
/// everything before it is smaller and everything after larger. Hoare partition, median-of-three pivot.
@inline(__always)
func quickselect(_ a: UnsafeMutablePointer<UInt64>, _ lo: Int, _ hi: Int, _ k: Int) {
    var left = lo, right = hi - 1                     // inclusive bounds
    while right > left {
        let mid = left + (right - left) / 2
        if a[mid] < a[left] { a.swapAt(mid, left) }
        if a[right] < a[left] { a.swapAt(right, left) }
        if a[right] < a[mid] { a.swapAt(right, mid) }
        let pivot = a[mid]
        var i = left, j = right
        while i <= j {
            while a[i] < pivot { i += 1 }
            while a[j] > pivot { j -= 1 }
            if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
        }
        if k <= j { right = j } else if k >= i { left = i } else { return }
    }
}

/// Puts every rank of `ranks[rlo..<rhi]` (sorted ascending, unique, all in lo..<hi) in place.
public func multiSelect(_ a: UnsafeMutablePointer<UInt64>, _ lo: Int, _ hi: Int,
                 _ ranks: UnsafePointer<Int>, _ rlo: Int, _ rhi: Int) {
    guard rlo < rhi, hi - lo > 1 else { return }
    let mid = (rlo + rhi) / 2
    let k = ranks[mid]
    quickselect(a, lo, hi, k)
    multiSelect(a, lo, k, ranks, rlo, mid)
    multiSelect(a, k + 1, hi, ranks, mid + 1, rhi)
}

extension UnsafeMutablePointer where Pointee == UInt64 {
    @inline(__always) func swapAt(_ i: Int, _ j: Int) { let t = self[i]; self[i] = self[j]; self[j] = t }
}

/// Puts every rank of `ranks` (sorted, unique, in 0..<n) in place, like `multiSelect`, but first
/// scatters the keys into `bins` buckets of equal similarity width (one counting-sort pass: bins are
/// monotone in the key order), so only the few bins that hold a requested rank need a quickselect.
/// About three linear passes instead of one per level of the multi-select recursion.
/// `scratch` holds n keys, `counts` bins + 1 integers; `lowest`/`highest` bound the similarities.
public func partitionAtRanks(_ keys: UnsafeMutablePointer<UInt64>, _ n: Int, _ ranks: UnsafePointer<Int>, _ rankCount: Int,
                      lowest: Float, highest: Float, scratch: UnsafeMutablePointer<UInt64>,
                      counts: UnsafeMutablePointer<Int>, bins: Int) {
    guard n > 4 * bins, highest > lowest else {
        multiSelect(keys, 0, n, ranks, 0, rankCount)
        return
    }
    let scale = Float(bins) / (highest - lowest)
    @inline(__always) func bin(_ key: UInt64) -> Int {
        let b = Int((highest - keySimilarity(key)) * scale)      // hardest (largest similarity) → bin 0
        return b < bins ? b : bins - 1
    }
    for b in 0...bins { counts[b] = 0 }
    for i in 0..<n { counts[bin(keys[i]) + 1] += 1 }
    for b in 0..<bins { counts[b + 1] += counts[b] }              // counts[b] = start of bin b
    for i in 0..<n {
        let b = bin(keys[i])
        scratch[counts[b]] = keys[i]
        counts[b] += 1                                            // now counts[b] = end of bin b
    }
    keys.update(from: scratch, count: n)
    // bin b spans [end of bin b−1, end of bin b); select the requested ranks inside their bins
    var r = 0, b = 0
    while r < rankCount {
        while counts[b] <= ranks[r] { b += 1 }
        let start = b == 0 ? 0 : counts[b - 1]
        var rEnd = r
        while rEnd < rankCount && ranks[rEnd] < counts[b] { rEnd += 1 }
        multiSelect(keys, start, counts[b], ranks, r, rEnd)
        r = rEnd
    }
}
