import Evaluation
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

final class EmbedTests: XCTestCase {
    static func writeDataset(_ path: String, n: Int, shape: [Int], seed: UInt64) throws -> [UInt8] {
        var rng = RNG(seed: seed)
        let size = shape.reduce(1, *)
        var images = (0..<(n * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for j in 0..<size { images[2 * size + j] = 0 }   // an all-black image
        var w = TensorFileWriter(metadata: ["stage": "test", "classes": "[\"a\",\"b\",\"c\"]"])
        w.add("images", images, shape: [n] + shape)
        w.add("labels", (0..<n).map { Int64($0 % 3) }, shape: [n])
        w.add("index", (0..<n).map { Int64(1000 + $0) }, shape: [n])
        try w.write(to: path)
        return images
    }

    /// Raw encoder: backbone = pixels / 255, projection = unit rows (zero image stays zero), labels and
    /// index copied, provenance recorded, identical bytes across reruns and thread counts.
    func testRawEncoderFeatures() throws {
        let dir = try TestSupport.scratchDir("embed")
        let dataPath = dir.appendingPathComponent("data.safetensors.zst").path
        let n = 37, shape = [3, 4, 5], size = 60
        let images = try EmbedTests.writeDataset(dataPath, n: n, shape: shape, seed: 9)
        let out1 = dir.appendingPathComponent("f1.safetensors.zst").path
        let out2 = dir.appendingPathComponent("f2.safetensors.zst").path
        let r = try TestSupport.runStage("embed", ["--encoder", "raw", "--dataset", dataPath, "--batch", "8", "--threads", "2", "--out", out1])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try TestSupport.runStage("embed", ["--dataset", dataPath, "--batch", "5", "--threads", "1", "--out", out2]).status, 0)
        // batch size is recorded, so compare the tensors, then a same-arguments rerun byte for byte
        let f = try TensorFile.read(out1), g = try TensorFile.read(out2)
        XCTAssertEqual(try f.array("backbone", as: Float.self), try g.array("backbone", as: Float.self))
        XCTAssertEqual(try f.array("projection", as: Float.self), try g.array("projection", as: Float.self))
        let out3 = dir.appendingPathComponent("f3.safetensors.zst").path
        XCTAssertEqual(try TestSupport.runStage("embed", ["--encoder", "raw", "--dataset", dataPath, "--batch", "8", "--threads", "1", "--out", out3]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out1)), try Data(contentsOf: URL(fileURLWithPath: out3)))

        let backbone = try f.array("backbone", as: Float.self, shape: [n, size])
        let projection = try f.array("projection", as: Float.self, shape: [n, size])
        XCTAssertEqual(backbone, images.map { Float($0) / 255 })
        for i in 0..<n {
            let row = projection[(i * size)..<((i + 1) * size)]
            let norm = row.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            if i == 2 { XCTAssertEqual(norm, 0) } else { XCTAssertEqual(norm, 1, accuracy: 1e-5) }
            let b = backbone[(i * size)..<((i + 1) * size)]
            let bNorm = b.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            if i != 2 { for (p, q) in zip(row, b) { XCTAssertEqual(Double(p), Double(q) / bNorm, accuracy: 1e-6) } }
        }
        XCTAssertEqual(try f.array("labels", as: Int64.self), (0..<n).map { Int64($0 % 3) })
        XCTAssertEqual(try f.array("index", as: Int64.self), (0..<n).map { Int64(1000 + $0) })
        XCTAssertEqual(f.metadata["stage"], "embed")
        XCTAssertEqual(f.metadata["classes"], "[\"a\",\"b\",\"c\"]")
        XCTAssertEqual(Provenance.decode(f.metadata["inputs"])["dataset"], try SHA256.hex(file: dataPath))
        XCTAssertEqual(Provenance.decode(f.metadata["parameters"])["encoder"], "raw")
    }
}

/// A stand-in for a trained network: per-image mean and maximum intensity (scaled by a "weight"),
/// to show how an encoder plugs into `EmbedStage.run`.
final class MeanMaxEncoder: FeatureEncoder {
    let imageSize: Int
    let weight: Float
    init(imageSize: Int, weight: Float) { self.imageSize = imageSize; self.weight = weight }
    var backboneDim: Int { 2 }
    var projectionDim: Int { 2 }
    var description: [String: String] { ["encoder": "meanmax", "weight": "\(weight)"] }
    func encode(images: UnsafePointer<UInt8>, count n: Int, backbone: UnsafeMutablePointer<Float>, projection: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            var sum: Float = 0, top: Float = 0
            for j in 0..<imageSize { let v = Float(images[i * imageSize + j]); sum += v; top = max(top, v) }
            let f = [weight * sum / Float(imageSize), weight * top]
            let norm = max((f[0] * f[0] + f[1] * f[1]).squareRoot(), 1e-12)
            for d in 0..<2 { backbone[i * 2 + d] = f[d]; projection[i * 2 + d] = f[d] / norm }
        }
    }
}

final class PluggedEncoderTests: XCTestCase {
    /// An encoder built elsewhere (as the checkpoint encoder will be) plugs into embed; the checkpoint's
    /// hash lands in the features' provenance, and probe accepts that checkpoint.
    func testPluggedEncoderRecordsCheckpoint() throws {
        let dir = try TestSupport.scratchDir("embed-plug")
        let dataPath = dir.appendingPathComponent("data.safetensors.zst").path
        _ = try EmbedTests.writeDataset(dataPath, n: 24, shape: [1, 3, 3], seed: 4)
        let ckpt = dir.appendingPathComponent("weights.ckpt").path
        try Data("weight 0.5".utf8).write(to: URL(fileURLWithPath: ckpt))
        let out = dir.appendingPathComponent("f.safetensors.zst").path
        var o = EmbedStage.Options(datasetPath: dataPath, outPath: out)
        o.checkpointPath = ckpt
        o.batch = 5
        let line = try EmbedStage.run(o) { data in MeanMaxEncoder(imageSize: data.shape[1...].reduce(1, *), weight: 0.5) }
        XCTAssertTrue(line.contains("encoder meanmax"), line)
        let f = try TensorFile.read(out)
        XCTAssertEqual(try f.info("backbone").shape, [24, 2])
        XCTAssertEqual(Provenance.decode(f.metadata["inputs"])["checkpoint"], try SHA256.hex(file: ckpt))
        XCTAssertEqual(Provenance.decode(f.metadata["parameters"])["encoder"], "meanmax")
        XCTAssertEqual(Provenance.decode(f.metadata["parameters"])["encoder_weight"], "0.5")
        let r = try TestSupport.runStage("probe", ["--train", out, "--test", out, "--checkpoint", ckpt, "--epochs", "2",
                                                   "--out", dir.appendingPathComponent("p.json").path])
        XCTAssertEqual(r.status, 0, r.stderr)
    }
}
