import StageKit

// Samplers decide which candidates enter each query's denominator (SPEC §2) and how the row's loss is
// formed. Each sampler is one file in this folder that owns its options, defaults, validation,
// selection and loss form.
//
// Adding a sampler:
//   1. a file `<Name>Sampler.swift` here: a type conforming to `NegativeSampler` and, inside it, an
//      `Options: SamplerOptionGroup` struct with its flags (named for the sampler, e.g. --ring-outer;
//      flag names are global, so a flag two samplers share lives in one of them: --tau-plus in DCL);
//   2. one registration line in SamplerOptions.swift (`@OptionGroup(title: …) var <name>: <Name>Sampler.Options`);
//   3. one test (Tests/ContrastiveTests/SamplerTests.swift), and its case in scripts/ref_contrastive_losses.py
//      (which computes each sampler's kept ranks by name) — always for a sampler that chooses by rank or
//      forms its loss differently.
// Every objective, `pretrain --sampler`, the checkpoint identity, the log (its own columns are appended),
// `bench samplers` and the reference-loss test's list of cases pick it up from the registry; the report
// describes its negatives by name (ComparisonTable.negatives, optional).

/// Which of a query's candidates become its negatives at one step.
public enum NegativeChoice: Equatable, Sendable {
    /// Every candidate.
    case all
    /// The candidates whose rank is in the range: descending similarity, ties by candidate index
    /// (Ranking.RankOrder), 0 = hardest.
    case ranks(Range<Int>)
    /// This many candidates drawn uniformly without replacement (seeded per step and query).
    case random(count: Int)

    /// How many of `candidates` are kept.
    public func count(of candidates: Int) -> Int {
        switch self {
        case .all: return candidates
        case .ranks(let r): return max(0, min(r.upperBound, candidates) - min(r.lowerBound, candidates))
        case .random(let n): return min(n, candidates)
        }
    }

    public var isRandom: Bool {
        if case .random = self { return true }
        return false
    }

    /// The kept ranks, for the statistics (nil unless a rank range).
    public var rankRange: Range<Int>? {
        if case .ranks(let r) = self { return r }
        return nil
    }
}

/// How a query's loss is formed from its positive and chosen negatives.
public enum LossForm: Equatable, Sendable {
    /// −log(e^{l⁺} / (e^{l⁺} + Σ e^{l⁻})).
    case softmax
    /// Robinson et al.: importance weights exp(β·l⁻), debiasing with τ⁺ (DCL: β = 0); HCLSampler.swift.
    case debiased(beta: Double, tauPlus: Double)
}

/// MoCHi's synthesis at one step: s negative–negative and s′ query–negative mixes from the N hardest.
public struct MochiSynthesis: Equatable, Sendable {
    public var hardest: Int, s: Int, sPrime: Int
    public var count: Int { s + sPrime }
}

/// A negative sampler with its parameters. Its only state is the step (the anneal position), which
/// the training loop owns and checkpoints, so a sampler is a value.
public protocol NegativeSampler: Sendable {
    /// The `--sampler` name, also recorded in the checkpoint identity.
    static var name: String { get }
    /// One line for `pretrain --help`.
    static var summary: String { get }
    /// The sampler from the parsed options of a run of `epochs` epochs × `stepsPerEpoch` steps; throws
    /// one line naming the flag when a value is outside its domain.
    init(_ options: SamplerOptions, epochs: Int, stepsPerEpoch: Int) throws
    /// Throws one line saying why when `objective` cannot use this sampler (default: every objective can).
    static func check(objective: ObjectiveKind) throws
    /// Throws one line when the sampler keeps nothing out of `candidates` (or needs more of them).
    func check(candidates: Int) throws
    /// Which of `candidates` each query keeps at `step`.
    func choice(candidates: Int, step: Int) -> NegativeChoice
    /// How the row's loss is formed (default: softmax).
    var lossForm: LossForm { get }
    /// Synthetic negatives at `step` (default: none; MoCHi).
    func synthesis(step: Int) -> MochiSynthesis?
    /// The parameters that define a run (checkpoint identity: a resumed run must match them).
    var identity: [String: String] { get }
    /// Extra log.csv columns for `step` (ring or band bounds; default none).
    func logColumns(step: Int) -> [String: Double]
}

extension NegativeSampler {
    public static func check(objective: ObjectiveKind) throws {}
    public var lossForm: LossForm { .softmax }
    public func synthesis(step: Int) -> MochiSynthesis? { nil }
    public func logColumns(step: Int) -> [String: Double] { [:] }
    public var name: String { Self.name }

    /// Annealing only ever narrows what a sampler keeps, so its last step keeps the fewest.
    public func check(candidates: Int) throws {
        let last = choice(candidates: candidates, step: Int.max / 4)
        if last.count(of: candidates) == 0 {
            let detail = last.rankRange.map { " (ranks \($0.lowerBound)..<\($0.upperBound))" } ?? ""
            throw StageError("\(Self.name) keeps no negatives out of \(candidates) candidates\(detail); widen it")
        }
    }

    /// Both checks the pretrain stage runs once the candidate count is known.
    public func check(objective: ObjectiveKind, candidates: Int) throws {
        try Self.check(objective: objective)
        try check(candidates: candidates)
    }
}

/// ⌊x⌋ for rank bounds, robust to decimal fractions that binary floating point stores just below an
/// integer (0.57·100 = 56.999…): values within 1e-9 of the next integer round up to it.
@inline(__always) func floorRank(_ x: Double) -> Int { Int((x + 1e-9).rounded(.down)) }
