// Band (Cai et al. 2020): keep the negatives ranked in [⌊lo·K⌋, ⌊hi·K⌋) by descending similarity,
// with lo and hi given in hardness percent (0 = hardest). E.g. [0, 5) = the hardest 5 %.
// Adding a sampler touches SamplerKind.swift (see the list there), not this file.

public enum BandSampler {
    /// The kept ranks among `candidates`; lo and hi are percentages in [0, 100].
    public static func ranks(candidates: Int, loPercent: Double, hiPercent: Double) -> Range<Int> {
        let k = Double(candidates)
        let hi = min(candidates, floorRank(hiPercent / 100 * k))
        let lo = min(hi, floorRank(loPercent / 100 * k))
        return lo..<hi
    }
}
