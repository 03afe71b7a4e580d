import Evaluation
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// Shared builders for the evaluation tests: feature files, dataset files, JSON decoding.
enum Fixture {
    /// Writes a features file (the embed contract). `projection` defaults to the backbone values.
    static func writeFeatures(_ path: String, _ backbone: LabeledFeatures, projection: LabeledFeatures? = nil,
                              metadata: [String: String] = ["stage": "test"]) throws {
        let p = projection ?? backbone
        var w = TensorFileWriter(metadata: metadata)
        w.add("backbone", backbone.values, shape: [backbone.count, backbone.dim])
        w.add("projection", p.values, shape: [p.count, p.dim])
        w.add("labels", backbone.labels, shape: [backbone.count])
        w.add("index", (0..<backbone.count).map(Int64.init), shape: [backbone.count])
        try w.write(to: path)
    }

    /// Gaussian clusters with the given label sequence.
    static func clusters(labels: [Int64], dim: Int, noise: Float, seed: UInt64, centreSeed: UInt64 = 7) -> LabeledFeatures {
        let classes = Int(labels.max()!) + 1
        var centres = [Float](repeating: 0, count: classes * dim)
        var rng = RNG(seed: centreSeed)
        for i in 0..<centres.count { centres[i] = Float(rng.normal()) }
        var r = RNG(seed: seed)
        var values = [Float](repeating: 0, count: labels.count * dim)
        for i in 0..<labels.count {
            for j in 0..<dim { values[i * dim + j] = centres[Int(labels[i]) * dim + j] + noise * Float(r.normal()) }
        }
        return LabeledFeatures(values: values, labels: labels, count: labels.count, dim: dim)
    }

    static func cyclicLabels(_ n: Int, classes: Int) -> [Int64] { (0..<n).map { Int64($0 % classes) } }

    static func json(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        guard let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            XCTFail("not a JSON object: \(text.prefix(200))", file: file, line: line)
            return [:]
        }
        return obj
    }

    static func jsonFile(_ path: String) throws -> [String: Any] {
        try json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
    }

    static func requirePython() throws {
        guard TestSupport.pythonHas(["numpy", "safetensors", "zstandard"]) else {
            throw XCTSkip("python3 with numpy, safetensors and zstandard is needed for the NumPy references")
        }
    }

    static func python(_ script: String, _ args: [String]) throws -> [String: Any] {
        let r = try TestSupport.python(script, args)
        XCTAssertEqual(r.status, 0, "\(script) failed: \(r.stderr)")
        return try json(r.stdout)
    }
}
