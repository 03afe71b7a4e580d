import Contrastive
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// Queue and bank state changes and their files; the step statistics; the loss at initialisation;
/// results independent of the thread count.
final class MemoryAndStatsTests: XCTestCase {
    func testQueueWrapsAndRoundTrips() throws {
        let d = 3, K = 8, B = 4
        var queue = Queue(size: K, dim: d, seed: 0)
        for step in 0..<5 {
            let keys = (0..<(B * d)).map { Float(step * 100 + $0) }
            let idx = (0..<B).map { Int64(step * B + $0) }
            try queue.enqueue(keys: keys, indices: idx, labels: idx.map { $0 % 3 })
            let slot = (step * B) % K
            XCTAssertEqual(Array(queue.indices[slot..<(slot + B)]), idx)
            XCTAssertEqual(Array(queue.keys[(slot * d)..<((slot + B) * d)]), keys)
            XCTAssertEqual(queue.pointer, ((step + 1) * B) % K)
        }
        // After 5 batches of 4 into 8 slots: slots 0–3 hold batch 4, slots 4–7 batch 3.
        XCTAssertEqual(queue.indices, [16, 17, 18, 19, 12, 13, 14, 15])
        XCTAssertEqual(queue.labels, [1, 2, 0, 1, 0, 1, 2, 0])
        XCTAssertThrowsError(try queue.enqueue(keys: [Float](repeating: 0, count: 3 * d), indices: [0, 1, 2], labels: [0, 0, 0])) { e in
            XCTAssertTrue("\(e)".contains("multiple of the batch size"), "\(e)")
        }
        let dir = try TestSupport.scratchDir("contrastive-mem")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("q.safetensors.zst").path
        var w = TensorFileWriter()
        queue.add(to: &w)
        try w.write(to: path)
        XCTAssertEqual(try Queue.read(from: TensorFile.read(path)), queue)
        var bad = TensorFileWriter()
        bad.add("queue", queue.keys, shape: [K, d]); bad.add("queue_index", queue.indices, shape: [K])
        bad.add("queue_label", queue.labels, shape: [K]); bad.add("queue_ptr", [Int64(K)], shape: [1])
        try bad.write(to: path)
        XCTAssertThrowsError(try Queue.read(from: TensorFile.read(path))) { e in XCTAssertTrue("\(e)".contains(path), "\(e)") }
    }

    func testBankWriteIsMomentumNormaliseAndRoundTrips() throws {
        let d = 4, N = 6
        var bank = MemoryBank(count: N, dim: d, labels: (0..<N).map { Int64($0 % 2) }, seed: 1)
        let before = bank.features
        let f: [Float] = [1, 0, 0, 0, 0, 0, 0, 2]
        try bank.write(indices: [2, 5], features: f, momentum: 0.5)
        for (r, i) in [2, 5].enumerated() {
            var v = (0..<d).map { 0.5 * before[i * d + $0] + 0.5 * f[r * d + $0] }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot(); v = v.map { $0 / n }
            for c in 0..<d { XCTAssertEqual(bank.features[i * d + c], v[c], accuracy: 1e-6) }
        }
        for i in [0, 1, 3, 4] { XCTAssertEqual(Array(bank.features[(i * d)..<((i + 1) * d)]), Array(before[(i * d)..<((i + 1) * d)])) }
        try bank.write(indices: [0], features: [0, 3, 0, 0], momentum: 0)   // m = 0 (Ring code): replace
        XCTAssertEqual(Array(bank.features[0..<4]), [0, 1, 0, 0])
        let dir = try TestSupport.scratchDir("contrastive-bank")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("b.safetensors.zst").path
        var w = TensorFileWriter()
        bank.add(to: &w, prefix: "l_")
        try w.write(to: path)
        XCTAssertEqual(try MemoryBank.read(from: TensorFile.read(path), prefix: "l_"), bank)
        XCTAssertThrowsError(try MemoryBank.read(from: TensorFile.read(path)))     // no unprefixed bank
    }

    /// At initialisation (random unit embeddings, τ = 1 so logits are ≈ 0 with spread σ = 1/√d) the loss is
    /// ≈ ln(negatives + 1); the tolerance is 3σ/√B (the positive's spread) plus σ² (Jensen).
    func testInitialLossIsLogOfNegativesPlusOne() {
        let d = 128, B = 64, tau: Float = 1
        let tolerance = 3 / (Double(d) * Double(B)).squareRoot() + 1 / Double(d)
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 1)
        let k = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 2)
        let queue = Queue(size: 1024, dim: d, seed: 3)
        // HCL/DCL: with pos ≈ 1 and every weight ≈ 1, Ng ≈ (−τ⁺N + N)/(1−τ⁺) = N, so the same value.
        for kind in ["uniform", "hcl", "dcl"] {
            let moco = MoCoObjective.lossAndGradient(queries: q, positiveKeys: k, queue: queue, tau: tau, sampler: sampler(kind),
                                                     step: 0, seed: 0, threads: 2)
            XCTAssertEqual(moco.loss, log(1025), accuracy: tolerance, "moco \(kind)")
            XCTAssertEqual(moco.stats.negativesPerQuery, 1024)
        }
        let uni = UniformSampler()
        let sim = SimCLRObjective.lossAndGradient(z1: q, z2: k, dim: d, tau: tau, sampler: uni, step: 0, threads: 2)
        XCTAssertEqual(sim.loss, log(Double(2 * B - 1)), accuracy: tolerance)
        let bank = MemoryBank(count: 500, dim: d, seed: 4)
        let ir = IRObjective.lossAndGradient(features: q, indices: Array(0..<B), bank: bank, negatives: 256, tau: tau, sampler: uni,
                                             step: 0, seed: 0, threads: 2)
        XCTAssertEqual(ir.loss, log(257), accuracy: tolerance)
    }

    /// top-1, same-label fraction and percentiles against a direct computation on a small MoCo step.
    func testStatisticsMatchDirectComputation() throws {
        let d = 8, K = 64, B = 6
        let queue = Queue(keys: Embeddings.randomUnit(count: K, dim: d, seed: 9, stream: 3), indices: (0..<K).map { Int64($0) },
                          labels: (0..<K).map { $0 % 7 == 0 ? -1 : Int64($0 % 3) }, pointer: 0, dim: d)
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 9, stream: 1)
        let kp = Embeddings.randomUnit(count: B, dim: d, seed: 9, stream: 2)
        let labels: [Int64] = [0, 1, 2, 0, 1, -1]
        let band = try BandSampler(loPercent: 10, hiPercent: 50)
        let r = MoCoObjective.lossAndGradient(queries: q, positiveKeys: kp, queue: queue, queryLabels: labels, tau: 0.1,
                                              sampler: band, step: 0, seed: 0, threads: 2, percentiles: true)
        let kept = band.ranks(candidates: K)
        var top = 0, same = 0, labeled = 0, all: [Float] = []
        for i in 0..<B {
            let s = (0..<K).map { j in (0..<d).reduce(Float(0)) { $0 + q[i * d + $1] * queue.keys[j * d + $1] } }
            all += s
            let chosen = RankSelection.candidates(scores: s, ranks: kept)
            let pos = (0..<d).reduce(Float(0)) { $0 + q[i * d + $1] * kp[i * d + $1] }
            if chosen.allSatisfy({ s[$0] < pos }) { top += 1 }
            if labels[i] >= 0 { for j in chosen where queue.labels[j] >= 0 { labeled += 1; if queue.labels[j] == labels[i] { same += 1 } } }
        }
        XCTAssertEqual(r.stats.top1, Double(top) / Double(B))
        XCTAssertEqual(r.stats.sameLabelFraction ?? -1, Double(same) / Double(labeled), accuracy: 1e-12)
        let want = Percentiles.of(all)
        for (a, b) in zip(r.stats.percentiles, want) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(r.stats.percentiles.count, 4)
        XCTAssertEqual(r.stats.negativesPerQuery, Double(kept.count))
        let row = r.stats.logValues
        XCTAssertEqual(row.count, ContrastiveStats.logColumns.count)
        XCTAssertEqual(Array(row[9...10]), [String(kept.lowerBound), String(kept.upperBound)])
        XCTAssertEqual(Double(row[0])!, r.loss, accuracy: 1e-5 * r.loss)
    }

    /// Same inputs, seed and step → bit-identical results whatever the thread count.
    func testResultsIndependentOfThreadCount() {
        let d = 32, B = 16
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 2, stream: 1)
        let k = Embeddings.randomUnit(count: B, dim: d, seed: 2, stream: 2)
        let queue = Queue(size: 256, dim: d, seed: 2)
        let flags = ["--mochi-n", "64", "--mochi-s", "4", "--mochi-s-prime", "4"]
        for kind in SamplerOptions.names {
            let s = sampler(kind, flags, epochs: 2, stepsPerEpoch: 10)
            let one = MoCoObjective.lossAndGradient(queries: q, positiveKeys: k, queue: queue, tau: 0.2, sampler: s, step: 5, seed: 3, threads: 1)
            let two = MoCoObjective.lossAndGradient(queries: q, positiveKeys: k, queue: queue, tau: 0.2, sampler: s, step: 5, seed: 3, threads: 3)
            XCTAssertEqual(one.loss, two.loss, "\(kind)")
            XCTAssertEqual(one.gradQueries, two.gradQueries, "\(kind)")
            XCTAssertEqual(one.mochi, two.mochi, "\(kind)")
            XCTAssertEqual(one.chosen, two.chosen, "\(kind)")
        }
        let bank = MemoryBank(count: 300, dim: d, seed: 2)
        for kind in ["uniform", "ring", "subset"] {
            let s = sampler(kind, flags)
            let one = IRObjective.lossAndGradient(features: q, indices: Array(0..<B), bank: bank, negatives: 40, tau: 0.2, sampler: s,
                                                  step: 1, seed: 3, threads: 1)
            let two = IRObjective.lossAndGradient(features: q, indices: Array(0..<B), bank: bank, negatives: 40, tau: 0.2, sampler: s,
                                                  step: 1, seed: 3, threads: 2)
            XCTAssertEqual(one.negatives, two.negatives); XCTAssertEqual(one.gradFeatures, two.gradFeatures)
        }
    }
}
