import Foundation
import StageKit
import Ranking

/// The CNCE estimator study (Wu et al., "Conditional Negative Sampling…", §3): on correlated Gaussian
/// pairs with known mutual information, compare NCE (negatives uniform from a pool drawn from p(y)) with
/// CNCE (negatives drawn from a ring of ranks around each positive's x, as the IR-Ring sampler does)
/// using the optimal critic f(x, y) = log p(y|x)/p(y), so only the estimator differs.
/// The paper proves CNCE is a lower bound too, looser than NCE, with lower variance.
/// Adding an estimator: append a `CNCERing` to `CNCEStudyConfig.rings` (uniform = outer 1, inner 0).
public struct CNCERing: Sendable, Codable, Equatable {
    public var name: String
    public var outer: Double                 // keep ranks [⌊inner·⌊outer·M⌋⌋, ⌊outer·M⌋) of the pool of M
    public var inner: Double
    public init(_ name: String, outer: Double, inner: Double) { self.name = name; self.outer = outer; self.inner = inner }
    public var isUniform: Bool { outer >= 1 && inner <= 0 }
}

public struct CNCEStudyConfig: Sendable {
    public var repetitions = 200
    public var batch = 128                   // positive pairs per estimate
    public var negatives = 32                // k
    public var pool = 1024                   // M candidates per positive, drawn from p(y)
    public var dim = 4
    public var rhos: [Double] = [0.5, 0.8, 0.9]
    public var rings: [CNCERing] = [
        CNCERing("NCE (uniform)", outer: 1, inner: 0),
        CNCERing("CNCE ring 0–50 %", outer: 0.5, inner: 0),
        CNCERing("CNCE ring 0–20 %", outer: 0.2, inner: 0),
        CNCERing("CNCE ring 1–10 %", outer: 0.1, inner: 0.1),
        CNCERing("CNCE ring 0–5 %", outer: 0.05, inner: 0),
    ]
    public var seed: UInt64 = 0
    public var threads = 1
    public init() {}
}

/// One (ρ, estimator) cell of the study.
public struct CNCEStudyRow: Sendable, Codable, Equatable {
    public var rho: Double
    public var trueMI: Double
    public var estimator: String
    public var outer: Double
    public var inner: Double
    public var mean: Double
    public var bias: Double                  // mean − true MI
    public var variance: Double              // across repetitions (ddof 1)
    public var standardError: Double         // of the mean
    public var looserThanNCE: Bool?          // mean below NCE's mean (nil for NCE itself)
    public var lowerVarianceThanNCE: Bool?
}

public enum CNCEStudy {
    /// I(X;Y) for d independent dimensions with correlation ρ each: −d/2 · log(1 − ρ²).
    public static func closedFormMI(dim: Int, rho: Double) -> Double { -Double(dim) / 2 * log(1 - rho * rho) }

    /// n pairs (x, y) with x, y ~ N(0, I_d) and corr(x_j, y_j) = ρ: y = ρx + √(1−ρ²)·ε. Rows of d values.
    public static func samplePairs(dim: Int, rho: Double, count: Int, rng: inout RNG) -> (x: [Double], y: [Double]) {
        var x = [Double](repeating: 0, count: count * dim), y = x          // [count, dim] each
        let s = (1 - rho * rho).squareRoot()
        for i in 0..<(count * dim) {
            x[i] = rng.normal()
            y[i] = rho * x[i] + s * rng.normal()
        }
        return (x, y)
    }

    /// The optimal critic log p(y|x) − log p(y) for one pair of d-vectors.
    @inline(__always)
    public static func critic(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, dim: Int, rho: Double) -> Double {
        let v = 1 - rho * rho
        var s = -Double(dim) / 2 * log(v)
        for j in 0..<dim {
            let r = y[j] - rho * x[j]
            s += -r * r / (2 * v) + y[j] * y[j] / 2
        }
        return s
    }

    /// Runs every (ρ, estimator) cell; rows in config order (ρ outer, estimator inner).
    public static func study(_ c: CNCEStudyConfig) -> [CNCEStudyRow] {
        var rows: [CNCEStudyRow] = []
        let e = c.rings.count
        // Repetitions run in chunks so that progress can be shown; each has its own RNG stream and slot,
        // so the chunking changes nothing in the results.
        let progress = StageKit.Progress("cnce-study", total: c.rhos.count * c.repetitions, unit: "rep")
        let chunk = max(16, 4 * c.threads)
        for (ri, rho) in c.rhos.enumerated() {
            var estimates = [Double](repeating: 0, count: c.repetitions * e)     // [R, E]
            estimates.withUnsafeMutableBufferPointer { est in
                let out = est.baseAddress!
                for first in stride(from: 0, to: c.repetitions, by: chunk) {
                    let count = min(chunk, c.repetitions - first)
                    parallelFor(count, threads: c.threads) { i in
                        let rep = first + i
                        var rng = RNG(seed: c.seed, stream: [0x636E_6365, UInt64(ri), UInt64(rep)])
                        let values = oneRepetition(c, rho: rho, rng: &rng)
                        for j in 0..<e { out[rep * e + j] = values[j] }
                    }
                    progress.advance(count, status: "ρ \(rho)")
                }
            }
            let truth = closedFormMI(dim: c.dim, rho: rho)
            var nceMean = 0.0, nceVar = 0.0
            for (j, ring) in c.rings.enumerated() {
                let v = (0..<c.repetitions).map { estimates[$0 * e + j] }
                let mean = v.reduce(0, +) / Double(v.count)
                let variance = v.count > 1 ? v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1) : 0
                if j == 0 { nceMean = mean; nceVar = variance }
                rows.append(CNCEStudyRow(rho: rho, trueMI: truth, estimator: ring.name, outer: ring.outer, inner: ring.inner,
                                         mean: mean, bias: mean - truth, variance: variance,
                                         standardError: (variance / Double(v.count)).squareRoot(),
                                         looserThanNCE: j == 0 ? nil : mean < nceMean,
                                         lowerVarianceThanNCE: j == 0 ? nil : variance < nceVar))
            }
        }
        progress.finish()
        return rows
    }

    /// One estimate per estimator from one batch: the same positives and pools for all (common random numbers).
    static func oneRepetition(_ c: CNCEStudyConfig, rho: Double, rng: inout RNG) -> [Double] {
        let d = c.dim, m = c.pool, k = c.negatives
        var sums = [Double](repeating: 0, count: c.rings.count)
        var poolY = [Double](repeating: 0, count: m * d)          // [M, d]
        var scores = [Double](repeating: 0, count: m)             // [M]
        var keys = [UInt64](repeating: 0, count: m)               // [M]
        let bounds = c.rings.map { ring -> (Int, Int) in
            let hi = max(1, Int((ring.outer * Double(m)).rounded(.down)))
            return (Int((ring.inner * Double(hi)).rounded(.down)), hi)
        }
        let ranks = Array(Set(bounds.flatMap { [$0.0, $0.1] }.filter { $0 > 0 && $0 < m })).sorted()
        for _ in 0..<c.batch {
            let pair = samplePairs(dim: d, rho: rho, count: 1, rng: &rng)
            for i in 0..<(m * d) { poolY[i] = rng.normal() }
            let positive = pair.x.withUnsafeBufferPointer { x in pair.y.withUnsafeBufferPointer { critic(x.baseAddress!, $0.baseAddress!, dim: d, rho: rho) } }
            pair.x.withUnsafeBufferPointer { x in
                poolY.withUnsafeBufferPointer { py in
                    for p in 0..<m {
                        scores[p] = critic(x.baseAddress!, py.baseAddress! + p * d, dim: d, rho: rho)
                        keys[p] = RankOrder.key(Float(scores[p]), p)
                    }
                }
            }
            keys.withUnsafeMutableBufferPointer { kb in
                ranks.withUnsafeBufferPointer { RankOrder.multiSelect(kb.baseAddress!, 0, m, $0.baseAddress!, 0, $0.count) }
            }
            for (j, (lo, hi)) in bounds.enumerated() {
                // logsumexp over the positive and k negatives drawn uniformly (with replacement) from ranks [lo, hi)
                var terms = [positive]
                for _ in 0..<k { terms.append(scores[RankOrder.candidate(keys[lo + rng.below(hi - lo)])]) }
                let top = terms.max()!
                let lse = top + log(terms.reduce(0) { $0 + exp($1 - top) })
                sums[j] += positive - (lse - log(Double(k + 1)))
            }
        }
        return sums.map { $0 / Double(c.batch) }
    }

    /// Runs the study and writes `cnce.json` (rows + provenance) and `cnce.md` (the table and verdict).
    public static func run(_ c: CNCEStudyConfig, outDir: String) throws {
        // upper bounds keep every table the study allocates (pool × dim, batch × rings) small
        for (flag, value, least, most) in [("--repetitions", c.repetitions, 2, 1_000_000), ("--batch", c.batch, 1, 65_536),
                                           ("--negatives", c.negatives, 1, 65_536), ("--pool", c.pool, 2, 1 << 20), ("--dim", c.dim, 1, 1024)]
        where value < least || value > most {
            throw StageError.usage("\(flag) must be in \(least)…\(most) (got \(value))")
        }
        guard !c.rhos.isEmpty else { throw StageError.usage("--rhos must list at least one correlation") }
        try requireCreatableParent(of: outDir + "/cnce.json")
        let rows = study(c)
        do { try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true) }
        catch { throw StageError(outDir, "cannot create folder") }
        var prov = Provenance(stage: "hardness cnce-study", seed: c.seed)
        prov.set("repetitions", c.repetitions); prov.set("batch", c.batch); prov.set("negatives", c.negatives)
        prov.set("pool", c.pool); prov.set("dim", c.dim); prov.set("rhos", c.rhos.map { "\($0)" }.joined(separator: ","))
        prov.set("threads", c.threads)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let rowsJSON = String(decoding: try encoder.encode(rows), as: UTF8.self)
        let json = "{\n\"kind\": \"cnce-study\",\n\"provenance\": \(Provenance.json(prov.metadata)),\n\"negatives\": \(c.negatives),\n\"rows\": \(rowsJSON)\n}\n"
        try writeTextAtomically(json, to: outDir + "/cnce.json")
        try writeTextAtomically(markdown(rows, config: c), to: outDir + "/cnce.md")
    }

    /// The Markdown table with fixed number formatting, and the verdict on the paper's claim.
    public static func markdown(_ rows: [CNCEStudyRow], config c: CNCEStudyConfig) -> String {
        var s = "# CNCE estimator study\n\n"
        s += "Correlated Gaussians, d = \(c.dim), optimal critic, k = \(c.negatives) negatives from a pool of \(c.pool) per positive, "
        s += "\(c.batch) positives per estimate, \(c.repetitions) repetitions. NCE's ceiling log(k+1) = \(fmt(log(Double(c.negatives + 1)))).\n\n"
        s += "| ρ | true MI | estimator | mean | bias | variance | variance / NCE's | looser than NCE | lower variance than NCE |\n"
        s += "|---|---|---|---|---|---|---|---|---|\n"
        var nceVariance = Double.nan
        for r in rows {
            if r.looserThanNCE == nil { nceVariance = r.variance }
            s += "| \(fmt(r.rho, 2)) | \(fmt(r.trueMI)) | \(r.estimator) | \(fmt(r.mean)) | \(fmt(r.bias)) | \(fmt(r.variance, 6)) | \(fmt(r.variance / nceVariance, 3)) | "
            s += "\(r.looserThanNCE.map { $0 ? "yes" : "no" } ?? "—") | \(r.lowerVarianceThanNCE.map { $0 ? "yes" : "no" } ?? "—") |\n"
        }
        let cnce = rows.filter { $0.looserThanNCE != nil }
        let looser = cnce.filter { $0.looserThanNCE! }.count, lower = cnce.filter { $0.lowerVarianceThanNCE! }.count
        let bound = rows.filter { $0.mean <= $0.trueMI }.count
        s += "\nVerdict: CNCE looser than NCE in \(looser)/\(cnce.count) cells, lower variance in \(lower)/\(cnce.count); "
        s += "every estimate below the true MI (a lower bound) in \(bound)/\(rows.count) cells. "
        s += "(Each variance is itself uncertain by about ±\(fmt(100 * (2 / Double(c.repetitions - 1)).squareRoot(), 0)) % (one standard error) at \(c.repetitions) repetitions.) "
        s += (looser == cnce.count && lower == cnce.count) ? "Our measurements agree with the paper.\n"
            : "Our measurements do not fully agree with the paper (see the rows marked no).\n"
        return s
    }

    static func fmt(_ v: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", v) }
}
