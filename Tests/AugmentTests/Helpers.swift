import Augment
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// Shared fixtures: synthetic images and datasets, and the Swift ↔ NumPy case exchange.
enum Fixture {
    /// A u8 image [C, H, W] with smooth structure plus noise, so resampling and blur have work to do.
    static func image(channels c: Int, height h: Int, width w: Int, seed: UInt64) -> [UInt8] {
        var rng = RNG(seed: seed)
        let fx = rng.uniform(0.1, 0.6), fy = rng.uniform(0.1, 0.6)
        var out = [UInt8](repeating: 0, count: c * h * w)
        for ch in 0..<c {
            let phase = rng.uniform(0, 6.28)
            for y in 0..<h {
                for x in 0..<w {
                    let v = 128 + 90 * sin(fx * Double(x) + phase) * cos(fy * Double(y)) + rng.uniform(-30, 30)
                    out[(ch * h + y) * w + x] = UInt8(min(max(v, 0), 255))
                }
            }
        }
        return out
    }

    /// Writes a dataset file: images u8 [N, C, H, W], labels i64 [N], index i64 [N].
    static func dataset(at path: String, n: Int, channels c: Int, height h: Int, width w: Int, seed: UInt64 = 1) throws {
        var images: [UInt8] = []
        for i in 0..<n { images += image(channels: c, height: h, width: w, seed: seed &+ UInt64(i) &* 7919) }
        var writer = TensorFileWriter(metadata: ["stage": "ingest", "classes": "[\"a\",\"b\",\"c\"]"])
        writer.add("images", images, shape: [n, c, h, w])
        writer.add("labels", (0..<n).map { Int64($0 % 3) }, shape: [n])
        writer.add("index", (0..<n).map { Int64(100 + $0) }, shape: [n])
        try writer.write(to: path)
    }
}

/// One transform case for the reference: an input image, a sampled view, and what Swift made of it.
struct ReferenceCase {
    var label: String
    var image: [UInt8]
    var channels: Int, height: Int, width: Int, size: Int
    var mode: ViewOutput
    var sample: ViewSample

    var pipeline: Pipeline {
        var p = Recipe.none.defaults
        p.output = mode
        return Pipeline(p, channels: channels, height: height, width: width, size: size)
    }
    var swiftOutput: [UInt8] { pipeline.renderU8(sample, image: image) }
}

enum Reference {
    /// Runs `scripts/ref_augment_transforms.py <which>` on the cases and returns its outputs in order.
    static func run(_ which: String, _ cases: [ReferenceCase]) throws -> [[UInt8]] {
        let dir = try TestSupport.scratchDir("augment-ref")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("cases.safetensors.zst").path
        let output = dir.appendingPathComponent("out.safetensors.zst").path
        var json: [[String: Any]] = []
        var writer = TensorFileWriter()
        let encoder = JSONEncoder()
        for (k, c) in cases.enumerated() {
            writer.add("input_\(k)", c.image, shape: [c.channels, c.height, c.width])
            let sample = try JSONSerialization.jsonObject(with: encoder.encode(c.sample))
            json.append(["input": "input_\(k)", "output": "out_\(k)", "size": c.size, "mode": c.mode.rawValue, "sample": sample])
        }
        writer.metadata["cases"] = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        try writer.write(to: input)
        let r = try TestSupport.python("ref_augment_transforms.py", [which, input, output])
        guard r.status == 0 else { throw StageError("reference script failed: \(r.stderr)") }
        let file = try TensorFile.read(output)
        return try cases.indices.map { try file.array("out_\($0)", as: UInt8.self) }
    }

    /// Asserts every case agrees within `tolerance` grey levels, and that disagreements are rare.
    /// `offFraction` bounds how many values may be off by one (Pillow rounds its intermediate pass to u8,
    /// so it is off by one far more often than the float64 reference, but without bias).
    static func assertAgree(_ cases: [ReferenceCase], _ reference: [[UInt8]], tolerance: Int = 1,
                            offFraction: Double = 0.02, file: StaticString = #filePath, line: UInt = #line) {
        for (c, ref) in zip(cases, reference) {
            let mine = c.swiftOutput
            XCTAssertEqual(mine.count, ref.count, "\(c.label): size", file: file, line: line)
            var worst = 0, off = 0, signed = 0
            for (a, b) in zip(mine, ref) {
                signed += Int(a) - Int(b)
                let d = abs(Int(a) - Int(b))
                worst = max(worst, d)
                if d > 0 { off += 1 }
            }
            XCTAssertLessThanOrEqual(worst, tolerance, "\(c.label): max difference \(worst)", file: file, line: line)
            XCTAssertLessThanOrEqual(Double(off), offFraction * Double(mine.count) + 2,
                                     "\(c.label): \(off) of \(mine.count) values differ", file: file, line: line)
            XCTAssertLessThanOrEqual(abs(Double(signed)), 0.1 * Double(mine.count) + 2,
                                     "\(c.label): biased, sum of differences \(signed)", file: file, line: line)
        }
    }
}
