import Analysis
import Foundation
import StageKit
import XCTest

final class CNCEStudyTests: XCTestCase {
    /// The study's data has the closed-form MI −d/2·log(1−ρ²): the mean optimal critic on positive pairs
    /// (= E log p(y|x)/p(y)) and a Gaussian plug-in estimate from the sample covariance both match it.
    func testGaussianMIMatchesClosedForm() {
        for (d, rho) in [(4, 0.5), (4, 0.8), (2, 0.9)] {
            var rng = RNG(seed: 7, stream: [UInt64(d), UInt64(rho * 100)])
            let n = 100_000
            let (x, y) = CNCEStudy.samplePairs(dim: d, rho: rho, count: n, rng: &rng)
            let truth = CNCEStudy.closedFormMI(dim: d, rho: rho)
            var critics = [Double](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
                for i in 0..<n { critics[i] = CNCEStudy.critic(xp.baseAddress! + i * d, yp.baseAddress! + i * d, dim: d, rho: rho) }
            } }
            let mean = critics.reduce(0, +) / Double(n)
            let sd = (critics.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)).squareRoot()
            XCTAssertEqual(mean, truth, accuracy: 4 * sd / Double(n).squareRoot(), "critic mean, d \(d) ρ \(rho)")
            // plug-in: per dimension, I = −½ log(1 − r²) from the sample correlation (dimensions independent)
            var plugin = 0.0
            for j in 0..<d {
                var sxx = 0.0, syy = 0.0, sxy = 0.0, mx = 0.0, my = 0.0
                for i in 0..<n { mx += x[i * d + j]; my += y[i * d + j] }
                mx /= Double(n); my /= Double(n)
                for i in 0..<n { let a = x[i * d + j] - mx, b = y[i * d + j] - my; sxx += a * a; syy += b * b; sxy += a * b }
                let r = sxy / (sxx * syy).squareRoot()
                plugin += -0.5 * log(1 - r * r)
            }
            XCTAssertEqual(plugin, truth, accuracy: 0.02 * truth + 0.005, "plug-in, d \(d) ρ \(rho)")
        }
    }

    /// NCE and CNCE stay below the true MI (lower bounds) and NCE below log(k+1); ring sampling is looser.
    func testEstimatorsAreOrderedLowerBounds() {
        var c = CNCEStudyConfig()
        c.repetitions = 20
        c.batch = 64
        c.pool = 256
        c.rhos = [0.8]
        c.threads = 2
        let rows = CNCEStudy.study(c)
        XCTAssertEqual(rows.count, c.rings.count)
        let nce = rows[0]
        XCTAssertLessThan(nce.mean, nce.trueMI)
        XCTAssertLessThan(nce.mean, log(Double(c.negatives + 1)))
        for r in rows.dropFirst() {
            XCTAssertLessThan(r.mean, nce.mean, r.estimator)
            XCTAssertEqual(r.looserThanNCE, true)
        }
        XCTAssertEqual(CNCEStudy.study(c), rows, "seeded: identical repeats")
    }
}
