import Foundation
import StageKit
import TensorFiles

/// The ingest output (the dataset contract): `images` u8 [N,C,H,W], `labels` i64 [N] (−1 = unlabeled),
/// `index` i64 [N] (position in the original source), plus class names when known.
public struct ImageDataset {
    public var images: [UInt8]          // [N, C, H, W]
    public var channels: Int
    public var height: Int
    public var width: Int
    public var labels: [Int64]          // [N]
    public var index: [Int64]           // [N]
    public var classes: [String]?
    public var skipped: [String] = []   // "file: why" for each image left out by --skip-bad

    public init(images: [UInt8], channels: Int, height: Int, width: Int, labels: [Int64], index: [Int64], classes: [String]? = nil) {
        precondition(images.count == labels.count * channels * height * width && labels.count == index.count)
        self.images = images
        self.channels = channels
        self.height = height
        self.width = width
        self.labels = labels
        self.index = index
        self.classes = classes
    }

    public var count: Int { labels.count }

    /// Writes the three tensors with provenance (plus `classes` and `skipped` as JSON arrays) atomically.
    public func write(to path: String, provenance: Provenance) throws {
        var meta = provenance.metadata
        if let classes { meta["classes"] = jsonArray(classes) }
        meta["skipped_count"] = String(skipped.count)
        if !skipped.isEmpty { meta["skipped"] = jsonArray(skipped) }
        var w = TensorFileWriter(metadata: meta)
        w.add("images", images, shape: [count, channels, height, width])
        w.add("labels", labels, shape: [count])
        w.add("index", index, shape: [count])
        try w.write(to: path)
    }

    /// One line saying what was written.
    public func summary(path: String) -> String {
        var s = "wrote \(path): images u8 [\(count), \(channels), \(height), \(width)], labels i64 [\(count)], index i64 [\(count)]"
        if let classes { s += ", \(classes.count) classes" }
        if !skipped.isEmpty { s += ", \(skipped.count) bad images skipped" }
        return s
    }
}

func jsonArray(_ items: [String]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: items, options: [])
    return String(decoding: data, as: UTF8.self)
}

/// Which source positions to keep: `--shard i/N` keeps positions p with p % N == i (strided, so every
/// class stays represented in class-sorted sources), then `--limit L` keeps the first L of those (0 = all).
public struct Subset: Sendable, Equatable {
    public var limit: Int
    public var shard: Int
    public var shards: Int

    public init(limit: Int = 0, shard: Int = 0, shards: Int = 1) {
        self.limit = limit
        self.shard = shard
        self.shards = shards
    }

    /// Parses "i/N" with 0 ≤ i < N.
    public static func parseShard(_ text: String) throws -> (Int, Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else {
            throw StageError.usage("--shard must be i/N with 0 ≤ i < N (got '\(text)')")
        }
        return (i, n)
    }

    /// The kept positions among `total`, in source order.
    public func positions(total: Int) -> [Int] {
        var kept = Array(stride(from: shard, to: total, by: shards))
        if limit > 0 && kept.count > limit { kept.removeLast(kept.count - limit) }
        return kept
    }

    public var description: String { "limit=\(limit) shard=\(shard)/\(shards)" }
}

extension ImageDataset {
    /// An existing dataset file (this contract) as a source: the `--shard`/`--limit` selection of its rows,
    /// keeping each row's `index` (its position in the original source), label and the class names.
    public static func fromDatasetFile(_ path: String, subset: Subset) throws -> ImageDataset {
        try requireReadableFile(path)
        let file = try wrapping(path) { try TensorFile.read(path) }
        let info = try wrapping(path) { try file.info("images") }
        guard info.dtype == .u8, info.shape.count == 4, info.shape.allSatisfy({ $0 > 0 }) else {
            throw StageError(path, "tensor 'images' is \(info.dtype.rawValue) \(info.shape), expected U8 [N, C, H, W] with every size > 0")
        }
        let n = info.shape[0], c = info.shape[1], h = info.shape[2], w = info.shape[3]
        let labels = try wrapping(path) { try file.array("labels", as: Int64.self, shape: [n]) }
        let index = try wrapping(path) { try file.array("index", as: Int64.self, shape: [n]) }
        if let bad = labels.first(where: { $0 < -1 }) { throw StageError(path, "label \(bad) is below −1 (−1 = unlabeled)") }
        let pixels = try wrapping(path) { try file.array("images", as: UInt8.self) }
        let kept = subset.positions(total: n), size = c * h * w
        var images = [UInt8](); images.reserveCapacity(kept.count * size)
        for p in kept { images += pixels[(p * size)..<((p + 1) * size)] }
        return ImageDataset(images: images, channels: c, height: h, width: w, labels: kept.map { labels[$0] },
                            index: kept.map { index[$0] }, classes: classNames(metadata: file.metadata))
    }

    /// The class names a dataset's metadata records (`classes`, a JSON array written by `write`), if any.
    public static func classNames(metadata: [String: String]) -> [String]? {
        metadata["classes"].flatMap { $0.data(using: .utf8) }.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String] }
    }
}
