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
