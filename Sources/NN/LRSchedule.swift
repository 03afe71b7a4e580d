import Foundation

/// Learning-rate schedules as a multiplier of the base rate at a point `progress` ∈ [0, 1] of training
/// (progress = step / totalSteps, or epoch / epochs for per-epoch schedules as in MoCo).
/// Adding a variant: a case here and its branch in `multiplier`.
public enum LRSchedule: Equatable, Sendable {
    case constant
    /// ½(1 + cos(π·progress)), as MoCo v2's `--cos`.
    case cosine
    /// Multiply by `gamma` at each milestone fraction passed (MoCo v1: milestones [0.6, 0.8], gamma 0.1).
    case step(milestones: [Double], gamma: Double)

    public func multiplier(progress: Double) -> Double {
        switch self {
        case .constant: return 1
        case .cosine: return 0.5 * (1 + cos(Double.pi * min(max(progress, 0), 1)))
        case .step(let milestones, let gamma):
            return pow(gamma, Double(milestones.filter { progress >= $0 }.count))
        }
    }

    /// The rate at `step` of `totalSteps`, with a linear warm-up from base/warmupSteps to base over the
    /// first `warmupSteps` steps (the schedule then runs over the remaining steps).
    public func rate(base: Double, step: Int, totalSteps: Int, warmupSteps: Int = 0) -> Double {
        if step < warmupSteps { return base * Double(step + 1) / Double(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        return base * multiplier(progress: Double(step - warmupSteps) / Double(span))
    }
}
