import Augment
import StageKit
import Foundation
import TensorFiles
import TestSupport
import XCTest

/// examples/augment_numpy.py, the swappable alternative stage: same arguments, same file contract.
final class NumpyStageTests: XCTestCase {
    func runExample(_ args: [String]) throws -> TestSupport.Result {
        let script = TestSupport.repoRoot.appendingPathComponent("examples/augment_numpy.py").path
        return try TestSupport.run("/usr/bin/env", ["python3", script] + args, cwd: TestSupport.repoRoot)
    }

    func testExampleStageWritesFilesThatPassTheValidator() throws {
        guard TestSupport.pythonHas(["numpy", "safetensors", "zstandard"]) else { throw XCTSkip("numpy/safetensors/zstandard missing") }
        let dir = try TestSupport.scratchDir("augment-numpy")
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
        try Fixture.dataset(at: path("gray.safetensors.zst"), n: 12, channels: 1, height: 28, width: 28)
        try Fixture.dataset(at: path("rgb.safetensors.zst"), n: 6, channels: 3, height: 32, width: 32)

        for (data, recipe, size, channels) in [("gray", "mocov2", 28, 1), ("rgb", "mocov2", 24, 3), ("gray", "none", 28, 1)] {
            let out = path("\(data)-\(recipe).safetensors.zst")
            let r = try runExample(["--dataset", path("\(data).safetensors.zst"), "--recipe", recipe, "--epoch", "2",
                                    "--seed", "5", "--out", out, "--size", "\(size)", "--threads", "2", "--brightness", "0.3"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let v = try ViewsFile.validate(path: out)
            let n = data == "gray" ? 12 : 6
            XCTAssertEqual(v.n, n)
            XCTAssertEqual(v.view1Shape, [n, channels, size, size])
            XCTAssertEqual(v.view2Shape, [n, channels, size, size])
            let f = try TensorFile.read(out)
            XCTAssertEqual(f.checksum, .verified)
            XCTAssertEqual(try f.array("index", as: Int64.self), (0..<n).map { Int64(100 + $0) })
            XCTAssertEqual(f.metadata["recipe"], recipe)
            XCTAssertEqual(f.metadata["epoch"], "2")
            XCTAssertEqual(Provenance.decode(f.metadata["parameters"])["brightness"], "0.3")
            if recipe == "none" {
                let images = try TensorFile.read(path("gray.safetensors.zst")).array("images", as: UInt8.self)
                XCTAssertEqual(try f.array("view1", as: UInt8.self), images)
            } else {
                XCTAssertNotEqual(try f.array("view1", as: UInt8.self), try f.array("view2", as: UInt8.self))
            }
        }
        // Reproducible: the same arguments give the same bytes.
        let again = path("again.safetensors.zst")
        XCTAssertEqual(try runExample(["--dataset", path("gray.safetensors.zst"), "--recipe", "mocov2", "--epoch", "2", "--seed", "5",
                                       "--out", again, "--size", "28", "--brightness", "0.3"]).status, 0)
        XCTAssertEqual(try TensorFile.read(again).array("view1", as: UInt8.self),
                       try TensorFile.read(path("gray-mocov2.safetensors.zst")).array("view1", as: UInt8.self))
        // Bad input: one line, exit 1, no output.
        for args in [["--dataset", path("missing.safetensors.zst")], ["--dataset", path("gray.safetensors.zst"), "--flip-p", "2"],
                     ["--dataset", path("gray.safetensors.zst"), "--recipe", "cmc"]] {
            let r = try runExample(args + ["--out", path("bad.safetensors.zst")])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.safetensors.zst")))
        }
    }
}
