import Contrastive
import Foundation
import StageKit
import TestSupport
import XCTest

/// The collapse monitor's measures on cases with known answers, against NumPy on a random case, and
/// the thresholds that turn a log row into a warning.
final class CollapseMonitorTests: XCTestCase {
    func testKnownCases() {
        let d = 4
        // Every anchor the same unit vector: one point (uniformity 0), one direction (effective rank 1).
        let same = [Float](repeating: 0.5, count: 6 * d)
        let h = EmbeddingHealth.measure(anchors: same, positives: same, dim: d)
        XCTAssertEqual(h.alignment, 0, accuracy: 1e-12)
        XCTAssertEqual(h.uniformity, 0, accuracy: 1e-6)
        XCTAssertEqual(h.effectiveRank, 1, accuracy: 1e-5)
        // The d basis vectors: equal singular values (rank d); pairwise distance² 2 → uniformity −4;
        // positives the negated anchors → distance² 4.
        var basis = [Float](repeating: 0, count: d * d)
        for i in 0..<d { basis[i * d + i] = 1 }
        let b = EmbeddingHealth.measure(anchors: basis, positives: basis.map { -$0 }, dim: d)
        XCTAssertEqual(b.effectiveRank, Double(d), accuracy: 1e-6)
        XCTAssertEqual(b.uniformity, -4, accuracy: 1e-6)
        XCTAssertEqual(b.alignment, 4, accuracy: 1e-6)
    }

    func testMatchesNumPy() throws {
        guard TestSupport.pythonHas(["numpy"]) else { throw XCTSkip("python3 with numpy is needed") }
        let (n, d) = (20, 8)
        let a = Embeddings.randomUnit(count: n, dim: d, seed: 3, stream: 1)
        let p = Embeddings.randomUnit(count: n, dim: d, seed: 3, stream: 2)
        let h = EmbeddingHealth.measure(anchors: a, positives: p, dim: d)
        let script = """
        import json, sys, numpy as np
        v = json.load(open(sys.argv[1])); a = np.array(v["a"]).reshape(\(n), \(d)); p = np.array(v["p"]).reshape(\(n), \(d))
        align = ((a - p) ** 2).sum(axis=1).mean()
        i, j = np.triu_indices(\(n), 1)
        uniform = np.log(np.exp(-2 * ((a[i] - a[j]) ** 2).sum(axis=1)).mean())
        s = np.linalg.svd(a, compute_uv=False); q = s / s.sum()
        print(json.dumps([align, uniform, float(np.exp(-(q * np.log(q)).sum()))]))
        """
        let input = try JSONSerialization.data(withJSONObject: ["a": a.map(Double.init), "p": p.map(Double.init)])
        let path = try TestSupport.scratchDir("collapse-monitor").appendingPathComponent("case.json")
        try input.write(to: path)
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", script, path.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ref = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [Double]
        XCTAssertEqual(h.alignment, ref[0], accuracy: 1e-5)
        XCTAssertEqual(h.uniformity, ref[1], accuracy: 1e-5)
        XCTAssertEqual(h.effectiveRank, ref[2], accuracy: 1e-4)
    }

    func testThresholds() {
        XCTAssertEqual(CollapseThresholds.reasons(["sim_p50": "0.2", "uniform": "-2.5", "erank": "30"]), [])
        XCTAssertEqual(CollapseThresholds.reasons([:]), [], "absent cells are not judged")
        let r = CollapseThresholds.reasons(["sim_p50": "0.66", "uniform": "-0.5", "erank": "4.9"])
        XCTAssertEqual(r.count, 3)
        XCTAssertTrue(r[0].contains("median query–negative similarity 0.66"), r[0])
    }
}
