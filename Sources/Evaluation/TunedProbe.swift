import Foundation
import NN
import StageKit

/// The tuned linear probe (the probe column of every table): standardised features, multinomial
/// logistic regression with an L2 penalty chosen on a held-out 10 % of the training split, then refit
/// on all of it. Deterministic: the split is seeded and the fits are full-batch L-BFGS from zero.
///
///   f(W, b) = (1/n) Σ_i CE(softmax(x_i·W + b), y_i) + (λ/2)‖W‖²        (the bias is not penalised)
///
/// The problem is strictly convex for λ > 0, so every fit converges to the one optimum that
/// scripts/ref_eval_probe_tuned.py finds with Newton's method.
public struct TunedProbeSettings: Sendable, Equatable {
    /// λ grid (any order; fitted strongest penalty first, each fit starting from the previous
    /// optimum; ties in held-out accuracy go to the stronger penalty).
    public var grid: [Double] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    public var holdoutFraction = 0.1
    public var maxIterations = 200
    /// Stop when the gradient's largest entry falls below this.
    public var tolerance = 1e-4
    public var memory = 10

    public init() {}
}

public struct TunedProbeResult: Sendable {
    public var classifier: LinearClassifier
    public var chosenL2: Double
    public var holdoutTop1: [Double]        // per grid value
    public var iterations: Int              // of the final refit
    public var converged: Bool
}

public enum TunedProbe {
    /// Positions of the held-out items: a seeded shuffle's first ⌈fraction·n⌉, ascending.
    public static func holdout(count n: Int, fraction: Double, seed: UInt64) -> [Int] {
        let m = min(n - 1, max(1, Int((fraction * Double(n)).rounded(.up))))
        var order = Array(0..<n)
        var rng = RNG(seed: seed, stream: [0x54_554E_4544])       // "TUNED"
        order.shuffle(using: &rng)
        return order[..<m].sorted()
    }

    /// Chooses λ on the hold-out, refits on all of `train` (both already standardised).
    public static func run(_ train: LabeledFeatures, classes: Int, settings s: TunedProbeSettings, seed: UInt64,
                           threads: Int, progress: StageKit.Progress? = nil) -> TunedProbeResult {
        let held = holdout(count: train.count, fraction: s.holdoutFraction, seed: seed)
        var isHeld = [Bool](repeating: false, count: train.count)
        for i in held { isHeld[i] = true }
        let fitPart = train.subset((0..<train.count).filter { !isHeld[$0] })
        let heldPart = train.subset(held)
        let grid = s.grid.sorted(by: >)                          // strongest first: warm starts along the path
        var scores: [Double] = [], starts: [[Double]] = []
        var start: [Double]? = nil
        for lambda in grid {
            let fit = self.fit(fitPart, classes: classes, l2: lambda, settings: s, threads: threads, from: start)
            scores.append(fit.classifier.accuracy(on: heldPart).top1)
            starts.append(fit.theta)
            start = fit.theta
            progress?.advance(1, status: String(format: "λ %g: held-out %.2f %%", lambda, scores.last!))
        }
        var best = 0
        for i in scores.indices where scores[i] > scores[best] { best = i }     // ties → stronger penalty
        let final = fit(train, classes: classes, l2: grid[best], settings: s, threads: threads, from: starts[best])
        progress?.advance(1, status: String(format: "refit with λ %g", grid[best]))
        let inGridOrder = s.grid.map { l in scores[grid.firstIndex(of: l)!] }
        return TunedProbeResult(classifier: final.classifier, chosenL2: grid[best], holdoutTop1: inGridOrder,
                                iterations: final.iterations, converged: final.converged)
    }

    /// Full-batch L-BFGS (two-loop recursion, Armijo backtracking) from `from` (default W = 0, b = 0).
    public static func fit(_ data: LabeledFeatures, classes: Int, l2: Double, settings s: TunedProbeSettings, threads: Int,
                           from initial: [Double]? = nil) -> (classifier: LinearClassifier, theta: [Double], iterations: Int, converged: Bool) {
        let objective = Objective(data: data, classes: classes, l2: l2, threads: threads)
        let p = objective.parameterCount
        var theta = initial ?? [Double](repeating: 0, count: p)  // [dim·classes + classes]: W row-major, then b
        precondition(theta.count == p, "TunedProbe.fit: start has \(theta.count) values, need \(p)")
        var (f, g) = objective.evaluate(theta)
        var steps: [[Double]] = [], changes: [[Double]] = []     // s_k = Δθ, y_k = Δg (newest last)
        var iterations = 0, converged = false
        while iterations < s.maxIterations {
            if g.map(abs).max()! < s.tolerance { converged = true; break }
            var direction = twoLoop(g, steps: steps, changes: changes).map { -$0 }
            var slope = dot(g, direction)
            if !(slope < 0) { direction = g.map { -$0 }; slope = -dot(g, g); steps = []; changes = [] }
            var t = steps.isEmpty ? min(1, 1 / max(1e-12, g.map(abs).reduce(0, +))) : 1.0
            var next = theta, fNext = f, gNext = g, accepted = false
            for _ in 0..<40 {
                for i in 0..<p { next[i] = theta[i] + t * direction[i] }
                (fNext, gNext) = objective.evaluate(next)
                if fNext <= f + 1e-4 * t * slope { accepted = true; break }
                t *= 0.5
            }
            iterations += 1
            if !accepted { break }                               // no descent left at float precision
            let sk = zip(next, theta).map { $0 - $1 }, yk = zip(gNext, g).map { $0 - $1 }
            if dot(sk, yk) > 1e-12 {
                steps.append(sk); changes.append(yk)
                if steps.count > s.memory { steps.removeFirst(); changes.removeFirst() }
            }
            let decrease = f - fNext
            theta = next; f = fNext; g = gNext
            if decrease <= 1e-12 * max(1, abs(f)) { converged = g.map(abs).max()! < 100 * s.tolerance; break }
        }
        let d = data.dim
        let classifier = LinearClassifier(weights: theta[..<(d * classes)].map { Float($0) },
                                          bias: theta[(d * classes)...].map { Float($0) },
                                          dim: d, classes: classes, finalLoss: f)
        return (classifier, theta, iterations, converged)
    }

    /// H⁻¹·g from the stored pairs (Nocedal & Wright, Algorithm 7.4).
    static func twoLoop(_ g: [Double], steps: [[Double]], changes: [[Double]]) -> [Double] {
        var q = g
        var alpha = [Double](repeating: 0, count: steps.count)
        for k in steps.indices.reversed() {
            let rho = 1 / dot(changes[k], steps[k])
            alpha[k] = rho * dot(steps[k], q)
            for i in q.indices { q[i] -= alpha[k] * changes[k][i] }
        }
        if let s = steps.last, let y = changes.last {
            let gamma = dot(s, y) / dot(y, y)
            for i in q.indices { q[i] *= gamma }
        }
        for k in steps.indices {
            let rho = 1 / dot(changes[k], steps[k])
            let beta = rho * dot(changes[k], q)
            for i in q.indices { q[i] += (alpha[k] - beta) * steps[k][i] }
        }
        return q
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    /// The penalised mean cross-entropy and its gradient; products in Float through BLAS, sums in Double.
    struct Objective {
        let data: LabeledFeatures
        let classes: Int, l2: Double, threads: Int
        var parameterCount: Int { data.dim * classes + classes }

        /// Each worker takes a fixed contiguous share of the rows and walks it in chunks small enough to
        /// stay in cache between the forward product and the gradient product (one pass over X from
        /// memory instead of two); the shares are summed in worker order, so the result depends on the
        /// thread count only.
        func evaluate(_ theta: [Double]) -> (Double, [Double]) {
            let n = data.count, d = data.dim, c = classes
            let w = theta[..<(d * c)].map { Float($0) }         // [d, c]
            let bias = Array(theta[(d * c)...])                  // [c]
            let workers = max(1, min(threads, n / 1024))
            let chunk = max(64, (1 << 19) / max(1, d))           // rows per chunk: ≈ 2 MB of X
            var partGW = [Float](repeating: 0, count: workers * d * c)   // [workers, d, c] Xᵀ·G per share
            var partB = [Double](repeating: 0, count: workers * c)       // [workers, c] Σ G per share
            var partLoss = [Double](repeating: 0, count: workers)        // [workers]
            let invN = 1 / Double(n)
            BLASRuntime.singleThreaded {
                data.values.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                partGW.withUnsafeMutableBufferPointer { gwp in partB.withUnsafeMutableBufferPointer { bp in
                partLoss.withUnsafeMutableBufferPointer { lp in
                    parallelRanges(workers, threads: workers) { range in
                        for t in range {
                            let lo = t * n / workers, hi = (t + 1) * n / workers
                            let z = UnsafeMutablePointer<Float>.allocate(capacity: chunk * c)     // [chunk, c]
                            let logits = UnsafeMutablePointer<Double>.allocate(capacity: c)      // [c]
                            defer { z.deallocate(); logits.deallocate() }
                            var loss = 0.0
                            for first in stride(from: lo, to: hi, by: chunk) {
                                let rows = min(chunk, hi - first), x = xp.baseAddress! + first * d
                                gemm(m: rows, n: c, k: d, x, wp.baseAddress!, z)                 // Z = X·W
                                for r in 0..<rows {
                                    let row = z + r * c, label = Int(data.labels[first + r])
                                    for k in 0..<c { logits[k] = Double(row[k]) + bias[k] }
                                    var top = logits[0]
                                    for k in 1..<c { top = max(top, logits[k]) }
                                    let margin = logits[label] - top
                                    var sum = 0.0
                                    for k in 0..<c { logits[k] = exp(logits[k] - top); sum += logits[k] }
                                    loss += log(sum) - margin
                                    for k in 0..<c {
                                        let g = (logits[k] / sum - (k == label ? 1 : 0)) * invN
                                        row[k] = Float(g); bp[t * c + k] += g
                                    }
                                }
                                // gW_t += Xᵀ·G for this chunk, while X is still in cache
                                gemm(transA: true, m: d, n: c, k: rows, x, z, beta: first == lo ? 0 : 1, gwp.baseAddress! + t * d * c)
                            }
                            lp[t] = loss
                        }
                    }
                }}}}}
            }
            var grad = [Double](repeating: 0, count: theta.count)
            var penalty = 0.0
            for i in 0..<(d * c) { penalty += theta[i] * theta[i]; grad[i] = l2 * theta[i] }
            for t in 0..<workers {
                for i in 0..<(d * c) { grad[i] += Double(partGW[t * d * c + i]) }
                for k in 0..<c { grad[d * c + k] += partB[t * c + k] }
            }
            return (partLoss.reduce(0, +) * invN + 0.5 * l2 * penalty, grad)
        }
    }
}
