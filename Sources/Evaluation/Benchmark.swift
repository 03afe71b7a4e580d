import Foundation
import StageKit

/// Timings the `bench` stage reports for the evaluation stages, on synthetic features (no files):
/// a 100-epoch MoCo-protocol probe on 60 000 × 128, and a weighted kNN (k 200) of 10 000 test rows
/// against 60 000 train rows at 128 and 784 (raw Fashion-MNIST pixel) dimensions.
public enum EvaluationBenchmark {
    /// Gaussian class clusters: `count` rows of `dim` features over `classes` labels (cycled). The
    /// class centres depend on `centreSeed` only, so splits drawn with different `seed`s share them.
    public static func syntheticFeatures(count: Int, dim: Int, classes: Int, seed: UInt64, centreSeed: UInt64 = 0,
                                         noise: Float = 4) -> LabeledFeatures {
        var centres = [Float](repeating: 0, count: classes * dim)   // [classes, dim]
        var rng = RNG(seed: centreSeed, stream: [0xCE17E5])
        for i in 0..<centres.count { centres[i] = Float(rng.normal()) }
        var values = [Float](repeating: 0, count: count * dim)     // [count, dim]
        var labels = [Int64](repeating: 0, count: count)            // [count]
        for i in 0..<count {
            var r = RNG(seed: seed, stream: [UInt64(i)])
            let c = i % classes
            labels[i] = Int64(c)
            for j in 0..<dim { values[i * dim + j] = centres[c * dim + j] + noise * Float(r.normal()) }
        }
        return LabeledFeatures(values: values, labels: labels, count: count, dim: dim)
    }

    /// Runs the benchmarks and returns one line each.
    public static func run(threads: Int) -> [String] {
        var lines: [String] = []
        // wall seconds, and this process's CPU seconds (user + system) so that a busy machine shows
        var cpu = 0.0
        func time(_ body: () -> Void) -> Double {
            let start = Date(), cpuStart = processCPUSeconds()
            body()
            cpu = processCPUSeconds() - cpuStart
            return Date().timeIntervalSince(start)
        }
        let train128 = syntheticFeatures(count: 60_000, dim: 128, classes: 10, seed: 1)
        let test128 = syntheticFeatures(count: 10_000, dim: 128, classes: 10, seed: 2)
        let h = ProbeProtocol.moco.hyperparameters
        var acc = 0.0
        let probeSeconds = time {
            let model = LinearProbe.train(train128, classes: 10, hyper: h, seed: 0,
                                          order: { LinearProbe.epochOrder(seed: 0, epoch: $0, count: 60_000) })
            acc = model.accuracy(on: test128).top1
        }
        lines.append(String(format: "probe  moco 100 epochs, 60000×128, batch 256: %.2f s wall, %.2f s CPU (%d threads, test top1 %.1f %%)", probeSeconds, cpu, threads, acc))
        for dim in [128, 784] {
            let train = dim == 128 ? train128 : syntheticFeatures(count: 60_000, dim: dim, classes: 10, seed: 1)
            let test = dim == 128 ? test128 : syntheticFeatures(count: 10_000, dim: dim, classes: 10, seed: 2)
            var top1 = 0.0
            let seconds = time {
                top1 = WeightedKNN.evaluate(train: train, test: test, classes: 10, parameters: KNNParameters(), threads: threads).top1
            }
            lines.append(String(format: "knn    k 200, 60000 train × 10000 test × %d: %.2f s wall, %.2f s CPU (%d threads, top1 %.1f %%)", dim, seconds, cpu, threads, top1))
        }
        return lines
    }
}

/// CPU time (user + system) this process has used so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
