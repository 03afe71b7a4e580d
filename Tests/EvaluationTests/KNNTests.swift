import Evaluation
import Foundation
import StageKit
import TestSupport
import XCTest

final class KNNTests: XCTestCase {
    /// Continuous features: the Swift kNN (any chunk size, through the library and the binary) gives
    /// the same class rankings as the NumPy reference.
    func testMatchesNumPyOnRandomFeatures() throws {
        try Fixture.requirePython()
        let dir = try TestSupport.scratchDir("knn")
        let train = Fixture.clusters(labels: Fixture.cyclicLabels(1000, classes: 7), dim: 24, noise: 1.6, seed: 1)
        let test = Fixture.clusters(labels: (0..<300).map { Int64(($0 * 5) % 7) }, dim: 24, noise: 1.6, seed: 2)
        let trainPath = dir.appendingPathComponent("train.safetensors.zst").path
        let testPath = dir.appendingPathComponent("test.safetensors.zst").path
        try Fixture.writeFeatures(trainPath, train)
        try Fixture.writeFeatures(testPath, test)

        for (k, tau) in [(200, 0.1), (37, 0.07)] {
            let ref = try Fixture.python("ref_eval_knn.py", [trainPath, testPath, "--k", "\(k)", "--tau", "\(tau)"])
            let refRanking = (ref["ranking"] as! [[Int]]).flatMap { $0 }
            let refTop1 = ref["top1"] as! Double
            XCTAssertGreaterThan(refTop1, 30, "the fixture should be learnable")
            XCTAssertLessThan(refTop1, 99, "the fixture should not be trivial")
            for chunk in [1, 7, 64, 300, 0] {
                let out = WeightedKNN.evaluate(train: train, test: test, classes: 7,
                                               parameters: KNNParameters(k: k, tau: tau, chunkRows: chunk), threads: 2)
                XCTAssertEqual(out.ranking.map(Int.init), refRanking, "k \(k) chunk \(chunk)")
                XCTAssertEqual(out.top1, refTop1, accuracy: 1e-9)
                XCTAssertEqual(out.top5, ref["top5"] as! Double, accuracy: 1e-9)
            }
            let outPath = dir.appendingPathComponent("knn-\(k).json").path
            let r = try TestSupport.runStage("knn", ["--train", trainPath, "--test", testPath, "--k", "\(k)", "--tau", "\(tau)",
                                                     "--chunk", "7", "--out", outPath])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.hasPrefix("knn: top1"), r.stdout)
            let results = try Fixture.jsonFile(outPath)["results"] as! [String: Any]
            XCTAssertEqual(results["top1"] as! Double, refTop1, accuracy: 1e-9)
            XCTAssertEqual(results["top5"] as! Double, ref["top5"] as! Double, accuracy: 1e-9)
        }
    }

    /// Features on a lattice where many similarities tie exactly (all arithmetic exact): neighbour
    /// lists, tie-breaking by train index, and class rankings equal the reference's.
    func testTiesBreakByTrainIndexLikeNumPy() throws {
        try Fixture.requirePython()
        func lattice(_ n: Int, seed: UInt64) -> LabeledFeatures {
            // 4 of 6 coordinates set to ±1: norm 2, so unit vectors have entries ±0.5 and dot products
            // are exact multiples of 0.25.
            var rng = RNG(seed: seed)
            var values = [Float](repeating: 0, count: n * 6)
            var labels = [Int64](repeating: 0, count: n)
            for i in 0..<n {
                var dims = Array(0..<6)
                for s in stride(from: 5, to: 0, by: -1) { dims.swapAt(s, rng.below(s + 1)) }
                for j in dims.prefix(4) { values[i * 6 + j] = rng.below(2) == 0 ? -1 : 1 }
                labels[i] = Int64((dims[0] + (values[i * 6 + dims[0]] > 0 ? 1 : 0)) % 4)
            }
            return LabeledFeatures(values: values, labels: labels, count: n, dim: 6)
        }
        let dir = try TestSupport.scratchDir("knn-ties")
        let train = lattice(120, seed: 3), test = lattice(30, seed: 4)
        let trainPath = dir.appendingPathComponent("train.safetensors.zst").path
        let testPath = dir.appendingPathComponent("test.safetensors.zst").path
        try Fixture.writeFeatures(trainPath, train)
        try Fixture.writeFeatures(testPath, test)
        let ref = try Fixture.python("ref_eval_knn.py", [trainPath, testPath, "--k", "15", "--tau", "0.1", "--neighbours"])
        for chunk in [4, 0] {
            let out = WeightedKNN.evaluate(train: train, test: test, classes: 4, parameters: KNNParameters(k: 15, tau: 0.1, chunkRows: chunk),
                                           threads: 2, keepNeighbours: true)
            XCTAssertEqual(out.neighbours!.map(Int.init), (ref["neighbours"] as! [[Int]]).flatMap { $0 })
            XCTAssertEqual(out.ranking.map(Int.init), (ref["ranking"] as! [[Int]]).flatMap { $0 })
        }
    }

    /// k larger than the train set uses every train item; a single test row works.
    func testSmallEdgeCases() throws {
        let train = LabeledFeatures(values: [1, 0, 0, 1, 1, 1], labels: [0, 1, 1], count: 3, dim: 2)
        let test = LabeledFeatures(values: [1, 0.1], labels: [0], count: 1, dim: 2)
        let out = WeightedKNN.evaluate(train: train, test: test, classes: 2, parameters: KNNParameters(k: 10, tau: 0.1), threads: 1,
                                       keepNeighbours: true)
        XCTAssertEqual(out.kUsed, 3)
        XCTAssertEqual(out.neighbours!, [0, 2, 1])
        // class 0: exp(s0/τ) with s0 ≈ 0.995 beats class 1: exp(0.77/τ) + exp(0.0995/τ)
        XCTAssertEqual(out.predictions, [0])
        XCTAssertEqual(out.top1, 100)
    }
}
