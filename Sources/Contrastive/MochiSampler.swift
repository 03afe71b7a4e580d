import StageKit

// MoCHi (Kalantidis et al. 2020): from the N hardest queue entries of a query, synthesise s mixes
// normalise(α nₐ + (1−α) n_b) (α ~ U(0,1), a ≠ b) and s′ mixes normalise(β q + (1−β) n_j)
// (β ~ U(0, 0.5)), and append their logits to the query's denominator. The synthetic points are
// constants: the gradient reaches q only through q·h/τ (q inside h′ is treated as a constant).
// Adding a sampler touches SamplerKind.swift (see the list there), not this file.

/// The random draws of one MoCHi step, recorded so the NumPy reference can replay them.
public struct MochiDraws: Equatable, Sendable {
    public var s: Int, sPrime: Int
    public var pairs: [Int32]       // [B, s, 2] queue indices (a, b) of each negative–negative mix
    public var alpha: [Float]       // [B, s]
    public var queryMix: [Int32]    // [B, s′] queue index j of each query–negative mix
    public var beta: [Float]        // [B, s′]
}

/// Raw views of a `MochiDraws`' arrays; each query row writes only its own slots.
struct MochiDrawPointers {
    let pairs: UnsafeMutablePointer<Int32>, alpha: UnsafeMutablePointer<Float>
    let queryMix: UnsafeMutablePointer<Int32>, beta: UnsafeMutablePointer<Float>
}

public enum MochiSampler {
    /// RNG stream of query `row` at `step`: draws are independent of the thread count.
    static func rng(seed: UInt64, step: Int, row: Int) -> RNG { RNG(seed: seed, stream: [0x4D4F4348, UInt64(step), UInt64(row)]) }

    /// Writes s + s′ synthetic unit vectors [(s+s′), d] for query q, given the queue indices of its N
    /// hardest entries (any order), and records the draws for row `row`.
    static func synthesise(query q: UnsafePointer<Float>, queue: UnsafePointer<Float>, dim d: Int,
                           hardest: UnsafePointer<Int32>, n: Int, s: Int, sPrime: Int, rng: inout RNG,
                           out: UnsafeMutablePointer<Float>, row: Int, draws: MochiDrawPointers) {
        for t in 0..<s {
            let i = rng.below(n)
            let j = (i + 1 + rng.below(n - 1)) % n
            let a = Int(hardest[i]), b = Int(hardest[j])
            let alpha = Float(rng.uniform())
            let h = out + t * d
            for c in 0..<d { h[c] = alpha * queue[a * d + c] + (1 - alpha) * queue[b * d + c] }
            normalise(h, d)
            draws.pairs[(row * s + t) * 2] = Int32(a); draws.pairs[(row * s + t) * 2 + 1] = Int32(b)
            draws.alpha[row * s + t] = alpha
        }
        for t in 0..<sPrime {
            let j = Int(hardest[rng.below(n)])
            let beta = Float(rng.uniform(0, 0.5))
            let h = out + (s + t) * d
            for c in 0..<d { h[c] = beta * q[c] + (1 - beta) * queue[j * d + c] }
            normalise(h, d)
            draws.queryMix[row * sPrime + t] = Int32(j)
            draws.beta[row * sPrime + t] = beta
        }
    }

    @inline(__always) static func normalise(_ v: UnsafeMutablePointer<Float>, _ d: Int) {
        var s: Float = 0
        for c in 0..<d { s += v[c] * v[c] }
        let inv = 1 / max(s.squareRoot(), 1e-12)
        for c in 0..<d { v[c] *= inv }
    }
}
