// Uniform (plain NCE): every queue entry / in-batch view is a negative; for IR, k bank entries are
// drawn uniformly with replacement, excluding the query's own entry.
// Adding a sampler touches SamplerKind.swift (see the list there), not this file.
import StageKit

public enum UniformSampler {
    /// A uniform draw from 0..<n without `excluded` (n ≥ 2): draw from n − 1 and skip over it.
    @inline(__always)
    public static func draw(_ n: Int, excluding excluded: Int, rng: inout RNG) -> Int {
        let r = rng.below(n - 1)
        return r >= excluded ? r + 1 : r
    }
}
