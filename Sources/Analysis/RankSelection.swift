import Ranking

// Per-query ranking without a full sort, in the project's one rank order (Ranking.RankOrder: the
// order the samplers choose in): a radix pass into similarity bins, then RankOrder.multiSelect inside
// the few bins that hold a requested rank, leaving each bucket a contiguous, internally unordered segment.

/// Puts every rank of `ranks` (sorted, unique, in 0..<n) in place, like `RankOrder.multiSelect`, but first
/// scatters the keys into `bins` buckets of equal similarity width (one counting-sort pass: bins are
/// monotone in the key order), so only the few bins that hold a requested rank need a quickselect.
/// About three linear passes instead of one per level of the multi-select recursion.
/// `scratch` holds n keys, `counts` bins + 1 integers; `lowest`/`highest` bound the similarities.
public func partitionAtRanks(_ keys: UnsafeMutablePointer<UInt64>, _ n: Int, _ ranks: UnsafePointer<Int>, _ rankCount: Int,
                      lowest: Float, highest: Float, scratch: UnsafeMutablePointer<UInt64>,
                      counts: UnsafeMutablePointer<Int>, bins: Int) {
    guard n > 4 * bins, highest > lowest else {
        RankOrder.multiSelect(keys, 0, n, ranks, 0, rankCount)
        return
    }
    let scale = Float(bins) / (highest - lowest)
    @inline(__always) func bin(_ key: UInt64) -> Int {
        let b = Int((highest - RankOrder.similarity(key)) * scale)      // hardest (largest similarity) → bin 0
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
        RankOrder.multiSelect(keys, start, counts[b], ranks, r, rEnd)
        r = rEnd
    }
}
