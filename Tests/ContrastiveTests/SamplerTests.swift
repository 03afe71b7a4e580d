import Contrastive
import StageKit
import XCTest

/// Rank selection against a naive full sort, the SPEC §2 bounds at their edges, the anneal formula,
/// and pairing validation.
final class SamplerTests: XCTestCase {
    /// Naive: sort all candidates by (descending score, ascending index), take the rank range.
    func naive(_ scores: [Float], _ ranks: Range<Int>, excluding: [Int] = []) -> [Int] {
        let pool = scores.indices.filter { !excluding.contains($0) }
        let order = pool.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        let r = min(ranks.lowerBound, order.count)..<min(ranks.upperBound, order.count)
        return Array(order[r]).sorted()
    }

    func testSelectionMatchesFullSortIncludingTies() {
        var rng = RNG(seed: 7)
        for trial in 0..<400 {
            let k = 1 + rng.below(trial < 200 ? 40 : 3000)
            // few distinct values → many ties; otherwise continuous
            let distinct = trial % 3 == 0 ? 1 + rng.below(4) : 0
            let scores: [Float] = (0..<k).map { _ in distinct > 0 ? Float(rng.below(distinct)) * 0.25 - 0.5 : Float(rng.uniform(-1, 1)) }
            let lo = rng.below(k + 1), hi = lo + rng.below(k + 1 - lo)
            let excluding = k > 3 && trial % 2 == 0 ? [rng.below(k), rng.below(k)] : []
            XCTAssertEqual(RankSelection.candidates(scores: scores, ranks: lo..<hi, excluding: excluding),
                           naive(scores, lo..<hi, excluding: excluding), "K \(k) ranks \(lo)..<\(hi) ties \(distinct)")
        }
        // Adversarial for the sampled threshold: the strided sample sees only the 1s, so the front part
        // is too small and selection must fall back to the whole pool; and a case where ties fill the front.
        let stride = 4096 / 128
        let spiky: [Float] = (0..<4096).map { $0 % stride == 0 ? 1 : Float($0 % 97) / 200 }
        for r in [40..<409, 0..<1000, 100..<4096, 0..<4096, 127..<129, 409..<4095, 3000..<4000, 2047..<2049, 1..<4095] {
            XCTAssertEqual(RankSelection.candidates(scores: spiky, ranks: r, excluding: [0, 5]), naive(spiky, r, excluding: [0, 5]), "\(r)")
            let flat = [Float](repeating: 0.25, count: 700)
            XCTAssertEqual(RankSelection.candidates(scores: flat, ranks: r), naive(flat, r), "\(r)")
        }
        // Large pools: boundaries near either end and in the middle (each bucket path of selectRanks).
        for trial in 0..<60 {
            let k = 512 + rng.below(6000)
            let scores: [Float] = (0..<k).map { _ in trial % 4 == 0 ? Float(rng.below(50)) : Float(rng.normal()) }
            let cuts = [0, 1, k / 10, k / 2, k / 2 + 1, k - k / 10, k - 1, k, rng.below(k + 1), rng.below(k + 1)]
            let a = cuts[rng.below(cuts.count)], b = cuts[rng.below(cuts.count)]
            let r = min(a, b)..<max(a, b)
            XCTAssertEqual(RankSelection.candidates(scores: scores, ranks: r, excluding: [3]), naive(scores, r, excluding: [3]), "K \(k) \(r)")
        }
        // ±0 tie and break by index
        XCTAssertEqual(RankSelection.candidates(scores: [-0.0, 0.0, 0.0, 1], ranks: 1..<3), [0, 1])
    }

    func testRingBoundsPerSpec() {
        // [⌊inner·⌊outer·K⌋⌋, ⌊outer·K⌋)
        XCTAssertEqual(RingSampler.ranks(candidates: 4096, outer: 0.1, inner: 0.1), 40..<409)
        XCTAssertEqual(RingSampler.ranks(candidates: 4096, outer: 1, inner: 0), 0..<4096)
        XCTAssertEqual(RingSampler.ranks(candidates: 1037, outer: 1, inner: 0.5), 518..<1037)
        XCTAssertEqual(RingSampler.ranks(candidates: 1037, outer: 0.3, inner: 0), 0..<311)
        XCTAssertEqual(RingSampler.ranks(candidates: 100, outer: 0.57, inner: 0.1), 5..<57)    // 0.57·100 is 56.99… in binary
        XCTAssertEqual(RingSampler.ranks(candidates: 7, outer: 0.1, inner: 0.1), 0..<0)
        var rng = RNG(seed: 3)
        for _ in 0..<2000 {
            let k = 1 + rng.below(70000), outer = max(1e-3, rng.uniform()), inner = rng.uniform() * 0.999
            let r = RingSampler.ranks(candidates: k, outer: outer, inner: inner)
            let hi = Int((outer * Double(k) + 1e-9).rounded(.down))
            XCTAssertEqual(r, Int((inner * Double(hi) + 1e-9).rounded(.down))..<hi)
        }
    }

    func testBandBoundsPerSpec() {
        XCTAssertEqual(BandSampler.ranks(candidates: 4096, loPercent: 0, hiPercent: 5), 0..<204)
        XCTAssertEqual(BandSampler.ranks(candidates: 4096, loPercent: 5, hiPercent: 100), 204..<4096)
        XCTAssertEqual(BandSampler.ranks(candidates: 4096, loPercent: 5, hiPercent: 10), 204..<409)
        XCTAssertEqual(BandSampler.ranks(candidates: 4096, loPercent: 0.1, hiPercent: 100), 4..<4096)
        XCTAssertEqual(BandSampler.ranks(candidates: 150, loPercent: 0, hiPercent: 100), 0..<150)
        XCTAssertEqual(BandSampler.ranks(candidates: 150, loPercent: 33, hiPercent: 67), 49..<100)
        XCTAssertEqual(BandSampler.ranks(candidates: 1000, loPercent: 0.1, hiPercent: 0.2), 1..<2)
    }

    /// The sampler applied end to end inside MoCo keeps exactly those ranks (stats report the count).
    func testMoCoUsesExactlyTheKeptRanks() {
        let d = 16, K = 1037, B = 8
        let queue = Queue(size: K, dim: d, seed: 1)
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 2, stream: 0)
        // narrow sets take the gather path, wide ones (> K/4) the dense masked path
        for (kind, hiPercent, outer, expected) in [(SamplerKind.band, 10.0, 0.1, 51..<103), (.ring, 10, 0.1, 10..<103), (.uniform, 10, 0.1, 0..<K),
                                                   (.band, 100, 0.1, 51..<K), (.band, 99.9, 0.1, 51..<1035), (.ring, 10, 1.0, 103..<K),
                                                   (.ring, 10, 0.999, 103..<1035)] {
            var c = SamplerConfig(); c.bandLoPercent = 5; c.bandHiPercent = hiPercent; c.ringOuter = outer; c.ringInner = 0.1; c.ringAnneal = false
            let s = NegativeSampler(kind: kind, config: c)
            let r = MoCoObjective.lossAndGradient(queries: q, positiveKeys: q, queue: queue, tau: 0.2, sampler: s, step: 0, seed: 0, threads: 2)
            XCTAssertEqual(r.stats.negativesPerQuery, Double(expected.count), "\(kind) \(expected)")
            XCTAssertEqual(r.stats.rankRange ?? 0..<K, expected, "\(kind)")
            // Mean selected similarity equals the naive one from a full sort.
            var sum = 0.0
            for i in 0..<B {
                let scores = (0..<K).map { j in (0..<d).reduce(Float(0)) { $0 + q[i * d + $1] * queue.keys[j * d + $1] } }
                sum += naive(scores, expected).reduce(0.0) { $0 + Double(scores[$1]) }
            }
            XCTAssertEqual(r.stats.meanSelectedSimilarity, sum / Double(B * expected.count), accuracy: 1e-5, "\(kind)")
        }
    }

    func testAnnealScheduleMatchesFormulaEveryStep() {
        var c = SamplerConfig(); c.ringOuter = 0.1; c.ringInner = 0.1; c.ringAnneal = true; c.ringAnnealEpochs = 3
        let spe = 7
        let s = NegativeSampler(kind: .ring, config: c, stepsPerEpoch: spe)
        for step in 0...40 {
            let expected = 1 + (0.1 - 1) * min(1, Double(step) / Double(3 * spe))
            XCTAssertEqual(s.currentOuter(step: step), expected, accuracy: 1e-12, "step \(step)")
            XCTAssertEqual(s.rankRange(candidates: 4096, step: step), RingSampler.ranks(candidates: 4096, outer: expected, inner: 0.1))
        }
        XCTAssertEqual(s.currentOuter(step: 0), 1)
        XCTAssertEqual(s.currentOuter(step: 21), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.currentOuter(step: 10_000), 0.1, accuracy: 1e-12)
        c.ringAnneal = false
        XCTAssertEqual(NegativeSampler(kind: .ring, config: c, stepsPerEpoch: spe).currentOuter(step: 0), 0.1)
        // The sampler (with its schedule) round-trips through JSON, so a checkpoint can hold it.
        let data = try! JSONEncoder().encode(s)
        XCTAssertEqual(try JSONDecoder().decode(NegativeSampler.self, from: data), s)
    }

    func testPairingValidationAndParameterChecks() {
        XCTAssertThrowsError(try validate(objective: .ir, sampler: .mochi)) { e in
            XCTAssertTrue("\(e)".contains("mochi works only with objective moco"), "\(e)")
        }
        XCTAssertThrowsError(try validate(objective: .simclr, sampler: .mochi))
        XCTAssertNoThrow(try validate(objective: .moco, sampler: .mochi))
        XCTAssertEqual(allowedPairings.count, 21)
        var c = SamplerConfig(); c.bandLoPercent = 50; c.bandHiPercent = 10
        XCTAssertThrowsError(try NegativeSampler(kind: .band, config: c).check(objective: .moco, candidates: 4096))
        c = SamplerConfig(); c.ringOuter = 0.1
        XCTAssertThrowsError(try NegativeSampler(kind: .ring, config: c).check(objective: .simclr, candidates: 8)) { e in
            XCTAssertTrue("\(e)".contains("keeps no negatives"), "\(e)")
        }
        XCTAssertNoThrow(try NegativeSampler(kind: .ring, config: c).check(objective: .moco, candidates: 4096))
        c = SamplerConfig(); c.mochiN = 5000
        XCTAssertThrowsError(try NegativeSampler(kind: .mochi, config: c).check(objective: .moco, candidates: 4096))
    }

    func testPercentilesMatchNumPyDefinition() {
        var rng = RNG(seed: 5)
        for n in [1, 2, 10, 999, 5000] {
            let v: [Float] = (0..<n).map { _ in Float(rng.uniform(-1, 1)) }
            let sorted = v.sorted()
            let got = Percentiles.of(v)
            for (p, g) in zip([50.0, 90, 99, 99.9], got) {
                let x = p / 100 * Double(n - 1), lo = Int(x), f = x - Double(lo)
                let want = lo + 1 < n ? Double(sorted[lo]) + (Double(sorted[lo + 1]) - Double(sorted[lo])) * f : Double(sorted[lo])
                XCTAssertEqual(g, want, accuracy: 1e-6, "n \(n) p \(p)")
            }
        }
    }
}
