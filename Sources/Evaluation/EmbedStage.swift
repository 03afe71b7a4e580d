import Foundation
import NN
import StageKit
import TensorFiles

/// The `embed` stage: a dataset file (`images` u8 [N,C,H,W], `labels`, `index`) and an encoder →
/// a features file (`backbone` f32 [N,D], `projection` f32 [N,P] L2-normalised, `labels`, `index`).
public enum EmbedStage {
    public struct Options: Sendable {
        public var datasetPath: String
        public var outPath: String
        public var encoder: EncoderKind = .raw
        /// images per encoder call
        public var batch: Int = 256
        /// the checkpoint an encoder is built from; recorded as input "checkpoint" (probe checks it)
        public var checkpointPath: String?
        /// ResNet base width of the random encoder
        public var width: Int = 16
        public var seed: UInt64 = 0
        public var threads: Int = defaultThreadCount
        /// embed only this contiguous part of the rows (FeatureParts; `embed merge` joins the parts)
        public var part: FeatureParts.Part?

        public init(datasetPath: String, outPath: String) {
            self.datasetPath = datasetPath
            self.outPath = outPath
        }
    }

    public struct Dataset {
        public let images: [UInt8]     // [N, C, H, W]
        public let shape: [Int]        // [N, C, H, W]
        public let labels: [Int64]     // [N]
        public let index: [Int64]      // [N]
        public let metadata: [String: String]

        /// The given rows only (an `embed --part`).
        func rows(_ r: Range<Int>) -> Dataset {
            let size = shape[1...].reduce(1, *)
            return Dataset(images: Array(images[(r.lowerBound * size)..<(r.upperBound * size)]), shape: [r.count] + shape.dropFirst(),
                           labels: Array(labels[r]), index: Array(index[r]), metadata: metadata)
        }
    }

    /// Reads and validates a dataset file.
    public static func readDataset(_ path: String) throws -> Dataset {
        try requireReadableFile(path)
        return try wrapping(path) {
            let file = try TensorFile.read(path)
            let info = try file.info("images")
            guard info.dtype == .u8 else { throw StageError(path, "tensor 'images' has dtype \(info.dtype.rawValue), expected U8") }
            guard info.shape.count == 4, info.shape.allSatisfy({ $0 > 0 }) else {
                throw StageError(path, "tensor 'images' has shape \(info.shape), expected [N, C, H, W] with every size > 0")
            }
            let n = info.shape[0]
            let labels = try file.array("labels", as: Int64.self, shape: [n])
            let index = try file.array("index", as: Int64.self, shape: [n])
            return Dataset(images: try file.array("images", as: UInt8.self), shape: info.shape, labels: labels, index: index,
                           metadata: file.metadata)
        }
    }

    /// Runs the stage; returns the line printed on stdout. `makeEncoder`, when given, replaces
    /// `o.encoder.make` (a way to plug in an encoder built elsewhere, e.g. from a checkpoint).
    @discardableResult
    public static func run(_ o: Options, makeEncoder: ((Dataset) throws -> FeatureEncoder)? = nil) throws -> String {
        guard o.batch >= 1 else { throw StageError.usage("--batch must be at least 1 (got \(o.batch))") }
        guard o.width >= 1, o.width <= ResNet<Float>.widthLimit else {
            throw StageError.usage("--width must be in 1…\(ResNet<Float>.widthLimit) (got \(o.width))")
        }
        try requireWritableOutput(o.outPath)
        try requireDistinctOutput(o.outPath, flag: "--out", from: [("--dataset", o.datasetPath), ("--checkpoint", o.checkpointPath)])
        let whole = try readDataset(o.datasetPath)
        let rows = o.part?.rows(of: whole.shape[0], batch: o.batch) ?? 0..<whole.shape[0]
        let data = o.part == nil ? whole : whole.rows(rows)
        let encoder = try makeEncoder?(data) ?? o.encoder.make(imageShape: Array(data.shape.dropFirst()), options: o)
        let n = data.shape[0], imageSize = data.shape[1...].reduce(1, *)
        guard n > 0 else {
            throw StageError.usage("--part \(o.part!.text) holds no rows of the \(whole.shape[0]) in \(o.datasetPath) (batches of \(o.batch)): use fewer parts")
        }
        let d = encoder.backboneDim, p = encoder.projectionDim
        let (floats, overflow) = n.multipliedReportingOverflow(by: d + p)
        try OutputBudget.check(floats &* 4, overflow: overflow || floats > Int.max / 4, what: "features of \(n) images × (\(d) + \(p)) floats",
                               inputBytes: OutputBudget.size(of: [o.datasetPath]), file: o.datasetPath, hint: "embed fewer images")

        var provenance = Provenance(stage: "embed", seed: o.seed)
        try provenance.addInput("dataset", path: o.datasetPath)
        if let checkpoint = o.checkpointPath { try provenance.addInput("checkpoint", path: checkpoint) }
        provenance.set("batch", o.batch)
        if let part = o.part {
            provenance.set("part", part.text)
            provenance.set("rows", "\(rows.lowerBound)..<\(rows.upperBound) of \(whole.shape[0])")
        }
        for (k, v) in encoder.description where k != "encoder" { provenance.set("encoder_\(k)", v) }
        let encoderName = encoder.description["encoder"] ?? o.encoder.rawValue
        provenance.set("encoder", encoderName)
        if let classes = data.metadata["classes"] { provenance.extra["classes"] = classes }

        var backbone = [Float](repeating: 0, count: n * d)     // [N, D]
        var projection = [Float](repeating: 0, count: n * p)   // [N, P]
        let progress = StageKit.Progress("embed", total: n, unit: "img")
        data.images.withUnsafeBufferPointer { img in
        backbone.withUnsafeMutableBufferPointer { bb in
        projection.withUnsafeMutableBufferPointer { pr in
            var start = 0
            while start < n {
                let rows = min(o.batch, n - start)
                encoder.encode(images: img.baseAddress! + start * imageSize, count: rows,
                               backbone: bb.baseAddress! + start * d, projection: pr.baseAddress! + start * p)
                start += rows
                progress.advance(rows)
            }
        }}}
        progress.finish()

        var writer = TensorFileWriter(metadata: provenance.metadata)
        writer.add("backbone", backbone, shape: [n, d])
        writer.add("projection", projection, shape: [n, p])
        writer.add("labels", data.labels, shape: [n])
        writer.add("index", data.index, shape: [n])
        try writer.write(to: o.outPath)
        return "embed: \(n) images → backbone \(n)×\(d), projection \(n)×\(p) (encoder \(encoderName)) → \(o.outPath)"
    }
}
