import Foundation
import StageKit

/// Views per second of the mocov2 recipe on synthetic 28×28 gray (Fashion-MNIST-like) and 32×32 RGB
/// (CIFAR-like) images, in memory (no file I/O). Called by the `bench` executable.
public enum AugmentBenchmark {
    public struct Measurement: Sendable {
        public var label: String
        public var views: Int
        public var seconds: Double
        public var viewsPerSecond: Double { Double(views) / seconds }
    }

    public static func measure(label: String, channels c: Int, side: Int, recipe: Recipe = .mocov2, images n: Int = 4096,
                               threads: Int, minSeconds: Double = 1.0) -> Measurement {
        let params = recipe.defaults.adapted(toChannels: c)
        let pipeline = Pipeline(params, channels: c, height: side, width: side, size: side)
        let (c1, c2) = pipeline.outputChannels
        var rng = RNG(seed: 42)
        let images = (0..<(n * c * side * side)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var view1 = [UInt8](repeating: 0, count: n * c1 * side * side)
        var view2 = [UInt8](repeating: 0, count: n * c2 * side * side)
        var epochs = 0
        var elapsed = 0.0
        images.withUnsafeBufferPointer { src in
            view1.withUnsafeMutableBufferPointer { v1 in
                view2.withUnsafeMutableBufferPointer { v2 in
                    func once(_ epoch: UInt64) {
                        AugmentStage.render(pipeline, images: src.baseAddress!, count: n, seed: 1, epoch: epoch,
                                            threads: threads, view1: v1.baseAddress!, view2: v2.baseAddress!)
                    }
                    once(0)                                    // warm-up: sizes the workspaces, faults pages in
                    let start = DispatchTime.now().uptimeNanoseconds
                    repeat {
                        epochs += 1
                        once(UInt64(epochs))
                        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                    } while elapsed < minSeconds
                }
            }
        }
        return Measurement(label: label, views: 2 * n * epochs, seconds: elapsed)
    }

    /// Printable lines: views/s for mocov2 on both image kinds (and cmc on RGB), with the implied time
    /// for an epoch of 60 000 (Fashion-MNIST) or 50 000 (CIFAR-10) images.
    public static func run(threads: Int) -> [String] {
        let cases: [(String, Recipe, Int, Int, Int)] = [
            ("augment mocov2 28×28 gray", .mocov2, 1, 28, 60_000), ("augment mocov2 32×32 RGB", .mocov2, 3, 32, 50_000),
            ("augment cmc 32×32 RGB (L | ab)", .cmc, 3, 32, 50_000),
        ]
        return cases.map { label, recipe, c, side, epochImages in
            let m = measure(label: label, channels: c, side: side, recipe: recipe, threads: threads)
            let epoch = Double(2 * epochImages) / m.viewsPerSecond
            return String(format: "%@: %.0f views/s (%d threads; an epoch of %d images: %.2f s)",
                          m.label, m.viewsPerSecond, threads, epochImages, epoch)
        }
    }
}
