import Foundation
import TestSupport
import StageKit
import TensorFiles

/// Small data sets the analysis tests share, written as features / checkpoint files.
enum Fixtures {
    /// Embeddings on a grid (multiples of 1/1024 in [−1/4, 1/4], 8 dims): every dot product is a multiple
    /// of 2⁻²⁰ below 2⁻¹ and so exact in float32 whatever the summation order; there are still many exact
    /// ties, so ranks (ties broken by position) are unambiguous for any implementation.
    static func quantised(count: Int, seed: UInt64, stream: UInt64) -> [Float] {
        var rng = RNG(seed: seed, stream: [stream])
        return (0..<(count * 8)).map { _ in Float(rng.below(513) - 256) / 1024 }
    }

    static func labels(count: Int, seed: UInt64, stream: UInt64) -> [Int64] {
        var rng = RNG(seed: seed, stream: [stream])
        return (0..<count).map { _ in Int64(rng.below(11)) - 1 }      // −1 … 9 (−1 = unlabelled)
    }

    static func writeFeatures(_ path: String, vectors: [Float], dim: Int, labels: [Int64], index: [Int64]) throws {
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("projection", vectors, shape: [labels.count, dim])
        w.add("labels", labels, shape: [labels.count])
        w.add("index", index, shape: [labels.count])
        try w.write(to: path)
    }

    static func writeQueue(_ path: String, vectors: [Float], dim: Int, labels: [Int64], index: [Int64]) throws {
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("queue", vectors, shape: [labels.count, dim])
        w.add("queue_label", labels, shape: [labels.count])
        w.add("queue_index", index, shape: [labels.count])
        try w.write(to: path)
    }

    /// Unit vectors: `count` points around `classes` random centres (spread `noise`), labels = centre.
    static func clustered(count: Int, dim: Int, classes: Int, noise: Double, seed: UInt64) -> (vectors: [Float], labels: [Int64]) {
        var rng = RNG(seed: seed, stream: [99])
        let centres = (0..<(classes * dim)).map { _ in rng.normal() }
        var v = [Float](repeating: 0, count: count * dim)
        var labels = [Int64](repeating: 0, count: count)
        for i in 0..<count {
            let c = rng.below(classes)
            labels[i] = Int64(c)
            var norm = 0.0
            var row = [Double](repeating: 0, count: dim)
            for j in 0..<dim { row[j] = centres[c * dim + j] + noise * rng.normal(); norm += row[j] * row[j] }
            for j in 0..<dim { v[i * dim + j] = Float(row[j] / norm.squareRoot()) }
        }
        return (v, labels)
    }

    static var hierarchyPath: String { TestSupport.repoRoot.appendingPathComponent("resources/hierarchy/fashion-mnist.json").path }
}
