import Foundation
import StageKit

/// Seeded initialisers matching PyTorch's defaults for ResNets. Each parameter draws from its own
/// RNG stream (seed, hash of its name), so adding a layer does not change the others' values.
public enum Initialisation {
    static func stream(_ seed: UInt64, _ name: String) -> RNG {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }   // FNV-1a
        return RNG(seed: seed, stream: [h])
    }

    /// kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2 / (O·kH·kW)).
    public static func kaimingNormalFanOut<T: GemmScalar>(_ p: Parameter<T>, seed: UInt64) {
        let shape = p.value.shape                  // [O, I, kH, kW]
        let fanOut = shape[0] * shape[2...].reduce(1, *)
        let std = (2.0 / Double(fanOut)).squareRoot()
        var rng = stream(seed, p.name)
        for i in 0..<p.value.count { p.value[i] = T(rng.normal() * std) }
    }

    /// nn.Linear's default: U(−1/√fan_in, 1/√fan_in) for weight and bias alike.
    public static func linearUniform<T: GemmScalar>(_ p: Parameter<T>, fanIn: Int, seed: UInt64) {
        let bound = 1 / Double(fanIn).squareRoot()
        var rng = stream(seed, p.name)
        for i in 0..<p.value.count { p.value[i] = T(rng.uniform(-bound, bound)) }
    }
}
