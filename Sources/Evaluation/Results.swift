import Foundation
import StageKit

/// The results file probe and knn write: provenance (stage, version, seed, resolved parameters,
/// input hashes) plus the measured numbers, as canonical JSON (sorted keys, no timings) so identical
/// inputs give identical bytes.
public struct ResultsFile {
    public var provenance: Provenance
    public var results: [String: Any] = [:]

    public init(provenance: Provenance) { self.provenance = provenance }

    public func json() throws -> Data {
        let object: [String: Any] = [
            "stage": provenance.stage,
            "version": Provenance.version,
            "commit": BuildInfo.commit,
            "seed": provenance.seed.map { String($0) } ?? "",
            "parameters": provenance.parameters,
            "inputs": provenance.inputs,
            "extra": provenance.extra,
            "results": results,
        ]
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        data.append(0x0A)
        return data
    }

    public func write(to path: String) throws {
        try ensureParentDirectory(of: path)
        try writeFileAtomically(try json(), to: path)
    }
}

/// Accuracy as a percentage rounded to 1e-4 (keeps the JSON short and stable).
func percent(_ hits: Int, of total: Int) -> Double {
    (100 * Double(hits) / Double(max(total, 1)) * 10_000).rounded() / 10_000
}

/// Top-1 per class, in percent: [classes], NaN (JSON null) for a class with no test item.
func perClassTop1(predictions: [Int32], labels: [Int64], classes: Int) -> [Any] {
    var hits = [Int](repeating: 0, count: classes), totals = [Int](repeating: 0, count: classes)
    for (p, l) in zip(predictions, labels) where l >= 0 && Int(l) < classes {
        totals[Int(l)] += 1
        if Int64(p) == l { hits[Int(l)] += 1 }
    }
    return (0..<classes).map { totals[$0] == 0 ? NSNull() as Any : percent(hits[$0], of: totals[$0]) as Any }
}

/// Checks an output path before the work starts, so a bad --out fails fast and writes nothing.
func requireWritableOutput(_ path: String) throws {
    guard !path.isEmpty else { throw StageError.usage("--out must name a file") }
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw StageError(path, "is a folder, expected an output file name")
    }
}
