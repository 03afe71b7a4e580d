import ArgumentParser
import StageKit

// Adding a sampler touches: a case in `SamplerKind`, its parameters in `SamplerConfig` (+ `check`),
// one file `<Name>Sampler.swift` with its selection or loss form, the dispatch in `NegativeSampler`
// (`rankRange` / `lossForm` / `mochi`), the pairing table in `validate(objective:sampler:)`, the
// NumPy reference (scripts/ref_contrastive_losses.py) and docs/samplers.md.

/// Which negatives enter each query's denominator (SPEC §2).
public enum SamplerKind: String, CaseIterable, ExpressibleByArgument, Codable, Sendable {
    case uniform, ring, band, hcl, dcl, mochi
}

/// The objectives of SPEC §1.
public enum ObjectiveKind: String, CaseIterable, ExpressibleByArgument, Codable, Sendable {
    case ir, cmc, moco, simclr
}

/// Every sampler's parameters; each sampler reads only its own.
public struct SamplerConfig: Codable, Equatable, Sendable {
    // ring (CNCE): keep ranks [⌊inner·⌊outer·K⌋⌋, ⌊outer·K⌋); outer anneals 1 → ringOuter.
    public var ringOuter: Double = 0.1
    public var ringInner: Double = 0.1
    public var ringAnneal: Bool = true
    public var ringAnnealEpochs: Double = 100
    // band (Cai et al.): keep ranks [⌊lo·K⌋, ⌊hi·K⌋), lo and hi given in hardness percent.
    public var bandLoPercent: Double = 0
    public var bandHiPercent: Double = 5
    // hcl / dcl: importance weights exp(β·s) on negatives and debiasing with class prior τ⁺.
    public var hclBeta: Double = 1
    public var tauPlus: Double = 0.1
    // mochi: from the N hardest, s negative–negative and s′ query–negative mixes, from startStep on.
    public var mochiN: Int = 1024
    public var mochiS: Int = 16
    public var mochiSPrime: Int = 16
    public var mochiStartStep: Int = 0

    public init() {}

    /// Rejects parameter values outside their domain with one line naming the parameter.
    public func check(_ kind: SamplerKind) throws {
        switch kind {
        case .uniform: break
        case .ring:
            guard ringOuter > 0, ringOuter <= 1 else { throw StageError("ring outer must be in (0, 1] (got \(ringOuter))") }
            guard ringInner >= 0, ringInner < 1 else { throw StageError("ring inner must be in [0, 1) (got \(ringInner))") }
            guard !ringAnneal || ringAnnealEpochs > 0 else { throw StageError("ring anneal epochs must be > 0 (got \(ringAnnealEpochs))") }
        case .band:
            guard bandLoPercent >= 0, bandHiPercent <= 100, bandLoPercent < bandHiPercent else {
                throw StageError("band must satisfy 0 <= lo < hi <= 100 percent (got [\(bandLoPercent), \(bandHiPercent)))")
            }
        case .hcl, .dcl:
            guard tauPlus >= 0, tauPlus < 1 else { throw StageError("tau+ must be in [0, 1) (got \(tauPlus))") }
            guard kind == .dcl || hclBeta >= 0 else { throw StageError("hcl beta must be >= 0 (got \(hclBeta))") }
        case .mochi:
            guard mochiN >= 2 else { throw StageError("mochi N must be >= 2 (got \(mochiN))") }
            guard mochiS >= 0, mochiSPrime >= 0 else { throw StageError("mochi s and s' must be >= 0") }
            guard mochiStartStep >= 0 else { throw StageError("mochi start step must be >= 0") }
        }
    }
}

/// Refuses a pairing that has no meaning, with one line saying why. Allowed: every objective with
/// uniform, ring, band, hcl and dcl; mochi only with moco (it synthesises from a queue's hardest
/// entries, and its s′ query mixes assume a stream of keys; the bank/batch objectives have neither).
public func validate(objective: ObjectiveKind, sampler: SamplerKind) throws {
    if sampler == .mochi && objective != .moco {
        throw StageError("sampler mochi works only with objective moco (it mixes the hardest queue entries); \(objective.rawValue) has no queue")
    }
}

/// The pairings `validate` accepts, for tests and for `bench`.
public var allowedPairings: [(ObjectiveKind, SamplerKind)] {
    ObjectiveKind.allCases.flatMap { o in SamplerKind.allCases.compactMap { s in (try? validate(objective: o, sampler: s)) != nil ? (o, s) : nil } }
}

/// How a query's loss is formed from its positive and chosen negatives.
public enum LossForm: Equatable, Sendable {
    /// −log(e^{l⁺} / (e^{l⁺} + Σ e^{l⁻})).
    case softmax
    /// Robinson et al.: importance weights exp(β·l⁻), debiasing with τ⁺ (DCL: β = 0).
    case debiased(beta: Double, tauPlus: Double)
}

/// A sampler kind with its parameters: answers, per step and candidate count, which ranks to keep
/// and how the loss is formed. Its only state is the step (the anneal position), which the training
/// loop owns and checkpoints.
public struct NegativeSampler: Codable, Equatable, Sendable {
    public var kind: SamplerKind
    public var config: SamplerConfig
    /// Iterations per epoch, for the ring's per-iteration anneal (set once the data size is known).
    public var stepsPerEpoch: Int

    public init(kind: SamplerKind, config: SamplerConfig = SamplerConfig(), stepsPerEpoch: Int = 1) {
        self.kind = kind
        self.config = config
        self.stepsPerEpoch = max(1, stepsPerEpoch)
    }

    /// Checks the parameters and that the kept set is non-empty for `candidates` at every step.
    public func check(objective: ObjectiveKind, candidates: Int) throws {
        try validate(objective: objective, sampler: kind)
        try config.check(kind)
        // Annealing only widens the ring (outer starts at 1), so the final bounds are the narrowest.
        let last = Int.max / 4
        if let r = rankRange(candidates: candidates, step: last), r.isEmpty {
            throw StageError("\(kind.rawValue) keeps no negatives out of \(candidates) candidates (ranks \(r.lowerBound)..<\(r.upperBound)); widen it")
        }
        if kind == .mochi && config.mochiN > candidates {
            throw StageError("mochi N (\(config.mochiN)) exceeds the \(candidates) queue entries")
        }
    }

    /// Ranks (0 = hardest) kept among `candidates` at `step`; nil means every candidate.
    public func rankRange(candidates: Int, step: Int) -> Range<Int>? {
        switch kind {
        case .ring:
            return RingSampler.ranks(candidates: candidates, outer: RingSampler.outer(step: step, config: config, stepsPerEpoch: stepsPerEpoch),
                                     inner: config.ringInner)
        case .band:
            return BandSampler.ranks(candidates: candidates, loPercent: config.bandLoPercent, hiPercent: config.bandHiPercent)
        case .uniform, .hcl, .dcl, .mochi:
            return nil
        }
    }

    /// The current ring outer fraction (1 for every other sampler), for the log.
    public func currentOuter(step: Int) -> Double {
        kind == .ring ? RingSampler.outer(step: step, config: config, stepsPerEpoch: stepsPerEpoch) : 1
    }

    public var lossForm: LossForm {
        switch kind {
        case .hcl: return .debiased(beta: config.hclBeta, tauPlus: config.tauPlus)
        case .dcl: return DCLSampler.lossForm(tauPlus: config.tauPlus)
        default: return .softmax
        }
    }

    /// Whether MoCHi synthesises negatives at this step.
    public func mochiActive(step: Int) -> Bool { kind == .mochi && step >= config.mochiStartStep }
}

/// ⌊x⌋ for rank bounds, robust to decimal fractions that binary floating point stores just below an
/// integer (0.57·100 = 56.999…): values within 1e-9 of the next integer round up to it.
@inline(__always) func floorRank(_ x: Double) -> Int { Int((x + 1e-9).rounded(.down)) }
