import Foundation
import NN

/// The collapse monitor's per-batch measures of unit embeddings (Wang & Isola 2020; Roy & Vetterli 2007):
///   alignment   mean ‖a_i − p_i‖² over positive pairs (0 = views agree … 4)
///   uniformity  log mean_{i<j} exp(−2‖a_i − a_j‖²) over the anchors (−4 spread out … 0 one point)
///   erank       exp(entropy of the normalised singular values of A) (1 = one direction … d)
/// Computed on the steps that log a row, from the anchors (queries / first views) and their positives.
public struct EmbeddingHealth: Equatable, Sendable {
    public var alignment: Double
    public var uniformity: Double
    public var effectiveRank: Double

    public static func measure(anchors a: [Float], positives p: [Float], dim d: Int) -> EmbeddingHealth {
        let n = a.count / d
        precondition(a.count == n * d && p.count == n * d && n >= 2, "EmbeddingHealth: need [n, d] anchors and positives, n ≥ 2")
        var align = 0.0
        for i in 0..<(n * d) { let x = Double(a[i] - p[i]); align += x * x }

        var gram = [Float](repeating: 0, count: n * n)           // [n, n] a·aᵀ
        a.withUnsafeBufferPointer { ap in gram.withUnsafeMutableBufferPointer { gp in
            gemm(transB: true, m: n, n: n, k: d, ap.baseAddress!, ap.baseAddress!, gp.baseAddress!)
        }}
        var sum = 0.0
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { sum += exp(-2 * (2 - 2 * Double(gram[i * n + j]))) } }
        let uniformity = log(sum / Double(n * (n - 1) / 2))

        var cov = [Double](repeating: 0, count: d * d)           // [d, d] Aᵀ·A
        let ad = a.map(Double.init)                             // [n, d]
        ad.withUnsafeBufferPointer { ap in cov.withUnsafeMutableBufferPointer { cp in
            gemm(transA: true, m: d, n: d, k: n, ap.baseAddress!, ap.baseAddress!, cp.baseAddress!)
        }}
        let sigma = (symmetricEigenvalues(cov, n: d) ?? []).map { max($0, 0).squareRoot() }
        let total = sigma.reduce(0, +)
        var entropy = 0.0
        for s in sigma where s > 0 { let q = s / total; entropy -= q * log(q) }
        return EmbeddingHealth(alignment: align / Double(n), uniformity: uniformity,
                               effectiveRank: total > 0 ? exp(entropy) : 0)
    }
}
