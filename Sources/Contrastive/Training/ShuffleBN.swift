import StageKit

/// ShuffleBN (He et al., MoCo §3.3): with split batch norm, a key computed in the same BN group as
/// its query shares that group's batch statistics, and the network can find its positive from them
/// instead of from the image. So the key batch enters its forward in a permuted order in which no key
/// sits in the group its query sits in, and the keys are put back in query order afterwards.
/// SimCLR's 2B views are one forward: the second half (view 2) is permuted the same way against the
/// groups of the first half, so no group of view-2 images mirrors a group of view-1 images.
///
/// The permutation depends only on (seed, step), so a resumed run draws the same one.
public enum ShuffleBN {
    /// `order[j]` = the batch row that enters position j of the forward. Positions and rows are cut
    /// into `groups` equal consecutive groups (row r is in group r / (count / groups)); every position
    /// receives a row from a different group. Identity when `groups` < 2 (nothing to shuffle against).
    public static func order(count n: Int, groups: Int, seed: UInt64, step: Int) -> [Int] {
        guard groups >= 2 else { return Array(0..<n) }
        precondition(n % groups == 0, "ShuffleBN: batch \(n) not divisible by \(groups) groups")
        let size = n / groups
        func group(_ i: Int) -> Int { i / size }
        var rng = RNG(seed: seed, stream: [0x5348_5546_4C42_4E, UInt64(step)])   // "SHUFLBN"
        var order = Array(0..<n)
        order.shuffle(using: &rng)
        // Repair: a position holding a row of its own group swaps with one where both end up legal.
        // One always exists: if position j (group g) holds a row of g, some position outside g holds a
        // row outside g (counting rows of g), and swapping the two fixes j without breaking the other.
        for j in 0..<n where group(order[j]) == group(j) {
            let start = rng.below(n)
            for t in 0..<n {
                let k = (start + t) % n
                if group(k) != group(j) && group(order[k]) != group(j) && group(order[j]) != group(k) {
                    order.swapAt(j, k)
                    break
                }
            }
            precondition(group(order[j]) != group(j), "ShuffleBN: no legal swap (cannot happen)")
        }
        return order
    }

    /// Rows of `x` [n, d] in forward order back to batch order: out[order[j]] = x[j].
    public static func restore(_ x: [Float], order: [Int], dim d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)          // [n, d]
        for (j, r) in order.enumerated() {
            for c in 0..<d { out[r * d + c] = x[j * d + c] }
        }
        return out
    }

    /// Rows of `x` [n, d] in batch order into forward order: out[j] = x[order[j]] (restore's inverse).
    public static func apply(_ x: [Float], order: [Int], dim d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)          // [n, d]
        for (j, r) in order.enumerated() {
            for c in 0..<d { out[j * d + c] = x[r * d + c] }
        }
        return out
    }
}
