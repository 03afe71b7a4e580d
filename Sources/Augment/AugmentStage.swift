import StageKit
import Foundation
import TensorFiles

/// The augment stage: a dataset file in, a views file out (see docs/augment.md for the contract).
public enum AugmentStage {
    public struct Options: Sendable {
        public var dataset: String
        public var out: String
        public var recipe: Recipe
        public var epoch: UInt64
        public var seed: UInt64
        public var size: Int?
        public var threads: Int
        public var overrides: RecipeOverrides

        public init(dataset: String, out: String, recipe: Recipe, epoch: UInt64, seed: UInt64, size: Int? = nil,
                    threads: Int, overrides: RecipeOverrides = RecipeOverrides()) {
            self.dataset = dataset; self.out = out; self.recipe = recipe; self.epoch = epoch; self.seed = seed
            self.size = size; self.threads = threads; self.overrides = overrides
        }
    }

    /// Reads, augments every image (two views, or one Lab-split view), writes atomically.
    /// Largest output side, and the most bytes the two views of one epoch may take in memory.
    public static let sizeLimit = 1024

    public static func run(_ o: Options) throws {
        var parameters = o.overrides.resolve(o.recipe)
        try parameters.validate()
        if let s = o.size, s < 1 || s > AugmentStage.sizeLimit {
            throw StageError.usage("--size must be in 1…\(AugmentStage.sizeLimit) (got \(s))")
        }
        try requireDistinctOutput(o.out, flag: "--out", from: [("--dataset", o.dataset)])
        try requireReadableFile(o.dataset)
        let file = try TensorFile.read(o.dataset)
        let info = try file.info("images")
        guard info.dtype == .u8 else {
            throw StageError(o.dataset, "tensor 'images' has dtype \(info.dtype.rawValue), expected U8")
        }
        guard info.shape.count == 4, info.shape[1] >= 1, info.shape[2] >= 1, info.shape[3] >= 1 else {
            throw StageError(o.dataset, "tensor 'images' has shape \(info.shape), expected [N, C, H, W]")
        }
        let (n, c, h, w) = (info.shape[0], info.shape[1], info.shape[2], info.shape[3])
        guard n >= 1 else { throw StageError(o.dataset, "holds no images") }
        guard c == 1 || c == 3 else { throw StageError(o.dataset, "images have \(c) channels, expected 1 or 3") }
        if parameters.output == .labSplit && c != 3 {
            throw StageError(o.dataset, "recipe \(o.recipe.rawValue) needs RGB images (3 channels), these have \(c)")
        }
        let labels = try file.array("labels", as: Int64.self, shape: [n])
        let index = try file.array("index", as: Int64.self, shape: [n])
        parameters = parameters.adapted(toChannels: c)
        let size = o.size ?? max(h, w)
        let pipeline = Pipeline(parameters, channels: c, height: h, width: w, size: size)
        let (c1, c2) = pipeline.outputChannels

        // view1: [N, c1, S, S]   view2: [N, c2, S, S]
        let plane = size * size
        let (bytes, overflow) = n.multipliedReportingOverflow(by: (c1 + c2) * plane)
        try OutputBudget.check(bytes, overflow: overflow, what: "views of \(n) images × \(c1 + c2) channels × \(size)²",
                               inputBytes: OutputBudget.size(of: [o.dataset]), file: o.dataset, hint: "use a smaller --size or fewer images")
        var view1 = [UInt8](repeating: 0, count: n * c1 * plane)
        var view2 = [UInt8](repeating: 0, count: n * c2 * plane)
        let images = file.rawBytes(info).bindMemory(to: UInt8.self)
        view1.withUnsafeMutableBufferPointer { v1 in
            view2.withUnsafeMutableBufferPointer { v2 in
                render(pipeline, images: images.baseAddress!, count: n, seed: o.seed, epoch: o.epoch,
                       threads: o.threads, view1: v1.baseAddress!, view2: v2.baseAddress!)
            }
        }

        var provenance = Provenance(stage: "augment", seed: o.seed)
        for (k, v) in parameters.record { provenance.set(k, v) }
        provenance.set("recipe", o.recipe.rawValue)
        provenance.set("epoch", o.epoch)
        provenance.set("size", size)
        provenance.set("rng_stream", "RNG(seed, stream: [epoch, row, view])")
        try provenance.addInput("dataset", path: o.dataset)
        provenance.extra["recipe"] = o.recipe.rawValue
        provenance.extra["epoch"] = String(o.epoch)
        if let classes = file.metadata["classes"] { provenance.extra["classes"] = classes }

        var writer = TensorFileWriter(metadata: provenance.metadata)
        writer.add("view1", view1, shape: [n, c1, size, size])
        writer.add("view2", view2, shape: [n, c2, size, size])
        writer.add("index", index, shape: [n])
        writer.add("labels", labels, shape: [n])
        try writer.write(to: o.out)
        note("augment: \(n) images → \(o.out) (\(o.recipe.rawValue), epoch \(o.epoch), \(size)×\(size))")
    }

    /// Renders every image's views in parallel. Randomness for row i, view v comes from
    /// RNG(seed, stream: [epoch, i, v]), so the bytes do not depend on `threads`.
    public static func render(_ pipeline: Pipeline, images: UnsafePointer<UInt8>, count n: Int, seed: UInt64,
                              epoch: UInt64, threads: Int, view1: UnsafeMutablePointer<UInt8>,
                              view2: UnsafeMutablePointer<UInt8>) {
        let inPlanes = pipeline.channels * pipeline.height * pipeline.width
        let plane = pipeline.size * pipeline.size
        let (c1, c2) = pipeline.outputChannels
        let lab = pipeline.parameters.output == .labSplit
        // Raw pointers cross into the workers as addresses: each worker writes disjoint rows.
        let v1 = UInt(bitPattern: view1), v2 = UInt(bitPattern: view2), src = UInt(bitPattern: images)
        parallelRanges(n, threads: threads) { rows in
            let ws = Workspace()
            let view1 = UnsafeMutablePointer<UInt8>(bitPattern: v1)!, view2 = UnsafeMutablePointer<UInt8>(bitPattern: v2)!
            let images = UnsafePointer<UInt8>(bitPattern: src)!
            for i in rows {
                let source = ws.source.reserve(inPlanes)        // [C, H, W]
                PixelCodec.dequantize(images + i * inPlanes, source, count: inPlanes)
                let out1 = view1 + i * c1 * plane, out2 = view2 + i * c2 * plane
                if lab {
                    var rng = RNG(seed: seed, stream: [epoch, UInt64(i), 0])
                    let s = pipeline.sample(rng: &rng)
                    pipeline.renderU8(s, source: source, workspace: ws, first: out1, second: out2)
                } else {
                    var rng1 = RNG(seed: seed, stream: [epoch, UInt64(i), 0])
                    pipeline.renderU8(pipeline.sample(rng: &rng1), source: source, workspace: ws, first: out1, second: nil)
                    var rng2 = RNG(seed: seed, stream: [epoch, UInt64(i), 1])
                    pipeline.renderU8(pipeline.sample(rng: &rng2), source: source, workspace: ws, first: out2, second: nil)
                }
            }
        }
    }
}
