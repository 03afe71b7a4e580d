// CMC (Tian 2019): two encoders, one per colour modality (L and ab of Lab), and two memory banks.
// The L features are scored against the ab bank (positive abBank[i]) and the ab features against
// the L bank (positive lBank[i]); loss = the sum of the two IR losses (each a mean over the batch).
// Each half is IRObjective with its own RNG stream (0: L→ab, 1: ab→L), so the two halves draw
// independent negatives. Bank writes stay separate named calls (lBank.write(fL), abBank.write(fAB)).

public struct CMCResult: Sendable {
    public var loss: Double                 // lToAB.loss + abToL.loss
    public var gradL: [Float]               // [B, d]
    public var gradAB: [Float]              // [B, d]
    public var lToAB: IRResult              // the L view scored against the ab bank
    public var abToL: IRResult              // the ab view scored against the L bank
    /// Both halves for the log: losses summed, the rest averaged.
    public var stats: ContrastiveStats { .combining(lToAB.stats, abToL.stats) }
}

public enum CMCObjective {
    public static func lossAndGradient(featuresL fL: [Float], featuresAB fAB: [Float], indices: [Int],
                                       bankL: MemoryBank, bankAB: MemoryBank, queryLabels: [Int64]? = nil,
                                       negatives k: Int, tau: Float, sampler: any NegativeSampler, step: Int, seed: UInt64,
                                       threads: Int, percentiles: Bool = false, share: BatchShare? = nil) -> CMCResult {
        let a = IRObjective.lossAndGradient(features: fL, indices: indices, bank: bankAB, queryLabels: queryLabels, negatives: k,
                                            tau: tau, sampler: sampler, step: step, seed: seed, stream: 0, threads: threads,
                                            percentiles: percentiles, share: share)
        let b = IRObjective.lossAndGradient(features: fAB, indices: indices, bank: bankL, queryLabels: queryLabels, negatives: k,
                                            tau: tau, sampler: sampler, step: step, seed: seed, stream: 1, threads: threads,
                                            percentiles: percentiles, share: share)
        return CMCResult(loss: a.loss + b.loss, gradL: a.gradFeatures, gradAB: b.gradFeatures, lToAB: a, abToL: b)
    }
}
