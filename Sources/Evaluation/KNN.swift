import Foundation
import NN
import StageKit

/// Weighted k-nearest-neighbour classification (InstDisc / MoCo kNN monitor, SPEC §4).
///
/// Train and test features are L2-normalised; for each test item the k train items with the largest
/// cosine similarity s vote for their class with weight exp(s/τ); the classes are ranked by total
/// vote. Similarities come from gemm one chunk of test rows at a time, so memory holds at most
/// chunkRows × N_train similarities, never N_test × N_train.
///
/// Determinism: neighbours are ordered by (similarity descending, train index ascending), so ties at
/// the k-th place keep the lower train index; votes are summed in Double in that rank order; class
/// ties go to the lower class index.
public struct KNNParameters: Sendable, Equatable {
    public var k: Int = 200
    public var tau: Double = 0.1
    /// test rows per similarity chunk; 0 picks rows so that a chunk holds about 8 M similarities (32 MiB)
    public var chunkRows: Int = 0

    public init(k: Int = 200, tau: Double = 0.1, chunkRows: Int = 0) {
        self.k = k
        self.tau = tau
        self.chunkRows = chunkRows
    }

    public func validate() throws {
        guard k >= 1 else { throw StageError.usage("--k must be at least 1 (got \(k))") }
        guard tau > 0, tau.isFinite else { throw StageError.usage("--tau must be a positive number (got \(tau))") }
        guard chunkRows >= 0 else { throw StageError.usage("--chunk must be ≥ 0 (got \(chunkRows))") }
    }

    func resolvedChunkRows(train: Int, test: Int) -> Int {
        let rows = chunkRows > 0 ? chunkRows : max(1, (8 << 20) / max(train, 1))
        return max(1, min(rows, test))
    }
}

public struct KNNOutcome: Sendable {
    /// [nTest, rankedCount] classes by descending vote (rankedCount = min(5, classes))
    public var ranking: [Int32]
    public var rankedCount: Int
    /// [nTest, kUsed] train indices by rank, only when asked for
    public var neighbours: [Int32]?
    public var kUsed: Int
    public var top1: Double      // percent
    public var top5: Double      // percent
    public var predictions: [Int32] { stride(from: 0, to: ranking.count, by: rankedCount).map { ranking[$0] } }
}

public enum WeightedKNN {
    /// Classifies `test` against `train` (both L2-normalised here, on copies). `classes` must exceed
    /// every label in either split.
    public static func evaluate(train: LabeledFeatures, test: LabeledFeatures, classes: Int, parameters: KNNParameters,
                                threads: Int, keepNeighbours: Bool = false) -> KNNOutcome {
        precondition(train.dim == test.dim && classes > 0 && train.classCount <= classes, "kNN: dims or class count do not fit")
        var trainUnit = train.values   // [nTrain, dim]
        var testUnit = test.values     // [nTest, dim]
        normalizeRows(&trainUnit, rows: train.count, dim: train.dim, threads: threads)
        normalizeRows(&testUnit, rows: test.count, dim: test.dim, threads: threads)
        let nTrain = train.count, nTest = test.count, dim = train.dim
        let kUsed = min(parameters.k, nTrain)
        let ranked = min(5, classes)
        let chunk = parameters.resolvedChunkRows(train: nTrain, test: nTest)
        let trainLabels = train.labels.map { Int32($0) }   // [nTrain]
        var ranking = [Int32](repeating: 0, count: nTest * ranked)                      // [nTest, ranked]
        var neighbours = [Int32](repeating: 0, count: keepNeighbours ? nTest * kUsed : 0) // [nTest, kUsed]
        var sims = [Float](repeating: 0, count: chunk * nTrain)                         // [chunk, nTrain]
        let tau = parameters.tau

        trainUnit.withUnsafeBufferPointer { trainP in
        testUnit.withUnsafeBufferPointer { testP in
        trainLabels.withUnsafeBufferPointer { labelP in
        sims.withUnsafeMutableBufferPointer { simP in
        ranking.withUnsafeMutableBufferPointer { rankP in
        neighbours.withUnsafeMutableBufferPointer { nbrP in
            var start = 0
            while start < nTest {
                let rows = min(chunk, nTest - start)
                // sims[r, j] = <test[start + r], train[j]>
                gemm(transB: true, m: rows, n: nTrain, k: dim, testP.baseAddress! + start * dim, trainP.baseAddress!, simP.baseAddress!)
                parallelRanges(rows, threads: threads) { range in
                    var selector = TopKSelector(k: kUsed)
                    var scores = [Double](repeating: 0, count: classes)   // [classes]
                    for r in range {
                        let row = simP.baseAddress! + r * nTrain
                        selector.select(row, count: nTrain)
                        for c in 0..<classes { scores[c] = 0 }
                        for rank in 0..<kUsed {
                            let j = Int(selector.indices[rank])
                            scores[Int(labelP[j])] += exp(Double(selector.values[rank]) / tau)
                        }
                        let item = start + r
                        scores.withUnsafeBufferPointer { rankClasses($0.baseAddress!, classes: classes, into: rankP.baseAddress! + item * ranked, count: ranked) }
                        if keepNeighbours {
                            for rank in 0..<kUsed { nbrP[item * kUsed + rank] = selector.indices[rank] }
                        }
                    }
                }
                start += rows
            }
        }}}}}}

        var hit1 = 0, hit5 = 0
        for i in 0..<nTest {
            let label = Int32(test.labels[i])
            if ranking[i * ranked] == label { hit1 += 1 }
            for r in 0..<ranked where ranking[i * ranked + r] == label { hit5 += 1; break }
        }
        return KNNOutcome(ranking: ranking, rankedCount: ranked, neighbours: keepNeighbours ? neighbours : nil, kUsed: kUsed,
                          top1: percent(hit1, of: nTest), top5: percent(hit5, of: nTest))
    }

    /// Writes the `count` best of `classes` scores (score descending, lower class first on ties).
    /// Repeated arg-max skipping the classes already written: count ≤ 5, so no sort and no allocation.
    static func rankClasses<T: BinaryFloatingPoint>(_ scores: UnsafePointer<T>, classes: Int,
                                                    into out: UnsafeMutablePointer<Int32>, count: Int) {
        for slot in 0..<count {
            var best = -1
            for c in 0..<classes {
                var taken = false
                for s in 0..<slot where out[s] == Int32(c) { taken = true; break }
                if taken { continue }
                if best < 0 || scores[c] > scores[best] { best = c }
            }
            out[slot] = Int32(best)
        }
    }
}

/// The k largest values of a row with their positions, ordered by (value descending, position
/// ascending). A binary heap whose root is the worst kept entry; one pass over the row.
struct TopKSelector {
    let k: Int
    var values: [Float]     // [k] after select: by rank
    var indices: [Int32]    // [k]

    init(k: Int) {
        self.k = k
        values = [Float](repeating: 0, count: k)
        indices = [Int32](repeating: 0, count: k)
    }

    /// a ranks below b
    @inline(__always) static func worse(_ va: Float, _ ia: Int32, _ vb: Float, _ ib: Int32) -> Bool {
        va < vb || (va == vb && ia > ib)
    }

    mutating func select(_ row: UnsafePointer<Float>, count n: Int) {
        precondition(n >= k)
        let k = self.k
        values.withUnsafeMutableBufferPointer { v in
        indices.withUnsafeMutableBufferPointer { ix in
            // Heap of the first k entries, then replace the root whenever a strictly larger value
            // arrives (an equal value has a higher position, so it ranks below the root).
            for j in 0..<k {
                v[j] = row[j]; ix[j] = Int32(j)
                TopKSelector.siftUp(v, ix, j)
            }
            for j in k..<n where row[j] > v[0] {
                v[0] = row[j]; ix[0] = Int32(j)
                TopKSelector.siftDown(v, ix, 0, k)
            }
            // Heap sort: repeatedly move the worst to the end, giving best-first order.
            var end = k
            while end > 1 {
                end -= 1
                v.swapAt(0, end); ix.swapAt(0, end)
                TopKSelector.siftDown(v, ix, 0, end)
            }
        }}
    }

    @inline(__always) private static func siftUp(_ v: UnsafeMutableBufferPointer<Float>, _ ix: UnsafeMutableBufferPointer<Int32>, _ start: Int) {
        var c = start
        while c > 0 {
            let p = (c - 1) / 2
            guard TopKSelector.worse(v[c], ix[c], v[p], ix[p]) else { return }
            v.swapAt(c, p); ix.swapAt(c, p)
            c = p
        }
    }

    @inline(__always) private static func siftDown(_ v: UnsafeMutableBufferPointer<Float>, _ ix: UnsafeMutableBufferPointer<Int32>, _ start: Int, _ end: Int) {
        var p = start
        while true {
            let l = 2 * p + 1
            if l >= end { return }
            var c = l
            if l + 1 < end && TopKSelector.worse(v[l + 1], ix[l + 1], v[l], ix[l]) { c = l + 1 }
            guard TopKSelector.worse(v[c], ix[c], v[p], ix[p]) else { return }
            v.swapAt(c, p); ix.swapAt(c, p)
            p = c
        }
    }
}
