import Foundation
import NN
import StageKit

/// Options of the hardness analysis (SPEC §3).
public struct HardnessOptions: Sendable {
    public var excludeSelf = false             // drop candidates whose dataset index equals the query's
    public var consistencyPercent = 5.0        // x: the hardest / easiest x % of each query's candidates
    public var histogramBins = 200             // over [−1, 1]; percentiles use 100× finer bins
    public var chunk = 256                     // queries per gemm
    public var threads = 1
    public var seed: UInt64 = 0
    public init() {}
}

/// Everything the analysis measures; `Hardness.write` stores it as tensors and a JSON summary.
public struct HardnessResult: Sendable {
    public var queryCount = 0
    public var candidateCount = 0
    public var pairs: Int64 = 0                          // (query, eligible candidate) pairs seen
    public var outOfRange: Int64 = 0                     // similarities outside [−1, 1] (clamped into the end bins)
    public var histogramEdges: [Double] = []             // [bins+1]
    public var histogramCounts: [Int64] = []             // [bins]
    public var percentileLevels: [Double] = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9]
    public var percentiles: [Double] = []                // pooled similarity at each level (linear within fine bins)
    // per bucket: mean over labelled queries of the per-query value (NaN where no query contributes)
    public var coarseSameClass: [Double] = []            // [100]
    public var coarseSameClassShuffled: [Double] = []    // [100] candidate labels permuted (seeded): chance level
    public var coarseLCADepth: [Double] = []             // [100] (NaN without a hierarchy)
    public var coarseQueries: [Int64] = []               // [100] queries contributing
    public var coarseEdgeSimilarity: [Double] = []       // [101] mean similarity at rank ⌊b·k/100⌋; [100] = rank k−1
    public var fineSameClass: [Double] = []              // [10]
    public var fineSameClassShuffled: [Double] = []      // [10]
    public var fineLCADepth: [Double] = []               // [10]
    public var fineQueries: [Int64] = []                 // [10]
    public var fineEdgeSimilarity: [Double] = []         // [11] mean similarity at rank ⌊f·k/1000⌋
    // consistency, per candidate
    public var hardCount: [Int64] = []                   // [K] queries that put it in their hardest x %
    public var easyCount: [Int64] = []                   // [K] … easiest x %
    public var hardCountControl: [Int64] = []            // [K] same, with each query's candidates shuffled (seeded)
    public var easyCountControl: [Int64] = []            // [K]
    public var eligibleCount: [Int64] = []               // [K] queries for which it was a candidate
    public var selectionProbabilities: [Double] = []     // [Q] p_q = m_q / k_q
    public var consistency: [String: ConsistencySummary] = [:]   // "hard", "easy", "hard_control", "easy_control"
}

public enum Hardness {
    static let slotsPerQuery = BucketLayout.coarseCount + BucketLayout.fineCount       // 110
    static let edgesPerQuery = BucketLayout.coarseCount + 1 + BucketLayout.fineCount + 1  // 112

    /// Computes the statistics in chunks of queries: one gemm per chunk, then per query a
    /// multi-quickselect of its candidates' keys. Never holds more than `chunk × K` similarities.
    public static func compute(queries: EmbeddingSet, candidates: EmbeddingSet, hierarchy: ClassHierarchy?,
                               options: HardnessOptions, progress: StageKit.Progress? = nil) -> HardnessResult {
        precondition(queries.dim == candidates.dim && candidates.count >= 2)
        let q = queries.count, kAll = candidates.count, d = queries.dim
        let chunk = max(1, min(options.chunk, q))
        let fineBins = options.histogramBins * 100
        let x = options.consistencyPercent / 100
        let classCount = hierarchy?.count ?? 0

        // Candidate labels permuted among the labelled candidates: the same-class chance level.
        var shuffledLabels = candidates.labels                               // [K]
        let labelledPositions = (0..<kAll).filter { candidates.labels[$0] >= 0 }
        var labelRng = RNG(seed: options.seed, stream: [0x6C61_6265_6C73])
        var permuted = labelledPositions.map { candidates.labels[$0] }
        for i in stride(from: permuted.count - 1, to: 0, by: -1) { permuted.swapAt(i, labelRng.below(i + 1)) }
        for (p, l) in zip(labelledPositions, permuted) { shuffledLabels[p] = l }

        let workers = max(1, min(options.threads, chunk))
        let scratch = (0..<workers).map { _ in WorkerScratch(k: kAll, fineBins: fineBins) }
        var sims = [Float](repeating: 0, count: chunk * kAll)                // [chunk, K]
        var sameSlot = [Double](repeating: 0, count: chunk * slotsPerQuery)  // [chunk, 110]
        var shufSlot = sameSlot, lcaSlot = sameSlot                          // [chunk, 110]
        var edgeSlot = [Double](repeating: 0, count: chunk * edgesPerQuery)  // [chunk, 112]
        var pSlot = [Double](repeating: 0, count: chunk)                     // [chunk]

        var sumSame = [Double](repeating: 0, count: slotsPerQuery), sumShuf = sumSame, sumLCA = sumSame
        var nSame = [Int64](repeating: 0, count: slotsPerQuery)
        var sumEdge = [Double](repeating: 0, count: edgesPerQuery)
        var probabilities = [Double](repeating: 0, count: q)

        queries.vectors.withUnsafeBufferPointer { qv in
        candidates.vectors.withUnsafeBufferPointer { cv in
        candidates.labels.withUnsafeBufferPointer { candLabel in
        candidates.index.withUnsafeBufferPointer { candIndex in
        shuffledLabels.withUnsafeBufferPointer { shufLabel in
            var q0 = 0
            while q0 < q {
                let qc = min(chunk, q - q0)
                sims.withUnsafeMutableBufferPointer { s in
                    gemm(transB: true, m: qc, n: kAll, k: d, qv.baseAddress! + q0 * d, cv.baseAddress!, s.baseAddress!)
                }
                sims.withUnsafeBufferPointer { s in
                sameSlot.withUnsafeMutableBufferPointer { same in
                shufSlot.withUnsafeMutableBufferPointer { shuf in
                lcaSlot.withUnsafeMutableBufferPointer { lca in
                edgeSlot.withUnsafeMutableBufferPointer { edge in
                pSlot.withUnsafeMutableBufferPointer { pq in
                    let slots = QuerySlots(same: same.baseAddress!, shuffled: shuf.baseAddress!, lca: lca.baseAddress!,
                                           edge: edge.baseAddress!, probability: pq.baseAddress!)
                    parallelFor(workers, threads: workers) { w in
                        let ws = scratch[w]
                        for local in (qc * w / workers)..<(qc * (w + 1) / workers) {
                            let gq = q0 + local
                            ws.process(row: s.baseAddress! + local * kAll, local: local, queryNumber: gq,
                                       queryIndex: queries.index[gq], queryLabel: queries.labels[gq],
                                       candLabel: candLabel.baseAddress!, shufLabel: shufLabel.baseAddress!,
                                       candIndex: candIndex.baseAddress!, hierarchy: hierarchy, classCount: classCount,
                                       options: options, consistencyFraction: x, slots: slots)
                        }
                    }
                }}}}}}
                // reduce in query order so sums do not depend on the thread count
                for local in 0..<qc {
                    for b in 0..<slotsPerQuery {
                        let v = sameSlot[local * slotsPerQuery + b]
                        if v.isNaN { continue }
                        sumSame[b] += v
                        sumShuf[b] += shufSlot[local * slotsPerQuery + b]
                        sumLCA[b] += lcaSlot[local * slotsPerQuery + b]
                        nSame[b] += 1
                    }
                    for e in 0..<edgesPerQuery { sumEdge[e] += edgeSlot[local * edgesPerQuery + e] }
                    probabilities[q0 + local] = pSlot[local]
                }
                progress?.advance(qc)
                q0 += qc
            }
        }}}}}

        var r = HardnessResult()
        r.queryCount = q
        r.candidateCount = kAll
        let mean = { (s: [Double], range: Range<Int>) in range.map { nSame[$0] > 0 ? s[$0] / Double(nSame[$0]) : .nan } }
        let coarse = 0..<BucketLayout.coarseCount, fine = BucketLayout.coarseCount..<slotsPerQuery
        r.coarseSameClass = mean(sumSame, coarse)
        r.coarseSameClassShuffled = mean(sumShuf, coarse)
        r.coarseLCADepth = hierarchy == nil ? coarse.map { _ in .nan } : mean(sumLCA, coarse)
        r.coarseQueries = Array(nSame[coarse])
        r.fineSameClass = mean(sumSame, fine)
        r.fineSameClassShuffled = mean(sumShuf, fine)
        r.fineLCADepth = hierarchy == nil ? fine.map { _ in .nan } : mean(sumLCA, fine)
        r.fineQueries = Array(nSame[fine])
        r.coarseEdgeSimilarity = (0...BucketLayout.coarseCount).map { sumEdge[$0] / Double(q) }
        r.fineEdgeSimilarity = ((BucketLayout.coarseCount + 1)..<edgesPerQuery).map { sumEdge[$0] / Double(q) }

        var fineHist = [Int64](repeating: 0, count: fineBins)
        var hard = [Int64](repeating: 0, count: kAll), easy = hard, hardC = hard, easyC = hard, excluded = hard
        for ws in scratch {
            for i in 0..<fineBins { fineHist[i] += ws.histogram[i] }
            for c in 0..<kAll {
                hard[c] += Int64(ws.hard[c]); easy[c] += Int64(ws.easy[c])
                hardC[c] += Int64(ws.hardControl[c]); easyC[c] += Int64(ws.easyControl[c])
                excluded[c] += Int64(ws.excluded[c])
            }
            r.outOfRange += ws.outOfRange
            ws.release()
        }
        r.pairs = fineHist.reduce(0, +)
        let bins = options.histogramBins
        r.histogramEdges = (0...bins).map { -1 + 2 * Double($0) / Double(bins) }
        r.histogramCounts = (0..<bins).map { b in fineHist[(b * 100)..<((b + 1) * 100)].reduce(0, +) }
        r.percentiles = r.percentileLevels.map { pooledPercentile(fineHist, total: r.pairs, level: $0) }
        r.hardCount = hard; r.easyCount = easy; r.hardCountControl = hardC; r.easyCountControl = easyC
        r.eligibleCount = excluded.map { Int64(q) - $0 }
        r.selectionProbabilities = probabilities
        let null = BinomialNull(probabilities: probabilities, eligible: r.eligibleCount)
        r.consistency = ["hard": null.summarise(hard), "easy": null.summarise(easy),
                         "hard_control": null.summarise(hardC), "easy_control": null.summarise(easyC)]
        return r
    }

    /// Similarity at `level` % of the pooled distribution, from the fine histogram over [−1, 1].
    static func pooledPercentile(_ hist: [Int64], total: Int64, level: Double) -> Double {
        guard total > 0 else { return .nan }
        let target = level / 100 * Double(total)
        let width = 2 / Double(hist.count)
        var cumulative = 0.0
        for (i, c) in hist.enumerated() where c > 0 {
            let next = cumulative + Double(c)
            if next >= target {
                return -1 + width * (Double(i) + (target - cumulative) / Double(c))
            }
            cumulative = next
        }
        return 1
    }
}

/// Where one query writes its per-bucket values (rows of `slotsPerQuery` / `edgesPerQuery`).
struct QuerySlots: @unchecked Sendable {
    let same: UnsafeMutablePointer<Double>
    let shuffled: UnsafeMutablePointer<Double>
    let lca: UnsafeMutablePointer<Double>
    let edge: UnsafeMutablePointer<Double>
    let probability: UnsafeMutablePointer<Double>
}
