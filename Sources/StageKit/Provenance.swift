import Foundation

/// What every output records in its `__metadata__`: which stage made it, with which resolved parameters
/// and seed, from which inputs (by content hash), by which code (`commit`). Keys are stable so that tools can read them.
public struct Provenance: Sendable {
    public static let version = "0.1.0"

    public var stage: String
    public var seed: UInt64?
    public var parameters: [String: String] = [:]
    public var inputs: [String: String] = [:]     // role → sha256 of the input file
    public var extra: [String: String] = [:]      // further metadata entries, written as they are

    public init(stage: String, seed: UInt64? = nil) {
        self.stage = stage
        self.seed = seed
    }

    public mutating func set(_ key: String, _ value: CustomStringConvertible) { parameters[key] = value.description }

    /// Hashes an input file and records it under `role` (e.g. "dataset", "checkpoint").
    public mutating func addInput(_ role: String, path: String) throws {
        try requireReadableFile(path)
        inputs[role] = try SHA256.hex(file: path)
    }

    /// The `__metadata__` map: stage, version, seed, parameters (JSON), inputs (JSON) and extras.
    public var metadata: [String: String] {
        var m = extra
        m["stage"] = stage
        m["version"] = Provenance.version
        m["commit"] = BuildInfo.commit
        if let seed { m["seed"] = String(seed) }
        m["parameters"] = Provenance.json(parameters)
        m["inputs"] = Provenance.json(inputs)
        return m
    }

    /// Canonical JSON (sorted keys) so that identical parameters give identical bytes.
    public static func json(_ dict: [String: String]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: dict, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a JSON object of strings written by `json`.
    public static func decode(_ text: String?) -> [String: String] {
        guard let text, let data = text.data(using: .utf8),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in obj { out[k] = "\(v)" }
        return out
    }
}
