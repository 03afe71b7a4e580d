import ArgumentParser
import StageKit

// Uniform (plain NCE): every queue entry / in-batch view is a negative; for IR, k bank entries are
// drawn uniformly with replacement, excluding the query's own entry.

public struct UniformSampler: NegativeSampler {
    public static let name = "uniform"
    public static let summary = "every candidate (IR: k uniform draws)"
    struct Options: SamplerOptionGroup {
        typealias Sampler = UniformSampler
    }

    public init(_ options: SamplerOptions = .defaults, epochs: Int = 1, stepsPerEpoch: Int = 1) {}
    public func choice(candidates: Int, step: Int) -> NegativeChoice { .all }
    public var identity: [String: String] { [:] }

    /// A uniform draw from 0..<n without `excluded` (n ≥ 2): draw from n − 1 and skip over it.
    @inline(__always)
    public static func draw(_ n: Int, excluding excluded: Int, rng: inout RNG) -> Int {
        let r = rng.below(n - 1)
        return r >= excluded ? r + 1 : r
    }
}
