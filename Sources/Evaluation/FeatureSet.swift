import Foundation
import StageKit
import TensorFiles

/// Which of the two feature tensors an evaluation reads. Adding a variant touches only `tensorName`
/// (and the embed stage, which must then write that tensor).
public enum FeatureKind: String, CaseIterable, Sendable {
    /// pooled, pre-head encoder output (what linear probes use)
    case backbone
    /// L2-normalised head output (what the MoCo CIFAR demo's and InstDisc's kNN monitors use)
    case projection

    public var tensorName: String { rawValue }
}

/// One split's frozen features with their labels, as read from an embed output (the features contract:
/// `backbone` f32 [N,D], `projection` f32 [N,P], `labels` i64 [N], `index` i64 [N]).
public struct LabeledFeatures: Sendable {
    public var values: [Float]      // [count, dim] row-major
    public var labels: [Int64]      // [count], every label ≥ 0
    public var count: Int
    public var dim: Int

    public init(values: [Float], labels: [Int64], count: Int, dim: Int) {
        precondition(values.count == count * dim && labels.count == count, "features: \(values.count) values, \(labels.count) labels for \(count)×\(dim)")
        self.values = values
        self.labels = labels
        self.count = count
        self.dim = dim
    }

    /// The rows at `positions`, in that order.
    public func subset(_ positions: [Int]) -> LabeledFeatures {
        var v = [Float](repeating: 0, count: positions.count * dim)   // [m, dim]
        for (r, i) in positions.enumerated() { for c in 0..<dim { v[r * dim + c] = values[i * dim + c] } }
        return LabeledFeatures(values: v, labels: positions.map { labels[$0] }, count: positions.count, dim: dim)
    }

    /// Labels must lie in 0..<classLimit: per-class tables (kNN votes, the probe's weights) are sized by
    /// the largest label, so a stray huge label would otherwise ask for gigabytes.
    public static let classLimit: Int64 = 10_000

    /// Number of classes implied by the labels (largest label + 1).
    public var classCount: Int { Int(labels.max() ?? -1) + 1 }

    /// Reads one feature tensor and the labels from a features file, validating dtype, shapes and labels.
    public static func read(_ path: String, kind: FeatureKind) throws -> LabeledFeatures {
        try requireReadableFile(path)
        let file: TensorFile
        do { file = try TensorFile.read(path) } catch let e as TensorFileError { throw StageError(e.path, e.message) }
        return try wrapping(path) {
            let info = try file.info(kind.tensorName)
            guard info.dtype == .f32 else {
                throw StageError(path, "tensor '\(kind.tensorName)' has dtype \(info.dtype.rawValue), expected F32")
            }
            guard info.shape.count == 2, info.shape[0] > 0, info.shape[1] > 0 else {
                throw StageError(path, "tensor '\(kind.tensorName)' has shape \(info.shape), expected [N, D] with N, D > 0")
            }
            let n = info.shape[0], d = info.shape[1]
            let values = try file.array(kind.tensorName, as: Float.self)
            let labelInfo = try file.info("labels")
            guard labelInfo.dtype == .i64 else { throw StageError(path, "tensor 'labels' has dtype \(labelInfo.dtype.rawValue), expected I64") }
            let labels = try file.array("labels", as: Int64.self, shape: [n])
            if let bad = labels.firstIndex(where: { $0 < 0 }) {
                throw StageError(path, "item \(bad) has label \(labels[bad]); evaluation needs every item labelled (≥ 0)")
            }
            if let bad = labels.firstIndex(where: { $0 >= classLimit }) {
                throw StageError(path, "item \(bad) has label \(labels[bad]); labels must be below \(classLimit) (the evaluation's class limit)")
            }
            try requireFinite(values, tensor: kind.tensorName, in: path, rowLength: d)
            return LabeledFeatures(values: values, labels: labels, count: n, dim: d)
        }
    }
}

/// Checks that a train and a test split can be evaluated together.
func requireCompatible(train: LabeledFeatures, trainPath: String, test: LabeledFeatures, testPath: String, kind: FeatureKind) throws {
    guard train.dim == test.dim else {
        throw StageError(testPath, "'\(kind.tensorName)' has \(test.dim) dimensions but the train features (\(trainPath)) have \(train.dim)")
    }
}

/// Scales each row to unit L2 norm (rows of norm 0 stay 0, as torch's F.normalize with eps 1e-12).
public func normalizeRows(_ x: inout [Float], rows: Int, dim: Int, threads: Int = 1) {
    x.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        parallelRanges(rows, threads: threads) { range in
            for r in range {
                let row = p + r * dim
                var sum: Double = 0
                for j in 0..<dim { sum += Double(row[j]) * Double(row[j]) }
                let norm = Float(max(sum.squareRoot(), 1e-12))
                for j in 0..<dim { row[j] /= norm }
            }
        }
    }
}
