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

/// Checks an output path before the work starts, so a bad --out fails fast and writes nothing.
func requireWritableOutput(_ path: String) throws {
    guard !path.isEmpty else { throw StageError.usage("--out must name a file") }
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw StageError(path, "is a folder, expected an output file name")
    }
}
