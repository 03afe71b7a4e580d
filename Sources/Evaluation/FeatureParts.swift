import Foundation
import StageKit
import TensorFiles

/// A large dataset embedded in parts (`embed --part K/N`, e.g. one cluster job each) and joined again
/// (`embed merge`). The n rows are encoded in batches of `--batch`; part K of N holds the contiguous
/// batches ⌊K·b/N⌋ ..< ⌊(K+1)·b/N⌋ of the b batches, so every batch is the one a whole run encodes and
/// the merged file equals the whole run's bit for bit. A part records `part` = "K/N" and `rows` =
/// "A..<B of n" in its parameters; the merge checks that the N parts
/// come from the same dataset, checkpoint and settings and cover the rows exactly once, and writes what
/// one whole `embed` would (its metadata the parts' own, with `parts` = N in place of `part`/`rows`).
public enum FeatureParts {
    public struct Part: Equatable, Sendable {
        public let index: Int, count: Int

        /// "K/N" with 0 ≤ K < N.
        public init(parsing text: String) throws {
            let fields = text.split(separator: "/", omittingEmptySubsequences: false)
            guard fields.count == 2, let k = Int(fields[0]), let n = Int(fields[1]), n >= 1, k >= 0, k < n else {
                throw StageError.usage("--part must be K/N with 0 ≤ K < N (got '\(text)')")
            }
            (index, count) = (k, n)
        }

        /// This part's rows of a dataset of `n` encoded in batches of `batch`.
        public func rows(of n: Int, batch: Int) -> Range<Int> {
            let batches = (n + batch - 1) / batch
            func start(_ k: Int) -> Int { min(n, k * batches / count * batch) }
            return start(index)..<start(index + 1)
        }
        public var text: String { "\(index)/\(count)" }
    }

    static let tensors = ["backbone", "projection", "labels", "index"]

    /// Joins the parts (any order on the command line) into `out`; returns the stage's stdout line.
    @discardableResult
    public static func merge(parts paths: [String], out: String) throws -> String {
        guard !paths.isEmpty else { throw StageError.usage("name the part files to join") }
        try requireWritableOutput(out)
        try requireDistinctOutput(out, flag: "--out", from: paths.map { ("part", Optional($0)) })
        var byIndex: [Int: (path: String, file: TensorFile)] = [:]
        var common: [String: String]?, expected: (parts: Int, rows: Int)?
        for path in paths {
            try requireReadableFile(path)
            let file = try wrapping(path) { try TensorFile.read(path) }
            guard file.metadata["stage"] == "embed" else { throw StageError(path, "not an embed output") }
            var parameters = Provenance.decode(file.metadata["parameters"])
            guard let partText = parameters.removeValue(forKey: "part"), let part = try? Part(parsing: partText),
                  let rowsText = parameters.removeValue(forKey: "rows") else {
                throw StageError(path, "is not a part (made without embed --part K/N)")
            }
            let (rows, total) = try parseRows(rowsText, file: path)
            guard let batch = Int(parameters["batch"] ?? ""), batch >= 1, rows == part.rows(of: total, batch: batch) else {
                throw StageError(path, "records rows \(rowsText), not part \(partText)'s")
            }
            if let e = expected, e.parts != part.count { throw StageError(path, "is a part of \(part.count), the others of \(e.parts)") }
            if let e = expected, e.rows != total { throw StageError(path, "is a part of \(total) rows, the others of \(e.rows)") }
            expected = (part.count, total)
            if let seen = byIndex[part.index] { throw StageError(path, "is part \(partText) again (also \(seen.path))") }
            var identity = file.metadata.filter { $0.key != "parameters" }     // commit included: one build's parts
            identity["parameters"] = Provenance.json(parameters)
            if let c = common, c != identity {
                let key = Set(c.keys).union(identity.keys).sorted().first { c[$0] != identity[$0] } ?? "?"
                throw StageError(path, "differs from \(byIndex.values.first!.path) in '\(key)': not parts of one embedding")
            }
            common = identity
            for name in tensors {
                let info = try wrapping(path) { try file.info(name) }
                guard info.shape.first == rows.count else { throw StageError(path, "tensor '\(name)' holds \(info.shape.first ?? 0) rows, the part \(rows.count)") }
                let row = Array(info.shape.dropFirst())
                if let first = byIndex.values.first, let seen = try? first.file.info(name), Array(seen.shape.dropFirst()) != row {
                    throw StageError(path, "tensor '\(name)' has rows of \(row), \(first.path) of \(Array(seen.shape.dropFirst()))")
                }
            }
            byIndex[part.index] = (path, file)
        }
        let (n, rowsTotal) = expected!
        if let missing = (0..<n).first(where: { byIndex[$0] == nil }) {
            throw StageError.usage("part \(missing)/\(n) is missing (\(byIndex.count) of \(n) given)")
        }
        let ordered = (0..<n).map { byIndex[$0]! }      // their rows partition 0..<rowsTotal (same total, batch, N)
        let widths = try ["backbone", "projection"].map { try ordered[0].file.info($0).shape.dropFirst().reduce(1, *) }
        let (floats, overflow) = rowsTotal.multipliedReportingOverflow(by: widths.reduce(0, +) + 4)
        try OutputBudget.check(floats &* 4, overflow: overflow || floats > Int.max / 4, what: "\(rowsTotal) rows of merged features",
                               inputBytes: OutputBudget.size(of: paths), file: ordered[0].path, hint: "merge fewer rows")

        var metadata = ordered[0].file.metadata
        var parameters = Provenance.decode(metadata["parameters"])
        parameters["part"] = nil; parameters["rows"] = nil
        parameters["parts"] = "\(n)"
        metadata["parameters"] = Provenance.json(parameters)
        metadata["commit"] = BuildInfo.commit
        var writer = TensorFileWriter(metadata: metadata)
        for (name, width) in zip(["backbone", "projection"], widths) {
            var all: [Float] = []
            for p in ordered { all += try wrapping(p.path) { try p.file.floats(name) } }
            writer.add(name, all, shape: [rowsTotal, width])
        }
        for name in ["labels", "index"] {
            var all: [Int64] = []
            for p in ordered { all += try wrapping(p.path) { try p.file.integers(name) } }
            writer.add(name, all, shape: [all.count])
        }
        try writer.write(to: out)
        return "embed: merged \(n) parts → backbone \(rowsTotal)×\(widths[0]), projection \(rowsTotal)×\(widths[1]) → \(out)"
    }

    /// "A..<B of n".
    static func parseRows(_ text: String, file: String) throws -> (Range<Int>, Int) {
        let words = text.split(separator: " ")
        let bounds = words.first?.components(separatedBy: "..<") ?? []
        guard words.count == 3, words[1] == "of", bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]),
              let n = Int(words[2]), 0 <= a, a <= b, b <= n else {
            throw StageError(file, "records rows '\(text)', expected 'A..<B of n'")
        }
        return (a..<b, n)
    }
}
