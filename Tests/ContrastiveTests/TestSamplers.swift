import Contrastive

/// The sampler `name` with `flags` on top of every default, for a run of `epochs` × `stepsPerEpoch`.
func sampler(_ name: String, _ flags: [String] = [], epochs: Int = 1, stepsPerEpoch: Int = 1) -> any NegativeSampler {
    try! SamplerOptions.parse(flags).sampler(named: name, epochs: epochs, stepsPerEpoch: stepsPerEpoch)
}
