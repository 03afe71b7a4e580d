import NN
import StageKit
import XCTest

/// The whole encoder (every convolution, batch norm, residual and the head) by the fast algorithms
/// against the direct reference, forward and backward, at a training shape. In Double the two differ
/// only by rounding, so any real disagreement of a fast path shows; in Float the gap is what a run sees.
final class EncoderFastPathTests: XCTestCase {
    func compare<T: GemmScalar>(_: T.Type, width: Int, batch: Int, splits: Int, threads: Int) -> (embedding: Double, gradient: Double, worst: String) {
        let saved = NNRuntime.threads
        defer { NNRuntime.threads = saved }
        NNRuntime.threads = threads
        let fast = Encoder<T>(inChannels: 1, width: width, bnSplits: splits, seed: 11)
        let direct = Encoder<T>(inChannels: 1, width: width, bnSplits: splits, seed: 11)
        direct.convolutionPolicy = .direct
        var rng = RNG(seed: 3)
        let input = Tensor<T>([1, batch, 16, 16])                                   // [C, B, H, W]
        for i in 0..<input.count { input[i] = T(Double(rng.below(1000)) / 500 - 1) }
        let dEmbedding = Tensor<T>([batch, 128])                                     // [B, 128]
        for i in 0..<dEmbedding.count { dEmbedding[i] = T(Double(rng.below(1000)) / 500 - 1) }
        var result: [[T]] = []
        for e in [fast, direct] {
            e.zeroGrad()
            let z = e.forward(input, training: true).embedding.array
            e.backward(dEmbedding)
            result.append(z)
        }
        func rel(_ a: [T], _ b: [T]) -> Double {
            let scale = b.map { abs(Double($0)) }.max() ?? 0
            return zip(a, b).map { abs(Double($0) - Double($1)) }.max()! / max(scale, 1e-300)
        }
        var worst = (0.0, "")
        for (p, q) in zip(fast.parameters, direct.parameters) {
            let r = rel(p.grad.array, q.grad.array)
            if r > worst.0 { worst = (r, p.name) }
        }
        return (rel(result[0], result[1]), worst.0, worst.1)
    }

    func testFastPathsMatchTheReferenceInDouble() {
        for threads in [1, 2] {
            for (batch, splits) in [(8, 1), (12, 2)] {
                let r = compare(Double.self, width: 8, batch: batch, splits: splits, threads: threads)
                XCTAssertLessThan(r.embedding, 1e-10, "embedding, batch \(batch), splits \(splits), threads \(threads)")
                XCTAssertLessThan(r.gradient, 1e-8, "gradient of \(r.worst), batch \(batch), splits \(splits), threads \(threads)")
            }
        }
        // Float: measured 8e-7 (embedding) and 3e-6 (worst parameter gradient) at batch 32, 20×20.
        let r = compare(Float.self, width: 8, batch: 12, splits: 2, threads: 2)
        XCTAssertLessThan(r.embedding, 1e-5)
        XCTAssertLessThan(r.gradient, 1e-4, "gradient of \(r.worst)")
    }

    /// Evaluation with the batch norms fused into the Winograd output pass gives exactly the values of the
    /// separate passes: every block kind (identity and downsample shortcut), Float and Double, 1 and 3 threads.
    func testFusedEvaluationNormIsIdenticalToSeparatePasses() {
        func run<T: GemmScalar>(_: T.Type, threads: Int, fused: Bool, largeTiles: Bool = false) -> [[T]] {
            let saved = NNRuntime.threads
            defer { NNRuntime.threads = saved }
            NNRuntime.threads = threads
            let encoder = Encoder<T>(inChannels: 1, width: 4, bnSplits: 2, seed: 13)
            encoder.convolutionPolicy.fusedEvaluationNorm = fused
            encoder.convolutionPolicy.winogradTilesEverywhere(large: largeTiles)
            for (i, bn) in encoder.backbone.norms.enumerated() {           // running statistics and affine in general position
                let s = 500 + UInt64(i) * 4
                bn.gamma.value.set(randomArray(bn.channels, seed: s, scale: 0.3).map { T($0 + 1) })
                bn.beta.value.set(randomArray(bn.channels, seed: s + 1, scale: 0.3).map { T($0) })
                bn.runningMean.value.set(randomArray(bn.channels, seed: s + 2, scale: 0.2).map { T($0) })
                bn.runningVar.value.set(randomArray(bn.channels, seed: s + 3, scale: 0.3).map { T(abs($0) + 0.5) })
            }
            var rng = RNG(seed: 4)
            let input = Tensor<T>([1, 6, 18, 18])                                    // [C, B, H, W]
            for i in 0..<input.count { input[i] = T(Double(rng.below(1000)) / 500 - 1) }
            let out = encoder.forward(input, training: false)
            return [out.feature.array, out.embedding.array]
        }
        func firstDifference<T: GemmScalar>(_ a: [[T]], _ b: [[T]]) -> String? {
            for (part, (x, y)) in zip(["feature", "embedding"], zip(a, b)) {
                if x.count != y.count { return "\(part): \(x.count) vs \(y.count) values" }
                if let i = x.indices.first(where: { x[$0] != y[$0] || x[$0].sign != y[$0].sign }) { return "\(part)[\(i)]: \(x[i]) fused vs \(y[i])" }
            }
            return nil
        }
        for threads in [1, 3] {
            XCTAssertNil(firstDifference(run(Float.self, threads: threads, fused: true), run(Float.self, threads: threads, fused: false)),
                         "Float, \(threads) threads")
            XCTAssertNil(firstDifference(run(Float.self, threads: threads, fused: true, largeTiles: true),
                                         run(Float.self, threads: threads, fused: false, largeTiles: true)),
                         "Float, F(4×4, 3×3), \(threads) threads")
            XCTAssertNil(firstDifference(run(Double.self, threads: threads, fused: true), run(Double.self, threads: threads, fused: false)),
                         "Double, \(threads) threads")
        }
    }
}
