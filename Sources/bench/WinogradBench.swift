import ArgumentParser
import Foundation
import NN
import StageKit

/// `bench winograd`: where a 3×3 convolution's Winograd time goes, per layer shape of a ResNet row, on
/// one thread, for F(2×2, 3×3) beside F(4×4, 3×3): the input transform, the products (as the engine's
/// forward runs them: RegisterGemm on AVX2 + FMA builds, else sgemm) and the output
/// transform of a forward chunk, and the weight gradient's output-gradient transform and products (sgemm), in µs per
/// image. The two tilings' phases alternate within each repetition (a shared machine drifts), and
/// "step" weighs the phases as a training step runs them per layer (query and key forward, input and
/// weight gradient: 4 input transforms, 4 product sets, 3 output transforms, 1 output-gradient transform,
/// 1 set of weight-gradient products),
/// with the median over repetitions of F(4×4)'s step time over F(2×2)'s. A second table times each stage's
/// whole forward over the batch against the same forward on one chunk's images kept in cache.
struct WinogradBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "winograd",
        abstract: "Per-layer times of the Winograd transforms and products, F(2×2) beside F(4×4) (one thread).")

    @Option(help: "Base width of the ResNet row.") var width = 16
    @Option(help: "Input size (square).") var size = 28
    @Option(help: "Batch the chunks are cut from.") var batch = 256
    @Option(help: "Timed repetitions (medians are reported).") var repeats = 15
    @Option(help: "Workspace limit in elements (default: the engine's).") var colLimit: Int?
    @Option(help: "Fewest sgemm columns per chunk (default: the engine's).") var minColumns: Int?
    @Flag(help: "The forward products by sgemm instead of the engine's register kernel.") var blasProducts = false

    func validate() throws {
        guard (1...ResNet<Float>.widthLimit).contains(width) else { throw ValidationError("--width must be in 1…\(ResNet<Float>.widthLimit) (got \(width))") }
        guard (8...512).contains(size) else { throw ValidationError("--size must be in 8…512 (got \(size))") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be in 1…4096 (got \(batch))") }
        guard (1...999).contains(repeats) else { throw ValidationError("--repeats must be in 1…999 (got \(repeats))") }
        if let colLimit, colLimit < 1 { throw ValidationError("--col-limit must be at least 1 (got \(colLimit))") }
        if let minColumns, minColumns < 1 { throw ValidationError("--min-columns must be at least 1 (got \(minColumns))") }
    }

    /// The row's four stages: (channels, size), the channels doubling and the size halving (rounded up) per stage.
    var stages: [(c: Int, h: Int)] {
        var h = size
        return (0..<4).map { stage in
            if stage > 0 { h = (h + 1) / 2 }
            return (width << stage, h)
        }
    }

    func run() throws {
        try BLASRuntime.configure(core: nil, threads: 1)
        if let colLimit { NNRuntime.maxColElements = colLimit }
        if let minColumns { NNRuntime.minColumns = minColumns }
        print("bench winograd: CPU \(Machine.summary), BLAS core \(BLASRuntime.coreName), 1 thread, µs per image (median of \(repeats))")
        print("layer (C @ h×w)  tiles   images/chunk    input  product   output  out-grad  dU prod     step   F(4×4)/F(2×2) step")
        for (c, h) in stages {
            let layers: [any WinogradLayer] = [TiledLayer<Winograd>(c: c, h: h, batch: batch, registerProducts: !blasProducts),
                                               TiledLayer<Winograd4>(c: c, h: h, batch: batch, registerProducts: !blasProducts)]
            var seconds = [[[Double]]](repeating: [[Double]](repeating: [], count: 5), count: 2)   // [tiling][phase][repeat]
            for layer in layers { for phase in 0..<5 { layer.run(phase) } }                        // warm-up
            for _ in 0..<repeats {
                for phase in 0..<5 {
                    for (k, layer) in layers.enumerated() {
                        let t0 = BenchSupport.now()
                        layer.run(phase)
                        seconds[k][phase].append((BenchSupport.now() - t0) * 1e6 / Double(layer.images))
                    }
                }
            }
            func step(_ k: Int, _ r: Int) -> Double {
                4 * seconds[k][0][r] + 4 * seconds[k][1][r] + 3 * seconds[k][2][r] + seconds[k][3][r] + seconds[k][4][r]
            }
            let ratio = BenchSupport.median((0..<repeats).map { step(1, $0) / step(0, $0) })
            for (k, layer) in layers.enumerated() {
                let medians = seconds[k].map(BenchSupport.median)
                var line = String(format: "%4d @ %3d×%-3d   %@   %12d  %7.1f  %7.1f  %7.1f  %8.1f  %7.1f  %7.1f", c, h, h, layer.name, layer.images,
                                  medians[0], medians[1], medians[2], medians[3], medians[4],
                                  BenchSupport.median((0..<repeats).map { step(k, $0) }))
                if k == 1 { line += String(format: "   %.2f", ratio) }
                print(line)
            }
        }
        wholeBatch()
    }

    /// The engine's forward of each stage's C→C layer (its default tiling) over the whole batch, beside the same
    /// layer run over one chunk's images as often as the batch has chunks (its input and output then stay in
    /// cache), alternating: what streaming the activations from and to memory adds to the transforms and products.
    func wholeBatch() {
        NNRuntime.threads = 1
        print("whole batch (forward, default tiling, \(batch) images from memory beside one chunk's images in cache, µs per image)")
        print("layer (C @ h×w)  algorithm   images/chunk   in cache    whole   whole/in cache")
        for (c, h) in stages {
            let conv = Conv2d<Float>(name: "bench", inChannels: c, outChannels: c, kernel: 3, stride: 1, padding: 1)
            let whole = Tensor<Float>([c, batch, h, h])
            conv.forward(whole)
            let algorithm = conv.plan.forward
            let chunk = algorithm == .winograd4 ? Winograd4.chunkImages(c: c, h: h, batch: batch) : Winograd.chunkImages(c: c, h: h, batch: batch)
            let calls = (batch + chunk - 1) / chunk                                     // in cache: the batch's chunks, one call each
            let part = Tensor<Float>([c, chunk, h, h])
            var rng = RNG(seed: 3)
            for t in [whole, part, conv.weight.value] { for i in 0..<t.count { t[i] = Float(rng.normal()) } }
            var seconds: [[Double]] = [[], []]                                         // [in cache, whole][repeat]
            for r in 0...repeats {
                for (k, x) in [part, whole].enumerated() {
                    let t0 = BenchSupport.now()
                    for _ in 0..<(k == 0 ? calls : 1) { conv.forward(x) }
                    if r > 0 { seconds[k].append((BenchSupport.now() - t0) * 1e6 / Double(k == 0 ? calls * chunk : batch)) }
                }
            }
            let ratio = BenchSupport.median((0..<repeats).map { seconds[1][$0] / seconds[0][$0] })
            print(String(format: "%4d @ %3d×%-3d   %-9@   %12d   %8.1f  %7.1f   %.2f", c, h, h, algorithm.rawValue, chunk,
                         BenchSupport.median(seconds[0]), BenchSupport.median(seconds[1]), ratio))
        }
    }
}

/// One C→C 3×3 layer's Winograd phases on one chunk of images, with its own buffers.
protocol WinogradLayer {
    var name: String { get }
    var images: Int { get }
    /// 0: input transform, 1: the products, 2: output transform, 3: output-gradient transform,
    /// 4: the weight gradient's products dU += Mg·Vᵀ.
    func run(_ phase: Int)
}

final class TiledLayer<W: WinogradTiling>: WinogradLayer {
    let c: Int, h: Int, images: Int, n: Int
    let x: Tensor<Float>, y: Tensor<Float>, v: Tensor<Float>, m: Tensor<Float>, u: Tensor<Float>, du: Tensor<Float>
    var name: String { W.planes == 16 ? "F(2×2)" : "F(4×4)" }
    /// The products by RegisterGemm (AVX2 + FMA builds) or sgemm (`bench winograd --blas-products`).
    let registerProducts: Bool

    init(c: Int, h: Int, batch: Int, registerProducts: Bool) {
        self.registerProducts = registerProducts
        let (ty, tx) = W.tiles(h, h)
        self.c = c; self.h = h
        images = W.chunkImages(c: c, h: h, batch: batch)
        n = images * ty * tx
        x = Tensor([c, images, h, h]); y = Tensor([c, images, h, h])
        v = Tensor([W.planes * Winograd.planeStride(rows: c, tiles: n)]); m = Tensor([W.planes * Winograd.planeStride(rows: c, tiles: n)])
        u = Tensor([W.planes * c * c]); du = Tensor([W.planes * c * c])
        var rng = RNG(seed: 1)
        for t in [x, y, u] { for i in 0..<t.count { t[i] = Float(rng.normal()) } }
    }

    func run(_ phase: Int) {
        let plane = Winograd.planeStride(rows: c, tiles: n)
        switch phase {
        case 0: W.transformInput(UnsafePointer(x.data), channels: c, batch: images, h: h, w: h, b0: 0, nb: images, into: v.data)
        case 1: W.products(UnsafePointer(u.data), UnsafePointer(v.data), vPlane: plane, into: m.data, mPlane: plane, o: c, c: c, n: n,
                           registerProducts: registerProducts)
        case 2: W.transformOutput(UnsafePointer(m.data), outChannels: c, batch: images, h: h, w: h, b0: 0, nb: images, into: y.data, epilogue: nil)
        case 3: W.transformOutputGradient(UnsafePointer(y.data), outChannels: c, batch: images, h: h, w: h, b0: 0, nb: images, into: m.data)
        default: W.weightGradientProducts(UnsafePointer(m.data), mPlane: plane, UnsafePointer(v.data), vPlane: plane, o: c, c: c, n: n,
                                          into: du.data, accumulate: true)
        }
    }
}

extension WinogradTiling {
    /// Images per chunk of a C→C layer on h×h images, as the engine cuts a batch at one thread.
    static func chunkImages(c: Int, h: Int, batch: Int) -> Int {
        let (ty, tx) = tiles(h, h)
        return imagesPerChunk(batch: batch, tilesPerImage: ty * tx, inChannels: c, outChannels: c)
    }
}
