import Analysis
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest
import Ranking

final class HardnessTests: XCTestCase {
    /// Bucket statistics, cut-offs, consistency counts and the histogram equal an independent NumPy
    /// computation (full lexsort per query) on fixed data: K = 17 234 (not a multiple of 100, large enough
    /// for the radix pre-partition, with many exact ties), a queue
    /// checkpoint as candidates, unlabelled items, self-exclusion and the Fashion-MNIST hierarchy.
    func testBucketStatisticsMatchNumPy() throws {
        guard TestSupport.pythonHas(["numpy", "safetensors", "zstandard"]) else { throw XCTSkip("numpy/safetensors/zstandard missing") }
        let dir = try TestSupport.scratchDir("hardness-ref")
        let q = 120, k = 17_234
        let queries = dir.appendingPathComponent("q.safetensors.zst").path
        let candidates = dir.appendingPathComponent("c.safetensors.zst").path
        try Fixtures.writeFeatures(queries, vectors: Fixtures.quantised(count: q, seed: 3, stream: 1), dim: 8,
                                   labels: Fixtures.labels(count: q, seed: 3, stream: 2), index: (0..<Int64(q)).map { $0 * 3 })
        try Fixtures.writeQueue(candidates, vectors: Fixtures.quantised(count: k, seed: 3, stream: 3), dim: 8,
                                labels: Fixtures.labels(count: k, seed: 3, stream: 4), index: (0..<Int64(k)).map { $0 })
        let out = dir.appendingPathComponent("h.safetensors.zst").path
        let common = ["--queries", queries, "--candidates", candidates, "--exclude-self", "--consistency-percent", "7",
                      "--hierarchy", Fixtures.hierarchyPath]
        let run = try TestSupport.runStage("hardness", common + ["--out", out, "--chunk", "64", "--threads", "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let ref = try TestSupport.python("ref_analysis_hardness.py", common)
        XCTAssertEqual(ref.status, 0, ref.stderr)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ref.stdout.utf8)) as? [String: Any])
        let file = try TensorFile.read(out)
        for name in ["coarse_same_class", "fine_same_class", "coarse_lca_depth", "fine_lca_depth",
                     "coarse_edge_similarity", "fine_edge_similarity"] {
            let got = try file.array(name, as: Double.self)
            let want = (expected[name] as! [Any]).map { ($0 as? NSNumber)?.doubleValue ?? .nan }
            XCTAssertEqual(got.count, want.count, name)
            for (i, (g, w)) in zip(got, want).enumerated() {
                if w.isNaN { XCTAssertTrue(g.isNaN, "\(name)[\(i)]: \(g) vs NaN") }
                else { XCTAssertEqual(g, w, accuracy: 1e-12, "\(name)[\(i)]") }
            }
        }
        for name in ["hard_count", "easy_count", "eligible_count", "histogram_counts"] {
            XCTAssertEqual(try file.array(name, as: Int64.self), (expected[name] as! [NSNumber]).map { $0.int64Value }, name)
        }
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: HardnessStage.summaryPath(for: out)))) as? [String: Any])
        let hard = (summary["consistency"] as! [String: Any])["hard"] as! [String: Any]
        XCTAssertEqual((hard["dispersion_ratio"] as! NSNumber).doubleValue, (expected["hard_dispersion_ratio"] as! NSNumber).doubleValue, accuracy: 1e-9)
        XCTAssertNotNil(file.metadata["inputs"].flatMap { $0.contains("queries") ? $0 : nil }, "provenance records the inputs")
        // identical inputs, seed and threads → identical bytes
        let out2 = dir.appendingPathComponent("h2.safetensors.zst").path
        XCTAssertEqual(try TestSupport.runStage("hardness", common + ["--out", out2, "--chunk", "64", "--threads", "2"]).status, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: out), FileManager.default.contents(atPath: out2))
    }

    /// Labels planted so that near neighbours share a class: the hardest buckets are mostly same-class,
    /// far above the shuffled-label chance level and above the middle buckets.
    func testPlantedNeighboursRaiseSameClassInHardestBuckets() {
        let data = Fixtures.clustered(count: 3000, dim: 32, classes: 10, noise: 1.5, seed: 5)
        let set = EmbeddingSet(vectors: data.vectors, labels: data.labels, index: (0..<3000).map(Int64.init), dim: 32)
        var o = HardnessOptions()
        o.excludeSelf = true
        o.threads = 2
        let r = Hardness.compute(queries: set, candidates: set, hierarchy: try? ClassHierarchy.load(Fixtures.hierarchyPath), options: o)
        // chance level is 0.1; the hardest buckets are mostly same-class and the fraction falls with difficulty
        XCTAssertGreaterThan(r.coarseSameClass[0], 0.6)
        XCTAssertGreaterThan(r.fineSameClass[0], 0.6)
        XCTAssertGreaterThan(r.coarseSameClass[0], r.coarseSameClass[5])
        XCTAssertGreaterThan(r.coarseSameClass[5], r.coarseSameClass[10])
        XCTAssertLessThan(r.coarseSameClass[50], 0.1)
        XCTAssertEqual(r.coarseSameClassShuffled[0], 0.1, accuracy: 0.03)
        XCTAssertEqual(r.coarseSameClassShuffled[50], 0.1, accuracy: 0.03)
        XCTAssertGreaterThan(r.coarseLCADepth[0], r.coarseLCADepth[50])
    }

    /// On data without structure the consistency counts match the Binomial null (dispersion ≈ 1), and the
    /// shuffled control does too; planting "hub" candidates close to every query breaks the null.
    func testConsistencyMatchesNullOnShuffledData() {
        var rng = RNG(seed: 11, stream: [1])
        let d = 256, q = 2000, k = 1000
        func unit(_ n: Int) -> [Float] {
            var v = (0..<(n * d)).map { _ in Float(rng.normal()) }
            for i in 0..<n { let s = (0..<d).reduce(Float(0)) { $0 + v[i * d + $1] * v[i * d + $1] }.squareRoot(); for j in 0..<d { v[i * d + j] /= s } }
            return v
        }
        let queries = EmbeddingSet(vectors: unit(q), labels: [Int64](repeating: 0, count: q), index: (0..<Int64(q)).map { $0 }, dim: d)
        var cand = unit(k)
        var o = HardnessOptions()
        o.threads = 2
        o.consistencyPercent = 5
        let flat = Hardness.compute(queries: queries, candidates: EmbeddingSet(vectors: cand, labels: [Int64](repeating: 1, count: k), index: (0..<Int64(k)).map { $0 }, dim: d), hierarchy: nil, options: o)
        for key in ["hard", "easy", "hard_control", "easy_control"] {
            XCTAssertEqual(flat.consistency[key]!.dispersionRatio, 1, accuracy: 0.15, key)
            XCTAssertLessThanOrEqual(flat.consistency[key]!.exceedCount, 5, key)
        }
        // hubs: queries share a direction u and ten candidates point along it, so they are hard for nearly
        // every query; the counts are then far more dispersed than the null, the control's are not
        let u = unit(1)
        var shared = [Float](repeating: 0, count: q * d)             // [q, d]
        for i in 0..<q { for j in 0..<d { shared[i * d + j] = 0.6 * u[j] + 0.8 * queries.vectors[i * d + j] } }
        for h in 0..<10 { for j in 0..<d { cand[h * d + j] = u[j] } }
        let hubs = Hardness.compute(queries: EmbeddingSet(vectors: shared, labels: queries.labels, index: queries.index, dim: d),
                                    candidates: EmbeddingSet(vectors: cand, labels: [Int64](repeating: 1, count: k), index: (0..<Int64(k)).map { $0 }, dim: d), hierarchy: nil, options: o)
        XCTAssertGreaterThan(hubs.consistency["hard"]!.dispersionRatio, 2)
        XCTAssertGreaterThanOrEqual(hubs.consistency["hard"]!.exceedCount, 10)
        XCTAssertEqual(hubs.consistency["hard_control"]!.dispersionRatio, 1, accuracy: 0.15)
    }

    /// Both selection paths put every requested rank in place: compare with a full sort.
    func testSelectionMatchesSort() {
        var rng = RNG(seed: 2, stream: [0])
        for n in [5, 1000, 20_000] {
            // half on a coarse grid (ties), half continuous (several values per radix bin)
            let sims = (0..<n).map { _ in rng.below(2) == 0 ? Float(rng.below(50)) / 64 - 0.3 : Float(rng.uniform(-0.3, 0.5)) }
            var keys = sims.enumerated().map { RankOrder.key($0.element, $0.offset) }
            let sorted = keys.sorted()
            let ranks = Array(Set((0..<40).map { _ in rng.below(n) } + [0, n - 1])).sorted()
            var scratch = [UInt64](repeating: 0, count: n)
            var counts = [Int](repeating: 0, count: 257)
            keys.withUnsafeMutableBufferPointer { k in ranks.withUnsafeBufferPointer { r in scratch.withUnsafeMutableBufferPointer { s in counts.withUnsafeMutableBufferPointer { c in
                partitionAtRanks(k.baseAddress!, n, r.baseAddress!, r.count, lowest: sims.min()!, highest: sims.max()!,
                                 scratch: s.baseAddress!, counts: c.baseAddress!, bins: 256)
            } } } }
            for r in ranks {
                XCTAssertEqual(keys[r], sorted[r], "n \(n) rank \(r)")
                XCTAssertEqual(RankOrder.similarity(keys[r]), sims[RankOrder.candidate(keys[r])])
            }
            XCTAssertEqual(keys.sorted(), sorted, "a permutation of the keys")
            // everything before a requested rank is smaller (so buckets are exact segments)
            if let r = ranks.first(where: { $0 > 0 }) { XCTAssertLessThan(keys[0..<r].max()!, keys[r]) }
        }
    }

    /// The closed-form bucket of a rank agrees with the start-rank definition for any K.
    func testBucketLayoutMapping() {
        for k in [1, 7, 99, 100, 101, 1234, 4096] {
            let layout = BucketLayout(k: k, consistencyFraction: 0.05)
            for r in 0..<k {
                let b = BucketLayout.coarseBucket(rank: r, k: k)
                XCTAssertTrue(layout.coarseStart[b] <= r && r < layout.coarseStart[b + 1], "k \(k) rank \(r) bucket \(b)")
            }
        }
    }

    func testFashionMNISTHierarchy() throws {
        let h = try ClassHierarchy.load(Fixtures.hierarchyPath)
        XCTAssertEqual(h.count, 10)
        let tshirt = 0, trouser = 1, sandal = 5, shirt = 6, bag = 8, boot = 9
        XCTAssertEqual(h.lca(tshirt, shirt), 2)      // item → clothing → tops
        XCTAssertEqual(h.lca(tshirt, trouser), 1)    // clothing
        XCTAssertEqual(h.lca(tshirt, sandal), 0)     // root
        XCTAssertEqual(h.lca(sandal, boot), 1)       // footwear
        XCTAssertEqual(h.lca(bag, bag), 2)           // the class itself
        XCTAssertEqual(h.lca(shirt, shirt), 3)
        XCTAssertThrowsError(try ClassHierarchy(classes: ["a", "b"], parents: ["a": "x", "b": "y"]))
    }

    /// Candidates from a memory bank (index defaults to the row) and a queue with unfilled slots (index −1, dropped).
    func testBankAndQueueLoading() throws {
        let dir = try TestSupport.scratchDir("hardness-load")
        var w = TensorFileWriter()
        w.add("bank", [Float](repeating: 0.5, count: 6 * 4), shape: [6, 4])
        w.add("bank_label", [Int64]([0, 1, 2, 3, 4, 5]), shape: [6])
        try w.write(to: dir.path + "/bank.safetensors.zst")
        let bank = try EmbeddingSet.load(dir.path + "/bank.safetensors.zst")
        XCTAssertEqual(bank.tensorName, "bank")
        XCTAssertEqual(bank.index, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(bank.labels, [0, 1, 2, 3, 4, 5])
        try Fixtures.writeQueue(dir.path + "/queue.safetensors.zst", vectors: (0..<(5 * 8)).map { Float($0) }, dim: 8,
                                labels: [3, 4, -1, 5, -1], index: [10, 11, -1, 12, -1])
        let queue = try EmbeddingSet.load(dir.path + "/queue.safetensors.zst")
        XCTAssertEqual(queue.count, 3)
        XCTAssertEqual(queue.index, [10, 11, 12])
        XCTAssertEqual(queue.labels, [3, 4, 5])
        XCTAssertEqual(Array(queue.vectors[16..<24]), (24..<32).map { Float($0) }, "row 3 moved up to row 2")
    }

    func testBadInputsFailWithOneLineAndNoOutput() throws {
        let dir = try TestSupport.scratchDir("hardness-bad")
        let q = dir.appendingPathComponent("q.safetensors.zst").path
        try Fixtures.writeFeatures(q, vectors: Fixtures.quantised(count: 10, seed: 1, stream: 1), dim: 8, labels: [Int64](repeating: 0, count: 10), index: (0..<10).map(Int64.init))
        let out = dir.appendingPathComponent("h.safetensors.zst").path
        let missing = try TestSupport.runStage("hardness", ["--queries", q, "--candidates", dir.path + "/nope.safetensors.zst", "--out", out])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nope.safetensors.zst"), missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        let badPercent = try TestSupport.runStage("hardness", ["--queries", q, "--candidates", q, "--consistency-percent", "80", "--out", out])
        XCTAssertNotEqual(badPercent.status, 0)
        let wide = dir.appendingPathComponent("wide.safetensors.zst").path
        try Fixtures.writeFeatures(wide, vectors: [Float](repeating: 0.1, count: 10 * 16), dim: 16, labels: [Int64](repeating: 0, count: 10), index: (0..<10).map(Int64.init))
        let mismatch = try TestSupport.runStage("hardness", ["--queries", q, "--candidates", wide, "--out", out])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.stderr.contains("dimension"), mismatch.stderr)
        // a checkpoint without a queue or bank (SimCLR's): one short line naming a few of its tensors
        let weights = dir.appendingPathComponent("weights.safetensors.zst").path
        var w = TensorFileWriter(metadata: ["stage": "test"])
        for i in 0..<40 { w.add("encoder.layer\(i).weight", [Float](repeating: 0, count: 4), shape: [4]) }
        try w.write(to: weights)
        let noQueue = try TestSupport.runStage("hardness", ["--queries", q, "--candidates", weights, "--out", out])
        XCTAssertNotEqual(noQueue.status, 0)
        XCTAssertTrue(noQueue.stderr.contains("weights.safetensors.zst: has none of the tensors projection, queue, bank"), noQueue.stderr)
        XCTAssertTrue(noQueue.stderr.contains("… 40 in all"), noQueue.stderr)
        XCTAssertEqual(noQueue.stderr.split(separator: "\n").count, 1, noQueue.stderr)
        XCTAssertLessThan(noQueue.stderr.count, 400, noQueue.stderr)
        XCTAssertEqual(TestSupport.listing(dir), ["q.safetensors.zst", "weights.safetensors.zst", "wide.safetensors.zst"])
    }
}
