import Foundation

// One query's loss from its logits, forward and backward side by side. Layout of a row:
// logits [1 + n]: the positive at 0, then the n negatives that enter the denominator (chosen real
// negatives, then any synthetic ones). The positive always stays in the denominator.

public enum RowLoss {
    /// Loss and d loss / d logits (written to `grad` [1 + n]) for the given form. Double inside.
    @inline(__always)
    public static func evaluate(_ form: LossForm, logits: UnsafePointer<Float>, count n: Int, tau: Double,
                                grad: UnsafeMutablePointer<Float>) -> Double {
        switch form {
        case .softmax: return softmax(logits: logits, count: n, grad: grad)
        case .debiased(let beta, let tauPlus):
            return HCLSampler.debiased(logits: logits, count: n, beta: beta, tauPlus: tauPlus, tau: tau, grad: grad)
        }
    }

    /// loss = logsumexp(l) − l₀; d/dl_j = softmax_j − [j = 0]. Exponentials in Float (arguments ≤ 0
    /// after the max shift), sums in Double.
    public static func softmax(logits: UnsafePointer<Float>, count n: Int, grad: UnsafeMutablePointer<Float>) -> Double {
        var m = logits[0]
        for j in 0..<n { m = max(m, logits[1 + j]) }
        var z = 0.0
        for j in 0...n {
            let e = Foundation.exp(logits[j] - m)
            grad[j] = e; z += Double(e)
        }
        let inv = Float(1 / z)
        for j in 0...n { grad[j] *= inv }
        grad[0] -= 1
        return (Double(m) + Foundation.log(z)) - Double(logits[0])
    }
}
