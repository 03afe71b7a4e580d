import ArgumentParser
import StageKit

// Subset: a uniformly random subset of the candidates, as large at every step as the ring or band it
// mirrors (`--subset-of ring` with the ring's flags, anneal included, or `--subset-of band` with the
// band's). The control that separates "fewer negatives" from "harder negatives": same count, no
// preference for hardness. Drawn without replacement, seeded per (seed, step, query).

public struct SubsetSampler: NegativeSampler {
    public static let name = "subset"
    public static let summary = "a uniform random subset as large as --subset-of's ring or band"
    public enum Reference: String, CaseIterable, ExpressibleByArgument, Sendable { case ring, band }
    struct Options: SamplerOptionGroup {
        typealias Sampler = SubsetSampler
        @Option(help: "Subset: keep as many random candidates as this sampler (ring or band, with its own flags) keeps.")
        var subsetOf: Reference = .ring
    }

    /// The ring or band whose kept count it copies (only those two: a subset has no loss form or synthesis of its own).
    public let reference: any NegativeSampler

    public init(like ring: RingSampler) { reference = ring }
    public init(like band: BandSampler) { reference = band }

    public init(_ options: SamplerOptions, epochs: Int, stepsPerEpoch: Int) throws {
        switch options.subset.subsetOf {
        case .ring: self.init(like: try RingSampler(options, epochs: epochs, stepsPerEpoch: stepsPerEpoch))
        case .band: self.init(like: try BandSampler(options, epochs: epochs, stepsPerEpoch: stepsPerEpoch))
        }
    }

    public func choice(candidates: Int, step: Int) -> NegativeChoice {
        .random(count: reference.choice(candidates: candidates, step: step).count(of: candidates))
    }

    public var identity: [String: String] { reference.identity.merging(["subset_of": reference.name]) { a, _ in a } }
    public func logColumns(step: Int) -> [String: Double] { reference.logColumns(step: step) }
}
