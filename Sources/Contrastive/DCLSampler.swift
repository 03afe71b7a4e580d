// DCL (Chuang et al. 2020): the debiased loss of HCLSampler.swift with β = 0 (no reweighting).
// Adding a sampler touches SamplerKind.swift (see the list there), not this file.

public enum DCLSampler {
    public static func lossForm(tauPlus: Double) -> LossForm { .debiased(beta: 0, tauPlus: tauPlus) }
}
