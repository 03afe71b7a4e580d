import Foundation
import StageKit
import TensorFiles

/// Labelled embeddings read from a file: the queries (a features file) or the candidates (a features
/// file, or a checkpoint's queue or memory bank).
///
/// Tensor names looked for, in order, when `tensor` is nil:
///   features file:  `projection` [n,d] f32, `labels` [n], `index` [n]
///   MoCo queue:     `queue` [K,d], `queue_label` [K], `queue_index` [K]
///   memory bank:    `bank` [N,d], `bank_label` [N], `bank_index` [N] (index defaults to 0..<N: row i is item i)
/// With `tensor` = NAME: NAME, NAME_label, NAME_index (labels default to −1, index to 0..<n).
/// Rows with a negative index (unfilled queue slots) are dropped.
public struct EmbeddingSet: Sendable {
    public let vectors: [Float]     // [count, dim] row-major
    public let labels: [Int64]      // [count] (−1 = unlabelled)
    public let index: [Int64]       // [count] dataset position of each row
    public let count: Int
    public let dim: Int
    public let tensorName: String

    public init(vectors: [Float], labels: [Int64], index: [Int64], dim: Int, tensorName: String = "projection") {
        precondition(dim > 0 && vectors.count % dim == 0 && labels.count == vectors.count / dim && index.count == labels.count)
        self.vectors = vectors
        self.labels = labels
        self.index = index
        self.dim = dim
        count = vectors.count / dim
        self.tensorName = tensorName
    }

    public static func load(_ path: String, tensor: String? = nil) throws -> EmbeddingSet {
        let file = try TensorFile.read(path)
        let name: String
        if let tensor { name = tensor }
        else if let found = ["projection", "queue", "bank"].first(where: file.has) { name = found }
        else {
            // a checkpoint holds hundreds of tensors: name a few, so the error stays one readable line
            let shown = file.names.prefix(6).joined(separator: ", ") + (file.names.count > 6 ? ", … \(file.names.count) in all" : "")
            throw StageError(path, "has none of the tensors projection, queue, bank (it has: \(shown)); pass --*-tensor NAME")
        }
        let info = try file.info(name)
        guard info.shape.count == 2, info.shape[0] > 0, info.shape[1] > 0 else {
            throw StageError(path, "tensor '\(name)' has shape \(info.shape), expected [n, d] with n, d > 0")
        }
        let n = info.shape[0], d = info.shape[1]
        let vectors = try file.floats(name)
        let labelName = name == "projection" ? "labels" : "\(name)_label"
        let indexName = name == "projection" ? "index" : "\(name)_index"
        let labels = file.has(labelName) ? try file.integers(labelName, shape: [n]) : [Int64](repeating: -1, count: n)
        let index = file.has(indexName) ? try file.integers(indexName, shape: [n]) : (0..<Int64(n)).map { $0 }
        try requireFinite(vectors, tensor: name, in: path, rowLength: d)
        // rows with a negative index are unfilled queue/bank slots: drop them
        let keep = (0..<n).filter { index[$0] >= 0 }
        if keep.count == n { return EmbeddingSet(vectors: vectors, labels: labels, index: index, dim: d, tensorName: name) }
        guard !keep.isEmpty else { throw StageError(path, "every row of '\(name)' has a negative index (an empty queue?)") }
        var kept = [Float](repeating: 0, count: keep.count * d)      // [kept, d]
        for (r, i) in keep.enumerated() { for j in 0..<d { kept[r * d + j] = vectors[i * d + j] } }
        return EmbeddingSet(vectors: kept, labels: keep.map { labels[$0] }, index: keep.map { index[$0] }, dim: d, tensorName: name)
    }
}
