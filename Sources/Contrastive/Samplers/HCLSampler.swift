import ArgumentParser
import Foundation
import StageKit

// HCL (Robinson et al. 2021): importance weights w_j = exp(β·l_j) over the negatives and debiasing
// with the class prior τ⁺:  Ng = (−τ⁺·N·pos + N·Σ w_j n_j / Σ w_j) / (1 − τ⁺), clamped below at
// N·e^{−1/τ};  loss = −log(pos / (pos + Ng)), pos = e^{l⁺}, n_j = e^{l_j}, N = number of negatives.
// The weights are not detached (as in the authors' code), so the gradient flows through them.
// HCL is DCL plus the reweighting: it shares DCL's `--tau-plus` (DCLSampler.swift); DCL is β = 0.

public struct HCLSampler: NegativeSampler {
    public static let name = "hcl"
    public static let summary = "every candidate, reweighted by exp(β·s) and debiased with τ⁺"
    struct Options: SamplerOptionGroup {
        typealias Sampler = HCLSampler
        @Option(help: "HCL: concentration β.") var hclBeta: Double = 1
    }

    public var beta: Double, tauPlus: Double

    public init(beta: Double = 1, tauPlus: Double = 0.1) throws {
        guard beta >= 0 else { throw StageError.usage("--hcl-beta must be >= 0 (got \(beta))") }
        self.beta = beta
        self.tauPlus = try DCLSampler(tauPlus: tauPlus).tauPlus
    }

    public init(_ options: SamplerOptions, epochs: Int, stepsPerEpoch: Int) throws {
        try self.init(beta: options.hcl.hclBeta, tauPlus: options.dcl.tauPlus)
    }

    public func choice(candidates: Int, step: Int) -> NegativeChoice { .all }
    public var lossForm: LossForm { .debiased(beta: beta, tauPlus: tauPlus) }
    public var identity: [String: String] { ["hcl_beta": "\(beta)", "tau_plus": "\(tauPlus)"] }

    /// Loss and d loss / d logits for a row [positive, n negatives]; see RowLoss for the layout.
    public static func debiased(logits: UnsafePointer<Float>, count n: Int, beta: Double, tauPlus: Double, tau: Double,
                                grad: UnsafeMutablePointer<Float>) -> Double {
        let N = Double(n)
        let lp = Double(logits[0])
        guard n > 0 else { grad[0] = 0; return 0 }
        var m = -Double.infinity
        for j in 1...n { m = max(m, Double(logits[j])) }
        // Shifted sums: A = Σ e^{(1+β)(l−m)}, W = Σ e^{β(l−m)}, so Σ w n / Σ w = e^m·A/W.
        // grad[j] temporarily holds e^{l_j−m}; e^{β(l_j−m)} is derived from it for β ∈ {0, 1} (HCL/DCL defaults).
        // Exponentials in Float (arguments ≤ 0 after the shift), sums in Double.
        @inline(__always) func weight(_ e: Float, _ t: Float) -> Float {
            beta == 0 ? 1 : beta == 1 ? e : Foundation.exp(Float(beta) * t)
        }
        let mf = Float(m)
        var a = 0.0, w = 0.0
        for j in 1...n {
            let t = logits[j] - mf
            let e = Foundation.exp(t), ew = weight(e, t)
            grad[j] = e
            a += Double(e * ew)
            w += Double(ew)
        }
        let em = Foundation.exp(m)
        let pos = Foundation.exp(lp)
        let reweighted = N * em * a / w
        let raw = (-tauPlus * N * pos + reweighted) / (1 - tauPlus)
        let floorValue = N * Foundation.exp(-1 / tau)
        let clamped = raw < floorValue
        let ng = clamped ? floorValue : raw
        let d = pos + ng
        let loss = Foundation.log(d) - lp
        if clamped {
            grad[0] = Float(-1 + pos / d)
            for j in 1...n { grad[j] = 0 }
        } else {
            grad[0] = Float(-1 + pos * (1 - tauPlus * N / (1 - tauPlus)) / d)
            let scale = N / (1 - tauPlus) / d * em
            let c1 = Float(scale * (1 + beta) / w), c2 = Float(scale * beta * a / (w * w))
            for j in 1...n {
                let e = grad[j], ew = weight(e, logits[j] - mf)
                grad[j] = c1 * e * ew - c2 * ew
            }
        }
        return loss
    }
}
