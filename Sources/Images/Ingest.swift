import Foundation
import StageKit

/// The `ingest` stage: one source (IDX pair, CIFAR batches, JPEG folder) → one dataset file with provenance.
public enum Ingest {
    /// Where the images come from. Adding a source: a case here, its reader (an `ImageDataset.from…`),
    /// and a subcommand in Sources/ingest/main.swift.
    public enum Source {
        case idx(images: String, labels: String)
        case cifar(batches: [String], kind: CIFARKind, label: CIFARLabel)
        case folder(root: String, labeled: Bool, options: JPEGOptions)
        case dataset(path: String)
    }

    /// Reads the source, writes `out` atomically, and returns the one-line summary for stdout. Nothing is
    /// written unless everything read cleanly (or, with --skip-bad, the bad images were left out).
    public static func run(_ source: Source, subset: Subset, out: String, seed: UInt64, threads: Int) throws -> String {
        var provenance = Provenance(stage: "ingest", seed: seed)
        provenance.set("limit", subset.limit)
        provenance.set("shard", "\(subset.shard)/\(subset.shards)")
        switch source {
        case let .idx(images, labels): try requireDistinctOutput(out, flag: "--out", from: [("--images", images), ("--labels", labels)])
        case let .cifar(batches, _, _): try requireDistinctOutput(out, flag: "--out", from: batches.map { ("batch file", $0) })
        case let .folder(root, _, _): try requireDistinctOutput(out, flag: "--out", from: [("image folder", root)])
        case let .dataset(path): try requireDistinctOutput(out, flag: "--out", from: [("dataset", path)])
        }
        let dataset: ImageDataset
        switch source {
        case let .idx(images, labels):
            provenance.set("source", "idx")
            dataset = try ImageDataset.fromIDX(images: images, labels: labels, subset: subset)
            try provenance.addInput("images", path: images)
            try provenance.addInput("labels", path: labels)
        case let .cifar(batches, kind, label):
            provenance.set("source", kind.rawValue)
            provenance.set("label", label.rawValue)
            dataset = try ImageDataset.fromCIFAR(batches: batches, kind: kind, label: label, subset: subset)
            for (i, b) in batches.enumerated() { try provenance.addInput("batch\(i)", path: b) }
        case let .folder(root, labeled, options):
            provenance.set("source", labeled ? "folder" : "folder-unlabeled")
            provenance.set("size", options.size.map(String.init) ?? "none")
            provenance.set("resize", options.size == nil ? "none" : "shorter-side-bilinear-center-crop")
            provenance.set("color", options.color.rawValue)
            provenance.set("skip_bad", options.skipBad)
            dataset = try ImageDataset.fromFolder(root, labeled: labeled, subset: subset, options: options)
            // A folder's content hash: SHA-256 over the sorted (relative name, file hash) lines of the images used.
            var listing = SHA256()
            let files = try JPEGFolder.list(root, labeled: labeled).files
            for i in dataset.index {
                let f = files[Int(i)]
                let relative = f.split(separator: "/").suffix(labeled ? 2 : 1).joined(separator: "/")
                listing.update(Data("\(relative)\t\(try SHA256.hex(file: f))\n".utf8))
            }
            provenance.inputs["folder"] = listing.finalize()
        case let .dataset(path):
            provenance.set("source", "dataset")
            dataset = try ImageDataset.fromDatasetFile(path, subset: subset)
            try provenance.addInput("dataset", path: path)
        }
        // Always shown (even with NS_QUIET): skipped images change what the dataset holds.
        for line in dataset.skipped { FileHandle.standardError.write(Data("ingest: skipped \(line)\n".utf8)) }
        guard dataset.count > 0 else { throw StageError(out, "nothing to write: the selection is empty") }
        try dataset.write(to: out, provenance: provenance)
        return dataset.summary(path: out)
    }
}
