import Foundation
import StageKit

/// Times one MoCo loss + gradient step (q·queueᵀ gemm, per-query selection, row losses, G·queue gemm)
/// for every sampler on random unit embeddings, and reports each against uniform. `bench` calls this.
public enum SamplerBenchmark {
    public struct Timing: Sendable {
        public var sampler: SamplerKind
        public var medianSeconds: Double
        public var ratioToUniform: Double
    }

    /// Median time over `repeats` runs (after one warm-up) per sampler, at the SPEC sizes by default.
    public static func measure(threads: Int, batch B: Int = 256, dim d: Int = 128, queue K: Int = 4096,
                               repeats: Int = 15, useMinimum: Bool = false) -> [Timing] {
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 1)
        let k = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 2)
        let queue = Queue(size: K, dim: d, seed: 1)
        var config = SamplerConfig()
        config.ringAnneal = false                       // the final (narrowest) ring, 1 %–10 %
        config.bandLoPercent = 0; config.bandHiPercent = 5
        config.mochiN = min(1024, K); config.mochiS = 16; config.mochiSPrime = 16
        // Samplers take turns within each round, so a slow spell on a shared machine hits them alike.
        let samplers = SamplerKind.allCases.map { NegativeSampler(kind: $0, config: config) }
        var times = [[Double]](repeating: [], count: samplers.count)
        for r in 0...max(1, repeats) {
            for (s, sampler) in samplers.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let result = MoCoObjective.lossAndGradient(queries: q, positiveKeys: k, queue: queue, tau: 0.2, sampler: sampler,
                                                           step: r, seed: 0, threads: threads)
                let t1 = DispatchTime.now().uptimeNanoseconds
                precondition(result.loss.isFinite)
                if r > 0 { times[s].append(Double(t1 - t0) * 1e-9) }
            }
        }
        var medians: [SamplerKind: Double] = [:]
        for (s, kind) in SamplerKind.allCases.enumerated() { medians[kind] = times[s].sorted()[useMinimum ? 0 : times[s].count / 2] }
        let base = medians[.uniform]!
        return SamplerKind.allCases.map { Timing(sampler: $0, medianSeconds: medians[$0]!, ratioToUniform: medians[$0]! / base) }
    }

    /// One line per sampler, e.g. "moco ring  B=256 d=128 K=4096: 12.34 ms/step (1.03× uniform)".
    public static func run(threads: Int, batch: Int = 256, dim: Int = 128, queue: Int = 4096, repeats: Int = 15) -> [String] {
        measure(threads: threads, batch: batch, dim: dim, queue: queue, repeats: repeats).map { t in
            let name = t.sampler.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
            return "contrastive moco \(name) B=\(batch) d=\(dim) K=\(queue) threads=\(threads): "
                + String(format: "%.2f ms/step (%.2f× uniform)", t.medianSeconds * 1e3, t.ratioToUniform)
        }
    }
}
