import StageKit
import TensorFiles

/// The memory bank of IR and CMC: one L2-normalised feature per dataset item (N×d) with its label.
/// State changes only through `write` (a named call in the training loop, once per step).
public struct MemoryBank: Equatable, Sendable {
    public let count: Int                // N
    public let dim: Int                  // d
    public var features: [Float]         // [N, d]
    public var labels: [Int64]           // [N] (−1 = none)

    /// Random unit features; `labels` (if given) are the dataset's labels.
    public init(count: Int, dim: Int, labels: [Int64]? = nil, seed: UInt64, stream: UInt64 = 0) {
        precondition(count > 1 && dim > 0)
        self.count = count; self.dim = dim
        features = Embeddings.randomUnit(count: count, dim: dim, seed: seed, stream: 0x42_414E_4B00 &+ stream)
        self.labels = labels ?? [Int64](repeating: -1, count: count)
    }

    public init(features: [Float], labels: [Int64], dim: Int) {
        self.count = labels.count; self.dim = dim; self.features = features; self.labels = labels
    }

    /// The stored features of `indices` [B] → [B, d].
    public func rows(_ indices: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: indices.count * dim)   // [B, d]
        for (r, i) in indices.enumerated() { for c in 0..<dim { out[r * dim + c] = features[i * dim + c] } }
        return out
    }

    /// bank[i] ← normalise(m·bank[i] + (1−m)·f) for each row of the batch (features [B, d]).
    /// Call once per step, after the gradient; indices must be distinct within a batch.
    public mutating func write(indices: [Int], features batch: [Float], momentum m: Float) throws {
        guard batch.count == indices.count * dim else {
            throw StageError("bank write: expected features [\(indices.count), \(dim)], got \(batch.count) values")
        }
        for (r, i) in indices.enumerated() {
            guard i >= 0, i < count else { throw StageError("bank write: index \(i) outside 0..<\(count)") }
            var norm: Float = 0
            for c in 0..<dim {
                let v = m * features[i * dim + c] + (1 - m) * batch[r * dim + c]
                features[i * dim + c] = v; norm += v * v
            }
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            for c in 0..<dim { features[i * dim + c] *= inv }
        }
    }

    /// Adds `<prefix>bank` f32 [N,d] and `<prefix>bank_label` i64 [N] (CMC: prefixes "l_" and "ab_").
    public func add(to writer: inout TensorFileWriter, prefix: String = "") {
        writer.add(prefix + "bank", features, shape: [count, dim])
        writer.add(prefix + "bank_label", labels, shape: [count])
    }

    public static func read(from file: TensorFile, prefix: String = "") throws -> MemoryBank {
        do {
            let info = try file.info(prefix + "bank")
            guard info.shape.count == 2, info.shape[0] > 1, info.shape[1] > 0 else {
                throw StageError(file.path, "\(prefix)bank must be [N, d] with N > 1 (got \(info.shape))")
            }
            let n = info.shape[0], d = info.shape[1]
            let features = try file.floats(prefix + "bank", shape: [n, d])
            try requireFinite(features, tensor: prefix + "bank", in: file.path, rowLength: d)
            return MemoryBank(features: features,
                              labels: try file.integers(prefix + "bank_label", shape: [n]), dim: d)
        } catch let e as StageError { throw e } catch { throw StageError(file.path, "\(error)") }
    }
}

/// Small helpers on row-major embedding arrays.
public enum Embeddings {
    /// count×dim Gaussian rows normalised to unit length, from (seed, stream, row) RNG streams.
    public static func randomUnit(count: Int, dim: Int, seed: UInt64, stream: UInt64) -> [Float] {
        var out = [Float](repeating: 0, count: count * dim)
        for r in 0..<count {
            var rng = RNG(seed: seed, stream: [stream, UInt64(r)])
            for c in 0..<dim { out[r * dim + c] = Float(rng.normal()) }
        }
        normalise(&out, dim: dim)
        return out
    }

    /// Scales every row to unit length in place.
    public static func normalise(_ x: inout [Float], dim: Int) {
        for r in 0..<(x.count / dim) {
            var s: Float = 0
            for c in 0..<dim { s += x[r * dim + c] * x[r * dim + c] }
            let inv = 1 / max(s.squareRoot(), 1e-12)
            for c in 0..<dim { x[r * dim + c] *= inv }
        }
    }

    /// Row-wise dot products [rows] of a [rows, d] and b [rows, d].
    static func rowDots(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, dim d: Int) -> [Float] {
        (0..<rows).map { dot(a + $0 * d, b + $0 * d, d) }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var s: Float = 0
        for c in 0..<d { s += a[c] * b[c] }
        return s
    }
}
