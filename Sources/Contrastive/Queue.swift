import StageKit
import TensorFiles

/// MoCo's queue of past keys: K×d (L2-normalised), with each entry's dataset index and label.
/// State changes only through `enqueue` (a named call in the training loop, after the step).
public struct Queue: Equatable, Sendable {
    public let size: Int                 // K
    public let dim: Int                  // d
    public var keys: [Float]             // [K, d]
    public var indices: [Int64]          // [K] dataset index of each key (−1 = initial random key)
    public var labels: [Int64]           // [K] label of each key (−1 = none)
    public var pointer: Int              // next slot to overwrite (the oldest entry)

    /// Random unit keys (MoCo initialises the queue this way), index and label −1.
    public init(size: Int, dim: Int, seed: UInt64) {
        precondition(size > 0 && dim > 0)
        self.size = size; self.dim = dim
        keys = Embeddings.randomUnit(count: size, dim: dim, seed: seed, stream: 0x5155_4555)
        indices = [Int64](repeating: -1, count: size)
        labels = [Int64](repeating: -1, count: size)
        pointer = 0
    }

    public init(keys: [Float], indices: [Int64], labels: [Int64], pointer: Int, dim: Int) {
        self.dim = dim; self.size = indices.count
        self.keys = keys; self.indices = indices; self.labels = labels; self.pointer = pointer
    }

    /// Replaces the oldest B entries with the batch's keys [B, d]; requires K % B == 0 so the batch
    /// never straddles the end (as MoCo asserts).
    public mutating func enqueue(keys batch: [Float], indices batchIndices: [Int64], labels batchLabels: [Int64]) throws {
        let b = batchIndices.count
        guard b > 0, batch.count == b * dim, batchLabels.count == b else {
            throw StageError("enqueue: expected keys [\(b), \(dim)] and \(b) labels, got \(batch.count) values and \(batchLabels.count) labels")
        }
        guard size % b == 0 else { throw StageError("queue size \(size) must be a multiple of the batch size \(b)") }
        for r in 0..<b {
            let slot = pointer + r
            for c in 0..<dim { keys[slot * dim + c] = batch[r * dim + c] }
            indices[slot] = batchIndices[r]
            labels[slot] = batchLabels[r]
        }
        pointer = (pointer + b) % size
    }

    /// Adds `<prefix>queue` f32 [K,d], `<prefix>queue_index` i64 [K], `<prefix>queue_label` i64 [K],
    /// `<prefix>queue_ptr` i64 [1].
    public func add(to writer: inout TensorFileWriter, prefix: String = "") {
        writer.add(prefix + "queue", keys, shape: [size, dim])
        writer.add(prefix + "queue_index", indices, shape: [size])
        writer.add(prefix + "queue_label", labels, shape: [size])
        writer.add(prefix + "queue_ptr", [Int64(pointer)], shape: [1])
    }

    /// Reads what `add` wrote, validating shapes; errors name the file.
    public static func read(from file: TensorFile, prefix: String = "") throws -> Queue {
        do {
            let info = try file.info(prefix + "queue")
            guard info.shape.count == 2, info.shape[0] > 0, info.shape[1] > 0 else {
                throw StageError(file.path, "\(prefix)queue must be [K, d] (got \(info.shape))")
            }
            let k = info.shape[0], d = info.shape[1]
            let keys = try file.floats(prefix + "queue", shape: [k, d])
            try requireFinite(keys, tensor: prefix + "queue", in: file.path, rowLength: d)
            let idx = try file.integers(prefix + "queue_index", shape: [k])
            let lab = try file.integers(prefix + "queue_label", shape: [k])
            let ptr = try file.integers(prefix + "queue_ptr", shape: [1])[0]
            guard ptr >= 0, ptr < k else { throw StageError(file.path, "\(prefix)queue_ptr \(ptr) outside 0..<\(k)") }
            return Queue(keys: keys, indices: idx, labels: lab, pointer: Int(ptr), dim: d)
        } catch let e as StageError { throw e } catch { throw StageError(file.path, "\(error)") }
    }
}
