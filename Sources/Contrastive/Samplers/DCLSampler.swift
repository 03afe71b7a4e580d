import ArgumentParser
import StageKit

// DCL (Chuang et al. 2020): every candidate, with the debiased loss of HCLSampler.swift at β = 0
// (no reweighting). `--tau-plus`, the class prior τ⁺, is declared here and shared with HCL.

public struct DCLSampler: NegativeSampler {
    public static let name = "dcl"
    public static let summary = "every candidate, debiased with τ⁺ (HCL with β = 0)"
    struct Options: SamplerOptionGroup {
        typealias Sampler = DCLSampler
        @Option(help: "HCL/DCL: class prior τ⁺.") var tauPlus: Double = 0.1
    }

    public var tauPlus: Double

    public init(tauPlus: Double = 0.1) throws {
        guard tauPlus >= 0, tauPlus < 1 else { throw StageError.usage("--tau-plus must be in [0, 1) (got \(tauPlus))") }
        self.tauPlus = tauPlus
    }

    public init(_ options: SamplerOptions, epochs: Int, stepsPerEpoch: Int) throws {
        try self.init(tauPlus: options.dcl.tauPlus)
    }

    public func choice(candidates: Int, step: Int) -> NegativeChoice { .all }
    public var lossForm: LossForm { .debiased(beta: 0, tauPlus: tauPlus) }
    public var identity: [String: String] { ["tau_plus": "\(tauPlus)"] }
}
