import ArgumentParser
import NN
import Ranking
import StageKit

// MoCHi (Kalantidis et al. 2020): from the N hardest queue entries of a query, synthesise s mixes
// normalise(α nₐ + (1−α) n_b) (α ~ U(0,1), a ≠ b) and s′ mixes normalise(β q + (1−β) n_j)
// (β ~ U(0, 0.5)), and append their logits to the query's denominator, beside every real queue entry.
// The synthetic points are constants: the gradient reaches q only through q·h/τ (q inside h′ is
// treated as a constant). MoCo only: it needs a queue and a stream of keys.

public struct MochiSampler: NegativeSampler {
    public static let name = "mochi"
    public static let summary = "every queue entry plus s + s′ mixes of the N hardest (MoCo only)"
    struct Options: SamplerOptionGroup {
        typealias Sampler = MochiSampler
        @Option(help: "MoCHi: hardest N queue entries to mix.") var mochiN: Int = 1024
        @Option(help: "MoCHi: negative–negative mixes s.") var mochiS: Int = 16
        @Option(help: "MoCHi: query–negative mixes s′.") var mochiSPrime: Int = 16
        @Option(help: "MoCHi: first step with synthetic negatives.") var mochiStart: Int = 0
    }

    public var hardest: Int, s: Int, sPrime: Int, startStep: Int

    public init(hardest: Int = 1024, s: Int = 16, sPrime: Int = 16, startStep: Int = 0) throws {
        guard hardest >= 2 else { throw StageError.usage("--mochi-n must be >= 2 (got \(hardest))") }
        guard s >= 0, sPrime >= 0 else { throw StageError.usage("--mochi-s and --mochi-s-prime must be >= 0 (got \(s), \(sPrime))") }
        guard startStep >= 0 else { throw StageError.usage("--mochi-start must be >= 0 (got \(startStep))") }
        (self.hardest, self.s, self.sPrime, self.startStep) = (hardest, s, sPrime, startStep)
    }

    public init(_ options: SamplerOptions, epochs: Int, stepsPerEpoch: Int) throws {
        let o = options.mochi
        try self.init(hardest: o.mochiN, s: o.mochiS, sPrime: o.mochiSPrime, startStep: o.mochiStart)
    }

    public static func check(objective: ObjectiveKind) throws {
        guard objective == .moco else {
            throw StageError("sampler mochi works only with objective moco (it mixes the hardest queue entries); \(objective.rawValue) has no queue")
        }
    }

    public func check(candidates: Int) throws {
        if hardest > candidates { throw StageError.usage("--mochi-n (\(hardest)) exceeds the \(candidates) queue entries") }
    }

    public func choice(candidates: Int, step: Int) -> NegativeChoice { .all }
    public func synthesis(step: Int) -> MochiSynthesis? {
        step >= startStep ? MochiSynthesis(hardest: hardest, s: s, sPrime: sPrime) : nil
    }
    public var identity: [String: String] {
        ["mochi_n": "\(hardest)", "mochi_s": "\(s)", "mochi_s_prime": "\(sPrime)", "mochi_start": "\(startStep)"]
    }

    // ---- the synthesis phase (MoCoObjective calls it between "choose" and "evaluate") ----

    /// One step's synthetic negatives: the vectors, for the gradient, and the draws, for the reference.
    struct Batch {
        let vectors: Tensor<Float>      // [B, s+s′, d]
        let draws: MochiDraws
    }

    /// Phase "synthesise": for each query, its N hardest queue entries (RankOrder) are mixed into
    /// s + s′ synthetic unit vectors whose logits (÷τ) follow the row's real negatives.
    /// `scores` [B, K] = q·queueᵀ; `queries` [B, d]; `queue` [K, d].
    static func synthesise(_ plan: MochiSynthesis, rows: LogitRows, scores: Tensor<Float>, queries: UnsafePointer<Float>,
                           queue: UnsafePointer<Float>, dim d: Int, tau: Float, seed: UInt64, step: Int, firstRow: Int = 0,
                           threads: Int) -> Batch {
        let B = rows.count, K = scores.shape[1], n = min(plan.hardest, K), e = plan.count
        let vectors = Tensor<Float>([B, max(1, e), d])
        let draws = DrawBuffers(rows: B, s: plan.s, sPrime: plan.sPrime)
        parallelRanges(B, threads: threads) { range in
            let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: K)     // [K]
            let hardest = UnsafeMutablePointer<Int32>.allocate(capacity: n)   // [N]
            defer { keys.deallocate(); hardest.deallocate() }
            for i in range {
                _ = RankSelection.selectRanks(keys, scores: scores.data + i * K, count: K, ranks: 0..<n)
                for t in 0..<n { hardest[t] = Int32(RankOrder.candidate(keys[t])) }
                var rng = RNG(seed: seed, stream: [0x4D4F4348, UInt64(step), UInt64(firstRow + i)])   // the global row's stream
                let qi = queries + i * d, h = vectors.data + i * e * d
                mix(query: qi, queue: queue, dim: d, hardest: hardest, n: n, s: plan.s, sPrime: plan.sPrime, rng: &rng,
                    out: h, row: i, draws: draws)
                let m = rows.negatives[i], logits = rows.logitRow(i)
                for x in 0..<e { logits[1 + m + x] = Embeddings.dot(qi, h + x * d, d) * (1 / tau) }
                rows.stats[i].negatives = m + e
            }
        }
        rows.synthetic = e
        return Batch(vectors: vectors, draws: draws.recorded)
    }

    /// dq_i += Σ_x (d loss / d logit of synthetic x) ÷ τ ÷ B · h_x, after the positive's term.
    static func addGradient(_ batch: Batch, rows: LogitRows, invTau: Float, invB: Float, into gradQ: UnsafeMutablePointer<Float>, dim d: Int) {
        let e = rows.synthetic
        for i in 0..<rows.count {
            let gi = gradQ + i * d, g = rows.gradRow(i) + 1 + rows.negatives[i], h = batch.vectors.data + i * e * d
            for x in 0..<e {
                let ge = g[x] * invTau * invB
                for c in 0..<d { gi[c] += ge * h[x * d + c] }
            }
        }
    }

    /// Writes s + s′ synthetic unit vectors [(s+s′), d] for query q, given the queue indices of its N
    /// hardest entries (any order), and records the draws for row `row`.
    static func mix(query q: UnsafePointer<Float>, queue: UnsafePointer<Float>, dim d: Int,
                    hardest: UnsafePointer<Int32>, n: Int, s: Int, sPrime: Int, rng: inout RNG,
                    out: UnsafeMutablePointer<Float>, row: Int, draws: DrawBuffers) {
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

/// The random draws of one MoCHi step, recorded so the NumPy reference can replay them.
public struct MochiDraws: Equatable, Sendable {
    public var s: Int, sPrime: Int
    public var pairs: [Int32]       // [B, s, 2] queue indices (a, b) of each negative–negative mix
    public var alpha: [Float]       // [B, s]
    public var queryMix: [Int32]    // [B, s′] queue index j of each query–negative mix
    public var beta: [Float]        // [B, s′]
}

/// Where the workers write the draws (each query row only its own slots); `recorded` copies them out.
final class DrawBuffers {
    let rows: Int, s: Int, sPrime: Int
    let pairs: UnsafeMutablePointer<Int32>, alpha: UnsafeMutablePointer<Float>       // [B, s, 2], [B, s]
    let queryMix: UnsafeMutablePointer<Int32>, beta: UnsafeMutablePointer<Float>     // [B, s′], [B, s′]

    init(rows: Int, s: Int, sPrime: Int) {
        (self.rows, self.s, self.sPrime) = (rows, s, sPrime)
        pairs = .allocate(capacity: max(1, rows * s * 2)); alpha = .allocate(capacity: max(1, rows * s))
        queryMix = .allocate(capacity: max(1, rows * sPrime)); beta = .allocate(capacity: max(1, rows * sPrime))
    }
    deinit { pairs.deallocate(); alpha.deallocate(); queryMix.deallocate(); beta.deallocate() }

    var recorded: MochiDraws {
        MochiDraws(s: s, sPrime: sPrime, pairs: Array(UnsafeBufferPointer(start: pairs, count: rows * s * 2)),
                   alpha: Array(UnsafeBufferPointer(start: alpha, count: rows * s)),
                   queryMix: Array(UnsafeBufferPointer(start: queryMix, count: rows * sPrime)),
                   beta: Array(UnsafeBufferPointer(start: beta, count: rows * sPrime)))
    }
}
