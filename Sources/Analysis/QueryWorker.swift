import StageKit
import Ranking

/// One worker's scratch and accumulators for the hardness analysis: keys to select on, a permutation
/// for the shuffled control, the fine similarity histogram and per-candidate consistency counts.
/// Allocated once per run, reused for every query the worker handles.
final class WorkerScratch: @unchecked Sendable {
    let k: Int
    let keys: UnsafeMutablePointer<UInt64>          // [K] eligible candidates' keys
    let permutation: UnsafeMutablePointer<Int32>    // [K] identity between queries
    let swapLog: UnsafeMutablePointer<Int32>        // [K] partial Fisher–Yates swaps, undone per query
    let scatter: UnsafeMutablePointer<UInt64>       // [K] radix-partition buffer
    let binCounts: UnsafeMutablePointer<Int>        // [radixBins + 1]
    static let radixBins = 4096
    var excludedPositions: [Int] = []               // this query's excluded candidate positions
    var histogram: [Int64]                          // [fineBins] over [−1, 1]
    var outOfRange: Int64 = 0
    var hard, easy, hardControl, easyControl, excluded: [Int32]   // [K] each
    var layouts: [Int: BucketLayout] = [:]

    init(k: Int, fineBins: Int) {
        self.k = k
        keys = .allocate(capacity: k)
        permutation = .allocate(capacity: k)
        swapLog = .allocate(capacity: k)
        scatter = .allocate(capacity: k)
        binCounts = .allocate(capacity: WorkerScratch.radixBins + 1)
        for i in 0..<k { permutation[i] = Int32(i) }
        histogram = [Int64](repeating: 0, count: fineBins)
        hard = [Int32](repeating: 0, count: k)
        easy = hard; hardControl = hard; easyControl = hard; excluded = hard
    }

    func release() {
        keys.deallocate(); permutation.deallocate(); swapLog.deallocate(); scatter.deallocate(); binCounts.deallocate()
    }

    func process(row: UnsafePointer<Float>, local: Int, queryNumber: Int, queryIndex: Int64, queryLabel: Int64,
                 candLabel: UnsafePointer<Int64>, shufLabel: UnsafePointer<Int64>, candIndex: UnsafePointer<Int64>,
                 hierarchy: ClassHierarchy?, classCount: Int, options: HardnessOptions, consistencyFraction x: Double,
                 slots: QuerySlots) {
        // 1. keys of the eligible candidates, and the histogram of their similarities
        let bins = histogram.count
        let scale = Float(bins) / 2
        var n = 0
        var lowest = Float.infinity, highest = -Float.infinity
        excludedPositions.removeAll(keepingCapacity: true)
        histogram.withUnsafeMutableBufferPointer { hist in
            for c in 0..<k {
                if options.excludeSelf && candIndex[c] == queryIndex { excludedPositions.append(c); continue }
                let s = row[c]
                var bin = Int(((s + 1) * scale).rounded(.down))
                if bin < 0 || bin >= bins {
                    if !(s >= -1 && s <= 1) { outOfRange += 1 }
                    bin = bin < 0 ? 0 : bins - 1
                }
                hist[bin] += 1
                lowest = min(lowest, s)
                highest = max(highest, s)
                keys[n] = RankOrder.key(s, c)
                n += 1
            }
        }
        for p in excludedPositions { excluded[p] += 1 }
        let layout: BucketLayout
        if let cached = layouts[n] { layout = cached } else {
            layout = BucketLayout(k: n, consistencyFraction: x)
            layouts[n] = layout
        }
        guard n >= 2 else { writeEmpty(local: local, slots: slots); return }
        // 2. every bucket boundary in place
        layout.selectRanks.withUnsafeBufferPointer { ranks in
            partitionAtRanks(keys, n, ranks.baseAddress!, ranks.count, lowest: lowest, highest: highest,
                             scratch: scatter, counts: binCounts, bins: WorkerScratch.radixBins)
        }
        // 3. cut-off similarities
        let edge = slots.edge + local * Hardness.edgesPerQuery
        for b in 0..<BucketLayout.coarseCount { edge[b] = Double(RankOrder.similarity(keys[min(layout.coarseStart[b], n - 1)])) }
        edge[BucketLayout.coarseCount] = Double(RankOrder.similarity(keys[n - 1]))
        for f in 0...BucketLayout.fineCount {
            edge[BucketLayout.coarseCount + 1 + f] = Double(RankOrder.similarity(keys[min(layout.fineStart[f], n - 1)]))
        }
        // 4. same-class fraction and LCA depth per bucket
        let same = slots.same + local * Hardness.slotsPerQuery
        let shuf = slots.shuffled + local * Hardness.slotsPerQuery
        let lca = slots.lca + local * Hardness.slotsPerQuery
        let labelled = queryLabel >= 0
        let lcaRow: [Double]? = (labelled && hierarchy != nil)
            ? Array(hierarchy!.lcaDepth[(Int(queryLabel) * classCount)..<(Int(queryLabel) * classCount + classCount)]) : nil
        func bucket(_ slot: Int, _ lo: Int, _ hi: Int) {
            guard labelled else { same[slot] = .nan; return }
            var nl = 0, ns = 0, nsh = 0
            var depth = 0.0
            for r in lo..<hi {
                let pos = RankOrder.candidate(keys[r])
                let l = candLabel[pos]
                if l < 0 { continue }
                nl += 1
                if l == queryLabel { ns += 1 }
                if shufLabel[pos] == queryLabel { nsh += 1 }
                if let lcaRow { depth += lcaRow[Int(l)] }
            }
            if nl == 0 { same[slot] = .nan; return }
            same[slot] = Double(ns) / Double(nl)
            shuf[slot] = Double(nsh) / Double(nl)
            lca[slot] = depth / Double(nl)
        }
        for b in 0..<BucketLayout.coarseCount { bucket(b, layout.coarseStart[b], layout.coarseStart[b + 1]) }
        for f in 0..<BucketLayout.fineCount { bucket(BucketLayout.coarseCount + f, layout.fineStart[f], layout.fineStart[f + 1]) }
        // 5. consistency: who is in the hardest and easiest m, observed and under a per-query shuffle
        let m = layout.consistencyCount
        slots.probability[local] = Double(m) / Double(n)
        guard m > 0 else { return }
        for r in 0..<m { hard[RankOrder.candidate(keys[r])] += 1 }
        for r in (n - m)..<n { easy[RankOrder.candidate(keys[r])] += 1 }
        shuffledControl(n: n, m: m, queryNumber: queryNumber, seed: options.seed)
    }

    /// The control: the query's similarities dealt to a uniformly random arrangement of its eligible
    /// candidates, i.e. 2m distinct eligible candidates drawn without replacement (partial Fisher–Yates
    /// on `permutation`, undone afterwards so it stays the identity).
    private func shuffledControl(n: Int, m: Int, queryNumber: Int, seed: UInt64) {
        var rng = RNG(seed: seed, stream: [0x636F_6E74_726F_6C, UInt64(queryNumber)])
        // move excluded positions behind the eligible ones (descending, so none is disturbed before its turn)
        let excludedDescending = excludedPositions.reversed()
        var tail = k - 1
        for p in excludedDescending { permutation.swapAt32(p, tail); tail -= 1 }
        for i in 0..<(2 * m) {
            let j = i + rng.below(n - i)
            swapLog[i] = Int32(j)
            permutation.swapAt32(i, j)
        }
        for i in 0..<m { hardControl[Int(permutation[i])] += 1 }
        for i in m..<(2 * m) { easyControl[Int(permutation[i])] += 1 }
        for i in stride(from: 2 * m - 1, through: 0, by: -1) { permutation.swapAt32(i, Int(swapLog[i])) }
        tail = k - excludedPositions.count
        for p in excludedPositions { permutation.swapAt32(p, tail); tail += 1 }
    }

    private func writeEmpty(local: Int, slots: QuerySlots) {
        for b in 0..<Hardness.slotsPerQuery { slots.same[local * Hardness.slotsPerQuery + b] = .nan }
        for e in 0..<Hardness.edgesPerQuery { slots.edge[local * Hardness.edgesPerQuery + e] = 0 }
        slots.probability[local] = 0
    }
}

extension UnsafeMutablePointer where Pointee == Int32 {
    @inline(__always) func swapAt32(_ i: Int, _ j: Int) { let t = self[i]; self[i] = self[j]; self[j] = t }
}
