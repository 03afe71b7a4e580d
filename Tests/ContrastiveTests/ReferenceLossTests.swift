import Contrastive
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// Every allowed objective × sampler pairing: loss and gradients match scripts/ref_contrastive_losses.py
/// (float64 loss from the SPEC formulas, finite-difference gradients, full-sort rank selection, and a
/// check that the Swift draws are legal).
final class ReferenceLossTests: XCTestCase {
    struct Case {
        var name: String
        var writer: TensorFileWriter
        var loss: Double
        var grads: [String: [Float]]
    }

    /// The sampler `name` at settings that exercise each objective's paths (flags on top of the defaults).
    static func sampler(_ name: String, objective: ObjectiveKind, clampedHCL: Bool = false) -> any NegativeSampler {
        var flags: [String]
        switch objective {
        case .moco:   // K = 40: ring at step 3 of an anneal over 2×5 steps → outer 0.85 → ranks [6, 34) (the masked path)
            flags = ["--ring-outer", "0.5", "--ring-inner", "0.2", "--anneal-epochs", "2",
                     "--band-lo", "10", "--band-hi", "30"]                          // [4, 12): the gather path
        case .simclr: // pool 8: ring [2, 6), band [1, 5)
            flags = ["--ring-outer", "0.75", "--ring-inner", "0.34", "--no-anneal", "--band-lo", "12.5", "--band-hi", "62.5"]
        case .ir, .cmc: // pool 29: ring [2, 14), band [2, 17)
            flags = ["--ring-outer", "0.5", "--ring-inner", "0.2", "--no-anneal", "--band-lo", "10", "--band-hi", "60"]
        }
        flags += ["--hcl-beta", "1", "--tau-plus", clampedHCL ? "0.5" : "0.1", "--mochi-n", "10", "--mochi-s", "3", "--mochi-s-prime", "2"]
        return try! SamplerOptions.parse(flags).sampler(named: name, epochs: 4, stepsPerEpoch: 5)
    }

    static func metadata(_ o: ObjectiveKind, _ s: any NegativeSampler, tau: Float, step: Int, k: Int = 0) -> [String: String] {
        let json = "{\"objective\":\"\(o.rawValue)\",\"sampler\":\"\(s.name)\",\"tau\":\(tau),\"step\":\(step),"
            + "\"stepsPerEpoch\":5,\"k\":\(k),\"config\":\(Provenance.json(s.identity))}"
        return ["case": json]
    }

    /// A random choice's draws [rows, n] as a tensor the reference replays.
    static func add(_ chosen: [[Int32]]?, to w: inout TensorFileWriter) {
        guard let chosen, let n = chosen.first?.count else { return }
        w.add("chosen", chosen.flatMap { $0.map(Int64.init) }, shape: [chosen.count, n])
    }

    static func makeCase(_ o: ObjectiveKind, _ kind: String, clampedHCL: Bool = false) -> Case {
        let s = sampler(kind, objective: o, clampedHCL: clampedHCL)
        let tau: Float = 0.2, step = 3, d = 8, seed: UInt64 = 11
        let name = "\(o.rawValue)-\(kind)\(clampedHCL ? "-clamped" : "")"
        switch o {
        case .moco:
            let B = 4, K = 40
            let q = Embeddings.randomUnit(count: B, dim: d, seed: seed, stream: 1)
            // clamped HCL: positive = the query itself, so pos is large and the debiased Ng hits its floor
            let kp = clampedHCL ? q : Embeddings.randomUnit(count: B, dim: d, seed: seed, stream: 2)
            let queue = Queue(size: K, dim: d, seed: seed)
            let r = MoCoObjective.lossAndGradient(queries: q, positiveKeys: kp, queue: queue, tau: tau, sampler: s, step: step,
                                                  seed: seed, threads: 2)
            var w = TensorFileWriter(metadata: metadata(o, s, tau: tau, step: step))
            w.add("q", q, shape: [B, d]); w.add("kpos", kp, shape: [B, d]); w.add("queue", queue.keys, shape: [K, d])
            if let m = r.mochi {
                w.add("mochi_pairs", m.pairs.map(Int64.init), shape: [B, m.s, 2]); w.add("mochi_alpha", m.alpha, shape: [B, m.s])
                w.add("mochi_mix", m.queryMix.map(Int64.init), shape: [B, m.sPrime]); w.add("mochi_beta", m.beta, shape: [B, m.sPrime])
            }
            add(r.chosen, to: &w)
            return Case(name: name, writer: w, loss: r.loss, grads: ["q": r.gradQueries])
        case .simclr:
            let B = 5
            let z1 = Embeddings.randomUnit(count: B, dim: d, seed: seed, stream: 3)
            let z2 = Embeddings.randomUnit(count: B, dim: d, seed: seed, stream: 4)
            let r = SimCLRObjective.lossAndGradient(z1: z1, z2: z2, dim: d, tau: tau, sampler: s, step: step, seed: seed, threads: 2)
            var w = TensorFileWriter(metadata: metadata(o, s, tau: tau, step: step))
            w.add("z1", z1, shape: [B, d]); w.add("z2", z2, shape: [B, d])
            add(r.chosen, to: &w)
            return Case(name: name, writer: w, loss: r.loss, grads: ["z1": r.gradZ1, "z2": r.gradZ2])
        case .ir, .cmc:
            let B = 4, N = 30, k = 10
            let indices = [3, 17, 0, 29]
            let fa = Embeddings.randomUnit(count: B, dim: d, seed: seed, stream: 5)
            let bankA = MemoryBank(count: N, dim: d, seed: seed, stream: 1)
            var w = TensorFileWriter(metadata: metadata(o, s, tau: tau, step: step, k: k))
            w.add("indices", indices.map(Int64.init), shape: [B])
            if o == .ir {
                let r = IRObjective.lossAndGradient(features: fa, indices: indices, bank: bankA, negatives: k, tau: tau, sampler: s,
                                                    step: step, seed: seed, threads: 2)
                w.add("f", fa, shape: [B, d]); w.add("bank", bankA.features, shape: [N, d])
                w.add("drawn", r.negatives.map(Int64.init), shape: [B, r.negativesPerQuery])
                w.add("kept", r.kept.map(Int64.init), shape: [B])
                return Case(name: name, writer: w, loss: r.loss, grads: ["f": r.gradFeatures])
            }
            let fb = Embeddings.randomUnit(count: B, dim: d, seed: seed, stream: 6)
            let bankB = MemoryBank(count: N, dim: d, seed: seed, stream: 2)
            let r = CMCObjective.lossAndGradient(featuresL: fa, featuresAB: fb, indices: indices, bankL: bankA, bankAB: bankB,
                                                 negatives: k, tau: tau, sampler: s, step: step, seed: seed, threads: 2)
            w.add("fL", fa, shape: [B, d]); w.add("fAB", fb, shape: [B, d])
            w.add("bankL", bankA.features, shape: [N, d]); w.add("bankAB", bankB.features, shape: [N, d])
            w.add("drawnL", r.lToAB.negatives.map(Int64.init), shape: [B, r.lToAB.negativesPerQuery])
            w.add("drawnAB", r.abToL.negatives.map(Int64.init), shape: [B, r.abToL.negativesPerQuery])
            w.add("keptL", r.lToAB.kept.map(Int64.init), shape: [B]); w.add("keptAB", r.abToL.kept.map(Int64.init), shape: [B])
            return Case(name: name, writer: w, loss: r.loss, grads: ["fL": r.gradL, "fAB": r.gradAB])
        }
    }

    func testEveryPairingMatchesNumPy() throws {
        try XCTSkipUnless(TestSupport.pythonHas(["numpy", "safetensors", "zstandard"]), "python3 with numpy/safetensors/zstandard needed")
        var cases = allowedPairings.map { Self.makeCase($0.0, $0.1.name) }
        cases.append(Self.makeCase(.moco, "hcl", clampedHCL: true))
        XCTAssertEqual(cases.count, allowedPairings.count + 1)
        XCTAssertTrue(cases.contains { $0.name == "moco-subset" } && cases.contains { $0.name == "ir-subset" })
        let dir = try TestSupport.scratchDir("contrastive-ref")
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for c in cases {
            let p = dir.appendingPathComponent("\(c.name).safetensors.zst").path
            try c.writer.write(to: p)
            paths.append(p)
        }
        let r = try TestSupport.python("ref_contrastive_losses.py", paths)
        XCTAssertEqual(r.status, 0, r.stderr)
        guard r.status == 0,
              let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [String: Any]] else { return }
        for (c, p) in zip(cases, paths) {
            guard let ref = json[p], let loss = ref["loss"] as? Double, let grads = ref["grads"] as? [String: [Double]] else {
                XCTFail("\(c.name): no reference result"); continue
            }
            XCTAssertEqual(c.loss, loss, accuracy: 1e-4 * max(1, abs(loss)), "\(c.name): loss")
            XCTAssertGreaterThan(loss, 0, "\(c.name): loss")
            for (name, mine) in c.grads {
                guard let theirs = grads[name], theirs.count == mine.count else { XCTFail("\(c.name): no gradient \(name)"); continue }
                let scale = max(1e-3, theirs.map(abs).max()!)
                let worst = zip(mine, theirs).map { abs(Double($0) - $1) }.max()!
                if ProcessInfo.processInfo.environment["NS_VERBOSE"] != nil { print(c.name, name, c.loss, loss, worst, scale) }
                XCTAssertLessThan(worst, 2e-5 * max(1, scale), "\(c.name): d loss / d \(name) (largest entry \(scale))")
                XCTAssertGreaterThan(scale, 1e-3, "\(c.name): gradient \(name) should not vanish")
            }
        }
    }
}
