import Foundation
import NN
import StageKit

/// Named linear-probe protocols. Adding an SGD one touches `hyperparameters` only (the CLI lists the cases).
public enum ProbeProtocol: String, CaseIterable, Sendable {
    /// the default: standardised features, L2-regularised logistic regression with λ chosen on a
    /// held-out 10 % of the training split, refit on all of it (TunedProbe; full-batch L-BFGS)
    case tuned
    /// MoCo's main_lincls: SGD momentum 0.9, lr 30, wd 0, 100 epochs, lr ×0.1 at 60 % and 80 %, batch 256
    case moco
    /// the Ring authors' code: lr 0.01, wd 1e-5, momentum 0.9, constant lr (100 epochs, batch 256)
    case ring

    public var hyperparameters: ProbeHyperparameters {
        switch self {
        case .tuned: ProbeHyperparameters(lr: 1, momentum: 0, weightDecay: 0, epochs: 1, batch: 1, milestones: [])   // unused
        case .moco: ProbeHyperparameters(lr: 30, momentum: 0.9, weightDecay: 0, epochs: 100, batch: 256, milestones: [0.6, 0.8])
        case .ring: ProbeHyperparameters(lr: 0.01, momentum: 0.9, weightDecay: 1e-5, epochs: 100, batch: 256, milestones: [])
        }
    }
}

/// How the classifier starts. `normal` is torch's lincls init (weights N(0, 0.01²), bias 0).
public enum ProbeInit: String, CaseIterable, Sendable {
    case normal, zeros
}

public struct ProbeHyperparameters: Sendable, Equatable {
    public var lr: Double
    public var momentum: Double
    public var weightDecay: Double      // applied to weights and bias alike, as torch SGD does
    public var epochs: Int
    public var batch: Int
    public var milestones: [Double]     // fractions of `epochs` at which lr is multiplied by `gamma`
    public var gamma: Double = 0.1
    public var standardize = false      // feature standardisation with train mean / std
    public var initialization: ProbeInit = .normal

    public init(lr: Double, momentum: Double, weightDecay: Double, epochs: Int, batch: Int, milestones: [Double]) {
        self.lr = lr
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.epochs = epochs
        self.batch = batch
        self.milestones = milestones
    }

    public func validate() throws {
        guard lr > 0, lr.isFinite else { throw StageError.usage("--lr must be positive (got \(lr))") }
        guard momentum >= 0, momentum < 1 else { throw StageError.usage("--momentum must be in [0, 1) (got \(momentum))") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw StageError.usage("--wd must be ≥ 0 (got \(weightDecay))") }
        guard epochs >= 1 else { throw StageError.usage("--epochs must be at least 1 (got \(epochs))") }
        guard batch >= 1 else { throw StageError.usage("--batch must be at least 1 (got \(batch))") }
    }

    /// The epoch (0-based) at which each milestone takes effect: round(fraction × epochs).
    public var milestoneEpochs: [Int] { milestones.map { Int(($0 * Double(epochs)).rounded()) } }

    /// Learning rate for a (0-based) epoch: lr × gamma^(milestones reached).
    public func learningRate(epoch: Int) -> Double {
        lr * pow(gamma, Double(milestoneEpochs.filter { epoch >= $0 }.count))
    }
}

/// A trained multinomial logistic-regression classifier: logits = x·W + b.
public struct LinearClassifier: Sendable {
    public var weights: [Float]     // [dim, classes]
    public var bias: [Float]        // [classes]
    public let dim: Int
    public let classes: Int
    public var finalLoss: Double    // mean training loss over the last epoch

    /// [n, classes] logits for n rows of `x` ([n, dim]).
    public func logits(_ x: [Float], count n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * classes)   // [n, classes]
        for r in 0..<n { for c in 0..<classes { out[r * classes + c] = bias[c] } }
        x.withUnsafeBufferPointer { xp in weights.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in
            gemm(m: n, n: classes, k: dim, xp.baseAddress!, wp.baseAddress!, beta: 1, op.baseAddress!)
        }}}
        return out
    }

    /// Top-1 and top-5 accuracy (percent) on labelled features; class ties go to the lower class.
    /// The top-scoring class of every item: [count].
    public func predictions(on data: LabeledFeatures) -> [Int32] {
        let z = logits(data.values, count: data.count)
        var out = [Int32](repeating: 0, count: data.count)
        z.withUnsafeBufferPointer { zp in
            out.withUnsafeMutableBufferPointer { op in
                for i in 0..<data.count { WeightedKNN.rankClasses(zp.baseAddress! + i * classes, classes: classes, into: op.baseAddress! + i, count: 1) }
            }
        }
        return out
    }

    public func accuracy(on data: LabeledFeatures) -> (top1: Double, top5: Double) {
        let z = logits(data.values, count: data.count)
        let ranked = min(5, classes)
        var hit1 = 0, hit5 = 0
        var best = [Int32](repeating: 0, count: ranked)   // [ranked]
        z.withUnsafeBufferPointer { zp in
            best.withUnsafeMutableBufferPointer { bp in
                for i in 0..<data.count {
                    WeightedKNN.rankClasses(zp.baseAddress! + i * classes, classes: classes, into: bp.baseAddress!, count: ranked)
                    let label = Int32(data.labels[i])
                    if bp[0] == label { hit1 += 1 }
                    for r in 0..<ranked where bp[r] == label { hit5 += 1; break }
                }
            }
        }
        return (percent(hit1, of: data.count), percent(hit5, of: data.count))
    }
}

public enum LinearProbe {
    /// The seeded order in which an epoch visits the training items (Fisher–Yates on a per-epoch stream).
    public static func epochOrder(seed: UInt64, epoch: Int, count: Int) -> [Int32] {
        var order = (0..<count).map { Int32($0) }
        var rng = RNG(seed: seed, stream: [0x50_524F_4245, UInt64(epoch)])   // "PROBE"
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        }
        return order
    }

    /// Trains on `train` (already standardised if wanted) with SGD + momentum on the mean softmax
    /// cross-entropy. `order(epoch)` gives the visiting order; batches are consecutive slices of it,
    /// the last one possibly short (no drop_last, as torch's DataLoader).
    public static func train(_ train: LabeledFeatures, classes: Int, hyper h: ProbeHyperparameters, seed: UInt64,
                             order: (Int) -> [Int32], progress: StageKit.Progress? = nil) -> LinearClassifier {
        let n = train.count, dim = train.dim, batch = min(h.batch, n)
        var w = [Float](repeating: 0, count: dim * classes)        // [dim, classes]
        var b = [Float](repeating: 0, count: classes)              // [classes]
        if h.initialization == .normal {
            var rng = RNG(seed: seed, stream: [0x50_524F_4245, 0x1A17])
            for i in 0..<w.count { w[i] = Float(0.01 * rng.normal()) }
        }
        var vw = [Float](repeating: 0, count: dim * classes)       // [dim, classes] momentum buffer
        var vb = [Float](repeating: 0, count: classes)             // [classes]
        var xb = [Float](repeating: 0, count: batch * dim)         // [batch, dim] gathered inputs
        var g = [Float](repeating: 0, count: batch * classes)      // [batch, classes] logits, then dLoss/dlogits
        var gw = [Float](repeating: 0, count: dim * classes)       // [dim, classes]
        var lastLoss = 0.0
        let mu = Float(h.momentum), wd = Float(h.weightDecay)

        train.values.withUnsafeBufferPointer { xAll in
        w.withUnsafeMutableBufferPointer { wP in
        b.withUnsafeMutableBufferPointer { bP in
        vw.withUnsafeMutableBufferPointer { vwP in
        vb.withUnsafeMutableBufferPointer { vbP in
        xb.withUnsafeMutableBufferPointer { xbP in
        g.withUnsafeMutableBufferPointer { gP in
        gw.withUnsafeMutableBufferPointer { gwP in
            for epoch in 0..<h.epochs {
                let lr = Float(h.learningRate(epoch: epoch))
                let visit = order(epoch)
                precondition(visit.count == n, "probe: an epoch order must list every item once")
                var lossSum = 0.0
                var start = 0
                while start < n {
                    let rows = min(batch, n - start)
                    // gather the batch: xb[r] = x[visit[start + r]]
                    for r in 0..<rows {
                        (xbP.baseAddress! + r * dim).update(from: xAll.baseAddress! + Int(visit[start + r]) * dim, count: dim)
                    }
                    // forward: g = xb·W + b
                    for r in 0..<rows { for c in 0..<classes { gP[r * classes + c] = bP[c] } }
                    gemm(m: rows, n: classes, k: dim, xbP.baseAddress!, wP.baseAddress!, beta: 1, gP.baseAddress!)
                    // softmax cross-entropy; g becomes (softmax − onehot) / rows
                    let invRows = 1 / Float(rows)
                    for r in 0..<rows {
                        let z = gP.baseAddress! + r * classes
                        var zmax = z[0]
                        for c in 1..<classes { zmax = max(zmax, z[c]) }
                        var sum: Double = 0
                        for c in 0..<classes { sum += Double(exp(z[c] - zmax)) }
                        let label = Int(train.labels[Int(visit[start + r])])
                        lossSum += log(sum) - Double(z[label] - zmax)
                        let inv = Float(1 / sum)
                        for c in 0..<classes { z[c] = exp(z[c] - zmax) * inv * invRows }
                        z[label] -= invRows
                    }
                    // backward: gW = xbᵀ·g, gb = Σ_rows g
                    gemm(transA: true, m: dim, n: classes, k: rows, xbP.baseAddress!, gP.baseAddress!, gwP.baseAddress!)
                    // SGD with momentum (torch semantics): v = μv + (g + wd·p); p −= lr·v
                    for i in 0..<(dim * classes) {
                        vwP[i] = mu * vwP[i] + (gwP[i] + wd * wP[i])
                        wP[i] -= lr * vwP[i]
                    }
                    for c in 0..<classes {
                        var gb: Float = 0
                        for r in 0..<rows { gb += gP[r * classes + c] }
                        vbP[c] = mu * vbP[c] + (gb + wd * bP[c])
                        bP[c] -= lr * vbP[c]
                    }
                    start += rows
                }
                lastLoss = lossSum / Double(n)
                progress?.advance(1, status: String(format: "loss %.4f", lastLoss))
            }
        }}}}}}}}
        return LinearClassifier(weights: w, bias: b, dim: dim, classes: classes, finalLoss: lastLoss)
    }
}

/// Per-dimension standardisation with the train split's statistics, applied to any split.
public struct Standardizer: Sendable {
    public let mean: [Float]   // [dim]
    public let scale: [Float]  // [dim] 1 / std (1 where std is 0)

    public init(fitting data: LabeledFeatures) {
        let n = data.count, d = data.dim
        var sum = [Double](repeating: 0, count: d), sq = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { let v = Double(data.values[i * d + j]); sum[j] += v; sq[j] += v * v }
        }
        var m = [Float](repeating: 0, count: d), s = [Float](repeating: 1, count: d)
        for j in 0..<d {
            let mu = sum[j] / Double(n)
            let variance = max(sq[j] / Double(n) - mu * mu, 0)
            m[j] = Float(mu)
            s[j] = variance > 1e-12 ? Float(1 / variance.squareRoot()) : 1
        }
        mean = m
        scale = s
    }

    public func apply(_ data: inout LabeledFeatures, threads: Int) {
        let d = data.dim, mean = self.mean, scale = self.scale
        data.values.withUnsafeMutableBufferPointer { p in
            parallelRanges(data.count, threads: threads) { range in
                for i in range { for j in 0..<d { p[i * d + j] = (p[i * d + j] - mean[j]) * scale[j] } }
            }
        }
    }
}
