import Foundation
import Ranking

// Per-step statistics for the log: accumulated per query into index-addressed slots, then reduced
// in query order so the numbers do not depend on the thread count.

/// What one step reports (similarities are raw dot products of unit vectors, not divided by τ).
public struct ContrastiveStats: Equatable, Sendable {
    public var loss: Double = 0
    /// Fraction of queries whose positive scores strictly above every selected real negative.
    public var top1: Double = 0
    /// Mean number of negatives in a query's denominator (real + synthetic, draws counted with multiplicity).
    public var negativesPerQuery: Double = 0
    /// Mean similarity of the selected real negatives (with multiplicity).
    public var meanSelectedSimilarity: Double = 0
    /// Fraction of selected real negatives whose label equals the query's; nil without labels.
    public var sameLabelFraction: Double?
    /// 50th, 90th, 99th, 99.9th percentiles of query–candidate similarity over every candidate scored
    /// this step (NumPy's linear interpolation); empty unless requested.
    public var percentiles: [Double] = []
    /// Candidates per query and the ranks the sampler kept (nil = all).
    public var candidates: Int = 0
    public var rankRange: Range<Int>?
    public var outer: Double = 1
    /// The collapse monitor's measures (alignment, uniformity, effective rank); nil unless requested.
    public var health: EmbeddingHealth?

    public init() {}
}

extension ContrastiveStats {
    /// Column names and values for log.csv, in a fixed order (empty value = not available this step).
    public static let logColumns = ["loss", "top1", "negatives_per_query", "mean_selected_similarity", "same_label_fraction",
                                    "sim_p50", "sim_p90", "sim_p99", "sim_p99_9", "rank_lo", "rank_hi", "outer"]

    public var logValues: [String] {
        func f(_ x: Double) -> String { String(format: "%.6g", x) }
        let p = percentiles.count == 4 ? percentiles.map(f) : ["", "", "", ""]
        let r = rankRange ?? 0..<candidates
        return [f(loss), f(top1), f(negativesPerQuery), f(meanSelectedSimilarity), sameLabelFraction.map(f) ?? ""]
            + p + [String(r.lowerBound), String(r.upperBound), f(outer)]
    }

    /// Combines the two halves of a CMC step: sums the losses, averages everything else.
    public static func combining(_ a: ContrastiveStats, _ b: ContrastiveStats) -> ContrastiveStats {
        var s = a
        s.loss = a.loss + b.loss
        s.top1 = (a.top1 + b.top1) / 2
        s.negativesPerQuery = (a.negativesPerQuery + b.negativesPerQuery) / 2
        s.meanSelectedSimilarity = (a.meanSelectedSimilarity + b.meanSelectedSimilarity) / 2
        if let x = a.sameLabelFraction, let y = b.sameLabelFraction { s.sameLabelFraction = (x + y) / 2 }
        s.percentiles = a.percentiles.count == b.percentiles.count ? zip(a.percentiles, b.percentiles).map { ($0 + $1) / 2 } : []
        return s
    }
}

/// One query's contribution.
struct RowStats {
    var loss = 0.0
    var top1 = false
    var negatives = 0
    var selectedCount = 0
    var selectedSimilaritySum = 0.0
    var labeled = 0
    var sameLabel = 0

    /// The row's statistics over its `count` chosen real negatives (loss comes later, from the row loss).
    mutating func record(positive: Float, hardest: Float, count: Int, similaritySum: Double, labeled: Int, sameLabel: Int) {
        top1 = positive > hardest
        negatives = count
        selectedCount = count
        selectedSimilaritySum = similaritySum
        self.labeled = labeled
        self.sameLabel = sameLabel
    }
}

extension ContrastiveStats {
    static func reduce(_ rows: [RowStats]) -> ContrastiveStats {
        var s = ContrastiveStats()
        guard !rows.isEmpty else { return s }
        var loss = 0.0, top = 0, negs = 0, sel = 0, simSum = 0.0, labeled = 0, same = 0
        for r in rows {
            loss += r.loss; top += r.top1 ? 1 : 0; negs += r.negatives
            sel += r.selectedCount; simSum += r.selectedSimilaritySum; labeled += r.labeled; same += r.sameLabel
        }
        let n = Double(rows.count)
        s.loss = loss / n
        s.top1 = Double(top) / n
        s.negativesPerQuery = Double(negs) / n
        s.meanSelectedSimilarity = sel > 0 ? simSum / Double(sel) : 0
        s.sameLabelFraction = labeled > 0 ? Double(same) / Double(labeled) : nil
        return s
    }
}

public enum Percentiles {
    /// The requested percentiles (0…100) of `values`, interpolated linearly between order statistics
    /// as NumPy's default does; uses selection, not a sort.
    /// Beyond 2²² values (IR-Ring scores a whole bank per query) a fixed strided subsample of 2²² is used.
    public static func of(_ values: [Float], _ percents: [Double] = [50, 90, 99, 99.9]) -> [Double] {
        let cap = 1 << 22
        if values.count > cap {
            return of((0..<cap).map { values[Int((UInt64($0) * UInt64(values.count)) / UInt64(cap))] }, percents)
        }
        let n = values.count
        guard n > 0 else { return percents.map { _ in .nan } }
        var keys = [UInt64](repeating: 0, count: n)
        return keys.withUnsafeMutableBufferPointer { kb -> [Double] in
            let k = kb.baseAddress!
            for i in 0..<n { k[i] = RankOrder.key(values[i], i) }
            // keys ascend with descending value: ascending order statistic r is descending rank n−1−r.
            func ascending(_ r: Int) -> Double {
                RankOrder.nthElement(k, 0, n, n - 1 - r)
                return Double(values[RankOrder.candidate(k[n - 1 - r])])
            }
            return percents.map { p in
                let x = p / 100 * Double(n - 1)
                let lo = Int(x.rounded(.down)), frac = x - Double(lo)
                let a = ascending(lo)
                return frac > 0 && lo + 1 < n ? a + (ascending(lo + 1) - a) * frac : a
            }
        }
    }
}
