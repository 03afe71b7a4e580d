/// Which ranks fall in which difficulty bucket, for one query with `k` eligible candidates.
///
/// Coarse bucket b (0 ≤ b < 100, b = 0 hardest) holds ranks [⌊b·k/100⌋, ⌊(b+1)·k/100⌋); fine bucket f
/// (0 ≤ f < 10, the hardest 1 % in 0.1 % steps) holds ranks [⌊f·k/1000⌋, ⌊(f+1)·k/1000⌋). This is the
/// samplers' band convention ([⌊lo·K⌋, ⌊hi·K⌋)), so "bucket 0" is exactly the band [0 %, 1 %).
/// Equivalently rank r is in coarse bucket ⌈100(r+1)/k⌉ − 1. When k is not a multiple of 100 buckets
/// differ in size by one; when k < 100 (or < 1000 for the fine split) some buckets are empty for that
/// query and it does not contribute to them.
public struct BucketLayout: Sendable {
    public static let coarseCount = 100
    public static let fineCount = 10

    public let k: Int
    public let coarseStart: [Int]       // [101] start rank of each coarse bucket, then k
    public let fineStart: [Int]         // [11]  start rank of each fine bucket, then ⌊k/100⌋
    public let consistencyCount: Int    // m = ⌊x·k⌋ candidates in the hardest (and easiest) x %
    public let selectRanks: [Int]       // every rank multi-select must put in place (sorted, unique)

    public init(k: Int, consistencyFraction x: Double) {
        self.k = k
        coarseStart = (0...BucketLayout.coarseCount).map { $0 * k / BucketLayout.coarseCount }
        fineStart = (0...BucketLayout.fineCount).map { $0 * k / 1000 }
        consistencyCount = Int((x * Double(k)).rounded(.down))
        var ranks = Set(coarseStart + fineStart + [consistencyCount, k - consistencyCount, 0, k - 1])
        ranks = ranks.filter { $0 >= 0 && $0 < k }
        selectRanks = ranks.sorted()
    }

    /// Coarse bucket of rank r (the closed form above).
    @inline(__always) public static func coarseBucket(rank r: Int, k: Int) -> Int { (100 * (r + 1) + k - 1) / k - 1 }
}
