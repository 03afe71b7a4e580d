import ArgumentParser
import StageKit

// Band (Cai et al. 2020): keep the negatives ranked in [⌊lo·K⌋, ⌊hi·K⌋) by descending similarity,
// with lo and hi given in hardness percent (0 = hardest). E.g. [0, 5) = the hardest 5 %.

public struct BandSampler: NegativeSampler {
    public static let name = "band"
    public static let summary = "ranks [--band-lo, --band-hi) percent of the candidates (0 = hardest)"
    struct Options: SamplerOptionGroup {
        typealias Sampler = BandSampler
        @Option(help: "Band: lower bound in hardness percent (0 = hardest).") var bandLo: Double = 0
        @Option(help: "Band: upper bound in hardness percent.") var bandHi: Double = 5
    }

    public var loPercent: Double, hiPercent: Double

    public init(loPercent: Double = 0, hiPercent: Double = 5) throws {
        guard loPercent >= 0, hiPercent <= 100, loPercent < hiPercent else {
            throw StageError.usage("--band-lo and --band-hi must satisfy 0 <= lo < hi <= 100 percent (got [\(loPercent), \(hiPercent)))")
        }
        (self.loPercent, self.hiPercent) = (loPercent, hiPercent)
    }

    public init(_ options: SamplerOptions, epochs: Int, stepsPerEpoch: Int) throws {
        try self.init(loPercent: options.band.bandLo, hiPercent: options.band.bandHi)
    }

    /// The kept ranks among `candidates`.
    public func ranks(candidates: Int) -> Range<Int> {
        let k = Double(candidates)
        let hi = min(candidates, floorRank(hiPercent / 100 * k))
        let lo = min(hi, floorRank(loPercent / 100 * k))
        return lo..<hi
    }

    public func choice(candidates: Int, step: Int) -> NegativeChoice { .ranks(ranks(candidates: candidates)) }
    public var identity: [String: String] { ["band_lo": "\(loPercent)", "band_hi": "\(hiPercent)"] }
    public func logColumns(step: Int) -> [String: Double] { ["band_lo": loPercent, "band_hi": hiPercent] }
}
