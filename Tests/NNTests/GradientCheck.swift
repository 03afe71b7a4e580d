import NN
import StageKit
import XCTest

/// Central finite differences in Double: d(loss)/d(t[i]) ≈ (L(t+ε) − L(t−ε)) / 2ε, compared with the
/// analytic gradient. A mismatch is retried with smaller steps, because a step can cross a ReLU or
/// max-pool kink near which the loss is not differentiable; a genuine error persists at every step.
struct GradientCheck {
    var eps = 1e-5
    var relativeTolerance = 1e-4
    var absoluteTolerance = 1e-7
    /// Check at most this many elements per tensor (spread over the tensor).
    var maxElements = 40

    func check(_ label: String, _ tensor: Tensor<Double>, analytic: [Double], loss: () -> Double,
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(analytic.count, tensor.count, "\(label): gradient size", file: file, line: line)
        let stride = max(1, tensor.count / maxElements)
        var checked = 0
        for i in Swift.stride(from: 0, to: tensor.count, by: stride) {
            var matched = false
            var numeric = 0.0
            for step in [eps, eps / 10, eps / 100] {
                let saved = tensor[i]
                tensor[i] = saved + step; let up = loss()
                tensor[i] = saved - step; let down = loss()
                tensor[i] = saved
                numeric = (up - down) / (2 * step)
                let scale = max(abs(numeric), abs(analytic[i]))
                if abs(numeric - analytic[i]) <= absoluteTolerance + relativeTolerance * scale { matched = true; break }
            }
            XCTAssertTrue(matched, "\(label)[\(i)]: analytic \(analytic[i]) vs numeric \(numeric)", file: file, line: line)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, file: file, line: line)
    }
}

/// Deterministic test data.
func randomArray(_ n: Int, seed: UInt64, scale: Double = 1, awayFromZero: Double = 0) -> [Double] {
    var rng = RNG(seed: seed)
    return (0..<n).map { _ in
        var v = rng.normal() * scale
        if abs(v) < awayFromZero { v = v < 0 ? v - awayFromZero : v + awayFromZero }
        return v
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, scale: Double = 1, awayFromZero: Double = 0) -> Tensor<Double> {
    Tensor(shape, randomArray(shape.reduce(1, *), seed: seed, scale: scale, awayFromZero: awayFromZero))
}

/// Σ w ⊙ y: a loss whose gradient with respect to y is w.
func weightedSum(_ y: Tensor<Double>, _ w: Tensor<Double>) -> Double {
    var s = 0.0
    for i in 0..<y.count { s += y[i] * w[i] }
    return s
}
