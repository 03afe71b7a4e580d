import Analysis
import Contrastive
import Ranking
import StageKit
import XCTest

/// Rank selection against a naive full sort, the SPEC §2 bounds at their edges, the anneal formula,
/// pairing validation, the registry, the subset control, and one rank order shared with the analysis.
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
        func band(_ k: Int, _ lo: Double, _ hi: Double) -> Range<Int> { try! BandSampler(loPercent: lo, hiPercent: hi).ranks(candidates: k) }
        XCTAssertEqual(band(4096, 0, 5), 0..<204)
        XCTAssertEqual(band(4096, 5, 100), 204..<4096)
        XCTAssertEqual(band(4096, 5, 10), 204..<409)
        XCTAssertEqual(band(4096, 0.1, 100), 4..<4096)
        XCTAssertEqual(band(150, 0, 100), 0..<150)
        XCTAssertEqual(band(150, 33, 67), 49..<100)
        XCTAssertEqual(band(1000, 0.1, 0.2), 1..<2)
    }

    /// The sampler applied end to end inside MoCo keeps exactly those ranks (stats report the count).
    func testMoCoUsesExactlyTheKeptRanks() {
        let d = 16, K = 1037, B = 8
        let queue = Queue(size: K, dim: d, seed: 1)
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 2, stream: 0)
        // narrow sets take the gather path, wide ones (> K/4) the dense masked path
        for (kind, hiPercent, outer, expected) in [("band", 10.0, 0.1, 51..<103), ("ring", 10, 0.1, 10..<103), ("uniform", 10, 0.1, 0..<K),
                                                   ("band", 100, 0.1, 51..<K), ("band", 99.9, 0.1, 51..<1035), ("ring", 10, 1.0, 103..<K),
                                                   ("ring", 10, 0.999, 103..<1035)] {
            let o = try! SamplerOptions.parse(["--band-lo", "5", "--band-hi", "\(hiPercent)", "--ring-outer", "\(outer)", "--ring-inner", "0.1", "--no-anneal"])
            let s = try! o.sampler(named: kind, epochs: 1, stepsPerEpoch: 1)
            let r = MoCoObjective.lossAndGradient(queries: q, positiveKeys: q, queue: queue, tau: 0.2, sampler: s, step: 0, seed: 0, threads: 2)
            XCTAssertEqual(r.stats.negativesPerQuery, Double(expected.count), "\(kind) \(expected)")
            XCTAssertEqual(r.stats.rankRange ?? 0..<K, expected, "\(kind)")
            XCTAssertNil(r.chosen, "\(kind): only a random choice reports its draws")
            // Mean selected similarity equals the naive one from a full sort.
            var sum = 0.0
            for i in 0..<B {
                let scores = (0..<K).map { j in (0..<d).reduce(Float(0)) { $0 + q[i * d + $1] * queue.keys[j * d + $1] } }
                sum += naive(scores, expected).reduce(0.0) { $0 + Double(scores[$1]) }
            }
            XCTAssertEqual(r.stats.meanSelectedSimilarity, sum / Double(B * expected.count), accuracy: 1e-5, "\(kind)")
        }
    }

    func testAnnealScheduleMatchesFormulaEveryStep() throws {
        let spe = 7
        let s = try RingSampler(outer: 0.1, inner: 0.1, anneal: true, annealEpochs: 3, stepsPerEpoch: spe)
        for step in 0...40 {
            let expected = 1 + (0.1 - 1) * min(1, Double(step) / Double(3 * spe))
            XCTAssertEqual(s.outer(step: step), expected, accuracy: 1e-12, "step \(step)")
            XCTAssertEqual(s.choice(candidates: 4096, step: step), .ranks(RingSampler.ranks(candidates: 4096, outer: expected, inner: 0.1)))
            XCTAssertEqual(s.logColumns(step: step)["ring_outer"] ?? .nan, expected, accuracy: 1e-12)
        }
        XCTAssertEqual(s.outer(step: 0), 1)
        XCTAssertEqual(s.outer(step: 21), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.outer(step: 10_000), 0.1, accuracy: 1e-12)
        XCTAssertEqual(try RingSampler(outer: 0.1, anneal: false, stepsPerEpoch: spe).outer(step: 0), 0.1)
        // The one default: without --anneal-epochs the anneal spans half the run.
        let defaults = try SamplerOptions.defaults.sampler(named: "ring", epochs: 10, stepsPerEpoch: spe)
        XCTAssertEqual(defaults.identity["anneal_epochs"], "5.0")
        XCTAssertEqual((defaults as? RingSampler)?.outer(step: 5 * spe) ?? .nan, 0.1, accuracy: 1e-12)
    }

    func testRegistryPairingsAndParameterChecks() throws {
        // Every registered sampler parses, builds from its defaults and names itself in `--sampler`'s choices.
        XCTAssertEqual(SamplerOptions.names, ["uniform", "ring", "band", "hcl", "dcl", "mochi", "subset"])
        // every group of the registry is a sampler's (none skipped for a missing conformance), names unique
        XCTAssertEqual(Mirror(reflecting: SamplerOptions()).children.count, SamplerOptions.registered.count)
        XCTAssertEqual(Set(SamplerOptions.names).count, SamplerOptions.names.count)
        for t in SamplerOptions.registered { XCTAssertEqual(try SamplerOptions.defaults.sampler(named: t.name, epochs: 4, stepsPerEpoch: 3).name, t.name) }
        XCTAssertThrowsError(try SamplerOptions.type(named: "nope")) { XCTAssertTrue("\($0)".contains("have: uniform, ring"), "\($0)") }
        XCTAssertThrowsError(try MochiSampler.check(objective: .ir)) { e in
            XCTAssertTrue("\(e)".contains("mochi works only with objective moco"), "\(e)")
        }
        XCTAssertThrowsError(try MochiSampler.check(objective: .simclr))
        XCTAssertNoThrow(try MochiSampler.check(objective: .moco))
        // every objective takes every sampler but MoCHi, which only MoCo takes
        XCTAssertEqual(allowedPairings.count, ObjectiveKind.allCases.count * (SamplerOptions.registered.count - 1) + 1)
        XCTAssertThrowsError(try BandSampler(loPercent: 50, hiPercent: 10)) { XCTAssertTrue("\($0)".contains("--band-lo"), "\($0)") }
        XCTAssertThrowsError(try RingSampler(outer: 0)) { XCTAssertTrue("\($0)".contains("--ring-outer"), "\($0)") }
        XCTAssertThrowsError(try DCLSampler(tauPlus: 1)) { XCTAssertTrue("\($0)".contains("--tau-plus"), "\($0)") }
        XCTAssertThrowsError(try HCLSampler(beta: -1)) { XCTAssertTrue("\($0)".contains("--hcl-beta"), "\($0)") }
        let ring = try RingSampler(outer: 0.1)
        XCTAssertThrowsError(try ring.check(objective: .simclr, candidates: 8)) { e in
            XCTAssertTrue("\(e)".contains("keeps no negatives"), "\(e)")
        }
        XCTAssertNoThrow(try ring.check(objective: .moco, candidates: 4096))
        XCTAssertThrowsError(try MochiSampler(hardest: 5000).check(objective: .moco, candidates: 4096))
        XCTAssertThrowsError(try SubsetSampler(like: ring).check(objective: .simclr, candidates: 8))
        // HCL shares DCL's --tau-plus; each sampler's identity holds only its own parameters.
        let o = try SamplerOptions.parse(["--tau-plus", "0.2", "--hcl-beta", "0.5"])
        XCTAssertEqual(try o.sampler(named: "hcl", epochs: 1, stepsPerEpoch: 1).identity, ["hcl_beta": "0.5", "tau_plus": "0.2"])
        XCTAssertEqual(try o.sampler(named: "dcl", epochs: 1, stepsPerEpoch: 1).identity, ["tau_plus": "0.2"])
        XCTAssertEqual(try o.sampler(named: "subset", epochs: 4, stepsPerEpoch: 1).identity["subset_of"], "ring")
    }

    /// The subset control keeps as many candidates as the ring or band it mirrors, at every step of the
    /// anneal, drawn uniformly: distinct, never an excluded one, and with no preference for hardness.
    func testSubsetMatchesItsReferenceSizeAndIsUniform() throws {
        let spe = 5
        let ring = try RingSampler(outer: 0.1, inner: 0.1, annealEpochs: 2, stepsPerEpoch: spe)
        let subset = SubsetSampler(like: ring)
        for step in 0...15 {
            guard case .random(let n) = subset.choice(candidates: 4096, step: step) else { return XCTFail("subset must choose at random") }
            XCTAssertEqual(n, ring.choice(candidates: 4096, step: step).count(of: 4096), "step \(step)")
            XCTAssertEqual(subset.logColumns(step: step), ring.logColumns(step: step))
        }
        let bandSubset = try SamplerOptions.parse(["--subset-of", "band", "--band-lo", "0", "--band-hi", "5"]).sampler(named: "subset", epochs: 1, stepsPerEpoch: 1)
        XCTAssertEqual(bandSubset.choice(candidates: 4096, step: 0), .random(count: 204))
        // MoCo: per query, n distinct queue entries; over many queries each rank is about equally likely.
        let d = 16, K = 400, B = 64
        let queue = Queue(size: K, dim: d, seed: 1)
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 2, stream: 0)
        let band = try BandSampler(loPercent: 0, hiPercent: 10)                       // 40 of 400
        var rankCounts = [Int](repeating: 0, count: 10)                              // chosen entries per rank decile
        for step in 0..<20 {
            let r = MoCoObjective.lossAndGradient(queries: q, positiveKeys: q, queue: queue, tau: 0.2, sampler: SubsetSampler(like: band),
                                                  step: step, seed: 3, threads: 2)
            let chosen = try XCTUnwrap(r.chosen)
            XCTAssertEqual(r.stats.negativesPerQuery, 40)
            for i in 0..<B {
                XCTAssertEqual(Set(chosen[i]).count, 40, "distinct")
                let scores = (0..<K).map { j in (0..<d).reduce(Float(0)) { $0 + q[i * d + $1] * queue.keys[j * d + $1] } }
                let rank = Dictionary(uniqueKeysWithValues: RankOrder.ranked(scores).enumerated().map { ($0.element, $0.offset) })
                for c in chosen[i] { rankCounts[rank[Int(c)]! / 40] += 1 }
            }
        }
        // 51 200 draws over ten deciles: 5 120 expected each, σ ≈ 68; a hardness preference would skew them.
        for (decile, n) in rankCounts.enumerated() { XCTAssertEqual(Double(n), 5120, accuracy: 400, "rank decile \(decile)") }
        // SimCLR: never the anchor or its partner.
        let z1 = Embeddings.randomUnit(count: 8, dim: d, seed: 4, stream: 1), z2 = Embeddings.randomUnit(count: 8, dim: d, seed: 4, stream: 2)
        let r = SimCLRObjective.lossAndGradient(z1: z1, z2: z2, dim: d, tau: 0.2, sampler: SubsetSampler(like: try BandSampler(loPercent: 0, hiPercent: 50)),
                                                step: 0, seed: 1, threads: 2)
        for (a, chosen) in try XCTUnwrap(r.chosen).enumerated() {
            XCTAssertEqual(chosen.count, 7)
            XCTAssertFalse(chosen.contains(Int32(a)) || chosen.contains(Int32((a + 8) % 16)), "anchor \(a): \(chosen)")
        }
    }

    /// The samplers' rank selection and the hardness analysis's bucketing rank by the same order:
    /// on the same scores, with ties and ±0, the analysis's ranks equal the sampler's.
    func testAnalysisRanksEqualTheSamplersIncludingTiesAndSignedZero() {
        var rng = RNG(seed: 9)
        for trial in 0..<60 {
            let n = 600 + rng.below(3000)
            let scores: [Float] = (0..<n).map { j in
                switch trial % 3 {
                case 0: return [Float(-0.0), 0, 0.5, -0.5][rng.below(4)]               // heavy ties, both zeros
                case 1: return j % 7 == 0 ? (j % 2 == 0 ? -0.0 : 0) : Float(rng.below(20)) / 10 - 1
                default: return Float(rng.normal()) * 0.3
                }
            }
            // The analysis: every requested rank in place (its radix pass, then multi-select in the bins).
            let ranks = [0, 1, n / 100, n / 10, n / 2, n - n / 10, n - 2].sorted()
            var keys = scores.enumerated().map { RankOrder.key($0.element, $0.offset) }
            var scratch = [UInt64](repeating: 0, count: n), counts = [Int](repeating: 0, count: 65)
            keys.withUnsafeMutableBufferPointer { k in ranks.withUnsafeBufferPointer { r in scratch.withUnsafeMutableBufferPointer { sc in
                counts.withUnsafeMutableBufferPointer { c in
                    partitionAtRanks(k.baseAddress!, n, r.baseAddress!, r.count, lowest: scores.min()!, highest: scores.max()!,
                                     scratch: sc.baseAddress!, counts: c.baseAddress!, bins: 64)
                }
            } } }
            let full = RankOrder.ranked(scores)
            for (a, b) in zip(ranks, ranks.dropFirst()) where a < b {
                let analysis = keys[a..<b].map(RankOrder.candidate).sorted()
                // The sampler's choice of the same ranks.
                XCTAssertEqual(RankSelection.candidates(scores: scores, ranks: a..<b), analysis, "trial \(trial) ranks \(a)..<\(b)")
                XCTAssertEqual(Array(full[a..<b]).sorted(), analysis, "trial \(trial): full sort")
            }
        }
        // −0 and +0 tie, so the lower index ranks first whichever sign it carries.
        XCTAssertEqual(RankOrder.ranked([0, -0.0, 1, -0.0]), [2, 0, 1, 3])
        XCTAssertEqual(RankOrder.key(-0.0, 3) >> 32, RankOrder.key(0, 3) >> 32)
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
