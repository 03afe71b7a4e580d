import ArgumentParser
import StageKit

// Ring (CNCE, Wu et al. 2021): keep the negatives ranked in [⌊inner·⌊outer·K⌋⌋, ⌊outer·K⌋) by
// descending similarity, so the very hardest (likely false negatives) and the easy tail are dropped.
// Only `outer` anneals: linearly from 1 to its final value over the anneal epochs, per iteration, then
// held. The anneal spans half the run unless `--anneal-epochs` says otherwise (the one place that
// default lives; the Makefile passes the flag only when ANNEAL_EPOCHS is set).

public struct RingSampler: NegativeSampler {
    public static let name = "ring"
    public static let summary = "ranks [inner·outer·K, outer·K), outer annealed 1 → --ring-outer"
    struct Options: SamplerOptionGroup {
        typealias Sampler = RingSampler
        @Option(help: "Ring: final outer fraction.") var ringOuter: Double = 0.1
        @Option(help: "Ring: inner fraction (of the outer ring).") var ringInner: Double = 0.1
        @Option(help: "Ring: epochs over which outer anneals from 1.0 to --ring-outer (default: half the run).")
        var annealEpochs: Double?
        @Flag(help: "Ring: use the final ring from the first step.") var noAnneal = false
    }

    public var outerFinal: Double, inner: Double
    public var anneal: Bool, annealEpochs: Double
    /// Iterations per epoch, for the per-iteration anneal.
    public var stepsPerEpoch: Int

    public init(outer: Double = 0.1, inner: Double = 0.1, anneal: Bool = true, annealEpochs: Double = 1, stepsPerEpoch: Int = 1) throws {
        guard outer > 0, outer <= 1 else { throw StageError.usage("--ring-outer must be in (0, 1] (got \(outer))") }
        guard inner >= 0, inner < 1 else { throw StageError.usage("--ring-inner must be in [0, 1) (got \(inner))") }
        guard !anneal || annealEpochs > 0 else { throw StageError.usage("--anneal-epochs must be > 0 (got \(annealEpochs))") }
        (outerFinal, self.inner, self.anneal, self.annealEpochs) = (outer, inner, anneal, annealEpochs)
        self.stepsPerEpoch = max(1, stepsPerEpoch)
    }

    public init(_ options: SamplerOptions, epochs: Int, stepsPerEpoch: Int) throws {
        let o = options.ring
        try self.init(outer: o.ringOuter, inner: o.ringInner, anneal: !o.noAnneal,
                      annealEpochs: o.annealEpochs ?? Double(epochs) / 2, stepsPerEpoch: stepsPerEpoch)
    }

    /// outer(step) = 1 + (final − 1)·min(1, step / (annealEpochs·stepsPerEpoch)); the final value
    /// throughout when annealing is off.
    public func outer(step: Int) -> Double {
        guard anneal else { return outerFinal }
        let span = annealEpochs * Double(stepsPerEpoch)
        let progress = min(1, Double(max(0, step)) / span)
        return 1 + (outerFinal - 1) * progress
    }

    /// The kept ranks among `candidates` for a given outer fraction.
    public static func ranks(candidates: Int, outer: Double, inner: Double) -> Range<Int> {
        let hi = min(candidates, floorRank(outer * Double(candidates)))
        let lo = min(hi, floorRank(inner * Double(hi)))
        return lo..<hi
    }

    public func choice(candidates: Int, step: Int) -> NegativeChoice {
        .ranks(Self.ranks(candidates: candidates, outer: outer(step: step), inner: inner))
    }

    public var identity: [String: String] {
        ["ring_outer": "\(outerFinal)", "ring_inner": "\(inner)", "anneal": "\(anneal)", "anneal_epochs": "\(annealEpochs)"]
    }

    public func logColumns(step: Int) -> [String: Double] { ["ring_outer": outer(step: step), "ring_inner": inner] }
}
