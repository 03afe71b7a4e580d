import Foundation

/// How dispersed per-candidate counts are, against the null that each query picks its hardest (or
/// easiest) m_q of k_q candidates independently of the candidate's identity: then a candidate's count is
/// a sum of independent Bernoulli(p_q = m_q/k_q), ≈ Binomial(#queries, p̄), with variance Σ p_q(1 − p_q).
/// Because every query picks exactly m_q candidates, the population variance of the counts across
/// candidates has expectation exactly Σ p_q(1 − p_q) under the null, so the dispersion ratio is ≈ 1
/// there and > 1 when some candidates are consistently hard (or easy).
public struct ConsistencySummary: Codable, Sendable, Equatable {
    public var meanCount: Double
    public var variance: Double              // population variance across candidates
    public var nullVariance: Double          // Σ_q p_q(1 − p_q), scaled by the mean eligible fraction
    public var dispersionRatio: Double       // variance / nullVariance
    public var nullQuantile999: Int          // 99.9th percentile of Binomial(n̄, p̄)
    public var exceedCount: Int              // candidates whose count is above it
    public var expectedExceed: Double        // K · P(X > quantile) under the null
    public var maxCount: Int64
}

public struct BinomialNull: Sendable {
    public let trials: Int                   // n̄: mean number of queries a candidate was eligible for
    public let probability: Double           // p̄: mean of p_q
    public let varianceSum: Double           // Σ p_q(1 − p_q) × n̄ / #queries
    public let quantile999: Int
    public let tailProbability: Double       // P(X > quantile999)

    public init(probabilities: [Double], eligible: [Int64]) {
        let q = max(probabilities.count, 1)
        let meanEligible = eligible.isEmpty ? 0 : Double(eligible.reduce(0, +)) / Double(eligible.count)
        trials = Int(meanEligible.rounded())
        probability = probabilities.reduce(0, +) / Double(q)
        varianceSum = probabilities.reduce(0) { $0 + $1 * (1 - $1) } * meanEligible / Double(q)
        (quantile999, tailProbability) = BinomialNull.upperQuantile(n: trials, p: probability, level: 0.999)
    }

    /// Smallest k with P(X ≤ k) ≥ level for X ~ Binomial(n, p), and P(X > k).
    public static func upperQuantile(n: Int, p: Double, level: Double) -> (Int, Double) {
        guard n > 0, p > 0 else { return (0, 0) }
        if p >= 1 { return (n, 0) }
        let lgamma: (Double) -> Double = Foundation.lgamma
        let logP = log(p), logQ = log1p(-p), logNFact = lgamma(Double(n) + 1)
        var cdf = 0.0
        for k in 0...n {
            let logPmf = logNFact - lgamma(Double(k) + 1) - lgamma(Double(n - k) + 1) + Double(k) * logP + Double(n - k) * logQ
            cdf += exp(logPmf)
            if cdf >= level { return (k, max(0, 1 - cdf)) }
        }
        return (n, 0)
    }

    public func summarise(_ counts: [Int64]) -> ConsistencySummary {
        let k = Double(max(counts.count, 1))
        let mean = counts.reduce(0.0) { $0 + Double($1) } / k
        let variance = counts.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / k
        let exceed = counts.filter { $0 > Int64(quantile999) }.count
        return ConsistencySummary(meanCount: mean, variance: variance, nullVariance: varianceSum,
                                  dispersionRatio: varianceSum > 0 ? variance / varianceSum : .nan,
                                  nullQuantile999: quantile999, exceedCount: exceed,
                                  expectedExceed: Double(counts.count) * tailProbability, maxCount: counts.max() ?? 0)
    }
}
