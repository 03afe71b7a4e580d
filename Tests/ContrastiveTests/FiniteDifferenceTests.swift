import Contrastive
import StageKit
import XCTest

/// Swift-side check of the analytic gradients against central finite differences of the Swift loss
/// itself (Float, so a coarse step and tolerance; the tight check is ReferenceLossTests). Only samplers
/// whose chosen set cannot change under a small perturbation (no rank cut-offs; MoCHi's q-mix would
/// move with q) are probed here.
final class FiniteDifferenceTests: XCTestCase {
    let d = 6, B = 4, tau: Float = 0.5, eps: Float = 2e-3

    func check(_ name: String, _ x: [Float], _ grad: [Float], _ loss: ([Float]) -> Double) {
        var rng = RNG(seed: 99)
        var worst = 0.0, largest = 0.0
        for _ in 0..<12 {
            let j = rng.below(x.count)
            var up = x, down = x
            up[j] += eps; down[j] -= eps
            let fd = (loss(up) - loss(down)) / Double(2 * eps)
            worst = max(worst, abs(fd - Double(grad[j]))); largest = max(largest, abs(fd))
        }
        XCTAssertLessThan(worst, 2e-3, "\(name): largest gradient entry \(largest)")
        XCTAssertGreaterThan(largest, 1e-2, "\(name): gradient should not vanish")
    }

    func testMoCoAndIRAndCMC() {
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 1), k = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 2)
        let queue = Queue(size: 24, dim: d, seed: 1)
        for kind in ["uniform", "hcl", "dcl", "subset"] {
            let s = sampler(kind, ["--subset-of", "band", "--band-hi", "50"])
            let f: ([Float]) -> MoCoResult = { MoCoObjective.lossAndGradient(queries: $0, positiveKeys: k, queue: queue, tau: self.tau, sampler: s,
                                                                          step: 0, seed: 0, threads: 1) }
            check("moco-\(kind)", q, f(q).gradQueries) { f($0).loss }
        }
        let bankL = MemoryBank(count: 20, dim: d, seed: 2), bankAB = MemoryBank(count: 20, dim: d, seed: 3)
        let idx = [1, 7, 19, 4]
        for kind in ["uniform", "hcl", "subset"] {
            let s = sampler(kind, ["--subset-of", "band", "--band-hi", "50"])
            let ir: ([Float]) -> IRResult = { IRObjective.lossAndGradient(features: $0, indices: idx, bank: bankL, negatives: 8, tau: self.tau,
                                                                         sampler: s, step: 2, seed: 5, threads: 1) }
            check("ir-\(kind)", q, ir(q).gradFeatures) { ir($0).loss }
            let cmc: ([Float], [Float]) -> CMCResult = {
                CMCObjective.lossAndGradient(featuresL: $0, featuresAB: $1, indices: idx, bankL: bankL, bankAB: bankAB, negatives: 8,
                                             tau: self.tau, sampler: s, step: 2, seed: 5, threads: 1)
            }
            let base = cmc(q, k)
            check("cmc-\(kind) L", q, base.gradL) { cmc($0, k).loss }
            check("cmc-\(kind) ab", k, base.gradAB) { cmc(q, $0).loss }
        }
    }

    func testSimCLR() {
        let z1 = Embeddings.randomUnit(count: B, dim: d, seed: 4, stream: 1), z2 = Embeddings.randomUnit(count: B, dim: d, seed: 4, stream: 2)
        for kind in ["uniform", "hcl", "dcl", "subset"] {
            let s = sampler(kind, ["--subset-of", "band", "--band-hi", "50"])
            let f: ([Float], [Float]) -> SimCLRResult = { SimCLRObjective.lossAndGradient(z1: $0, z2: $1, dim: self.d, tau: self.tau, sampler: s,
                                                                                         step: 0, threads: 1) }
            let base = f(z1, z2)
            check("simclr-\(kind) z1", z1, base.gradZ1) { f($0, z2).loss }
            check("simclr-\(kind) z2", z2, base.gradZ2) { f(z1, $0).loss }
        }
    }
}
