import Foundation
import StageKit

/// Times one MoCo loss + gradient step (q·queueᵀ gemm, per-query selection, row losses, G·queue gemm)
/// for every sampler on random unit embeddings, and reports each against uniform. `bench` calls this.
public enum SamplerBenchmark {
    public struct Timing: Sendable {
        public var label: String              // e.g. "ring" or "ring@start"
        public var sampler: String            // the sampler's name
        public var medianSeconds: Double
        public var minimumSeconds: Double
        public var ratioToUniform: Double     // of the medians
    }

    /// The measured variants: every registered sampler at its reference setting (ring at its final
    /// 1 %–10 %, band = hardest 5 %, subset as large as that ring), plus the ring at the start of its
    /// anneal (ranks 10 %–100 %) and the widest band [5, 100), the most expensive settings of the two
    /// selection samplers.
    public static func variants(queue K: Int) -> [(String, any NegativeSampler)] {
        let reference = try! SamplerOptions.parse(["--no-anneal", "--band-lo", "0", "--band-hi", "5", "--mochi-n", "\(min(1024, K))"])
        var out = SamplerOptions.names.map { ($0, try! reference.sampler(named: $0, epochs: 1, stepsPerEpoch: 1)) }
        out.append(("ring@start", try! RingSampler(stepsPerEpoch: 1_000_000)))         // step ≈ 0 → outer 1
        out.append(("band[5,100)", try! BandSampler(loPercent: 5, hiPercent: 100)))
        return out
    }

    /// Median and minimum over `repeats` runs (after one warm-up) per variant, at the SPEC sizes by default.
    /// Variants take turns within each round, so a slow spell on a shared machine hits them alike.
    public static func measure(threads: Int, batch B: Int = 256, dim d: Int = 128, queue K: Int = 4096,
                               repeats: Int = 15) -> [Timing] {
        let q = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 1)
        let k = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 2)
        let queue = Queue(size: K, dim: d, seed: 1)
        let list = variants(queue: K)
        var times = [[Double]](repeating: [], count: list.count)
        for r in 0...max(1, repeats) {
            for (v, (_, sampler)) in list.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let result = MoCoObjective.lossAndGradient(queries: q, positiveKeys: k, queue: queue, tau: 0.2, sampler: sampler,
                                                           step: r, seed: 0, threads: threads)
                let t1 = DispatchTime.now().uptimeNanoseconds
                precondition(result.loss.isFinite)
                if r > 0 { times[v].append(Double(t1 - t0) * 1e-9) }
            }
        }
        let sorted = times.map { $0.sorted() }
        let base = sorted[0][sorted[0].count / 2]
        return zip(list, sorted).map { v, t in
            Timing(label: v.0, sampler: v.1.name, medianSeconds: t[t.count / 2], minimumSeconds: t[0], ratioToUniform: t[t.count / 2] / base)
        }
    }

    /// One line per variant, e.g. "contrastive moco ring B=256 d=128 K=4096 threads=2: 12.34 ms/step median …".
    public static func run(threads: Int, batch: Int = 256, dim: Int = 128, queue: Int = 4096, repeats: Int = 15) -> [String] {
        measure(threads: threads, batch: batch, dim: dim, queue: queue, repeats: repeats).map { t in
            let name = t.label.padding(toLength: 11, withPad: " ", startingAt: 0)
            return "contrastive moco \(name) B=\(batch) d=\(dim) K=\(queue) threads=\(threads): "
                + String(format: "%.2f ms/step median, %.2f min (%.2f× uniform)", t.medianSeconds * 1e3, t.minimumSeconds * 1e3, t.ratioToUniform)
        }
    }
}
