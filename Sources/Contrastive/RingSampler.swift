// Ring (CNCE, Wu et al. 2021): keep the negatives ranked in [⌊inner·⌊outer·K⌋⌋, ⌊outer·K⌋) by
// descending similarity, so the very hardest (likely false negatives) and the easy tail are dropped.
// Only `outer` anneals: linearly from 1 to its final value over `annealEpochs`, per iteration, then held.
// Adding a sampler touches SamplerKind.swift (see the list there), not this file.

public enum RingSampler {
    /// outer(step) = 1 + (final − 1)·min(1, step / (annealEpochs·stepsPerEpoch)); the final value
    /// throughout when annealing is off.
    public static func outer(step: Int, config: SamplerConfig, stepsPerEpoch: Int) -> Double {
        guard config.ringAnneal else { return config.ringOuter }
        let span = config.ringAnnealEpochs * Double(max(1, stepsPerEpoch))
        let progress = min(1, Double(max(0, step)) / span)
        return 1 + (config.ringOuter - 1) * progress
    }

    /// The kept ranks among `candidates`.
    public static func ranks(candidates: Int, outer: Double, inner: Double) -> Range<Int> {
        let hi = min(candidates, floorRank(outer * Double(candidates)))
        let lo = min(hi, floorRank(inner * Double(hi)))
        return lo..<hi
    }
}
