import Augment
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// The `augment` executable: file contract, provenance, determinism across thread counts, bad input.
final class StageTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.scratchDir("augment-stage") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func augment(_ args: [String]) throws -> TestSupport.Result { try TestSupport.runStage("augment", args) }

    func bytes(_ p: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: p)) }

    func testWritesTheViewsContractWithProvenance() throws {
        try Fixture.dataset(at: path("rgb.safetensors.zst"), n: 10, channels: 3, height: 32, width: 32)
        let r = try augment(["--dataset", path("rgb.safetensors.zst"), "--recipe", "mocov2", "--epoch", "3",
                             "--seed", "7", "--out", path("v.safetensors.zst"), "--size", "24", "--hue", "0.05"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let shapes = try ViewsFile.validate(path: path("v.safetensors.zst"))
        XCTAssertEqual(shapes.n, 10)
        XCTAssertEqual(shapes.view1Shape, [10, 3, 24, 24])
        XCTAssertEqual(shapes.view2Shape, [10, 3, 24, 24])
        let f = try TensorFile.read(path("v.safetensors.zst"))
        XCTAssertEqual(try f.array("index", as: Int64.self), (0..<10).map { Int64(100 + $0) })
        XCTAssertEqual(try f.array("labels", as: Int64.self), (0..<10).map { Int64($0 % 3) })
        XCTAssertNotEqual(try f.array("view1", as: UInt8.self), try f.array("view2", as: UInt8.self))
        XCTAssertEqual(f.metadata["stage"], "augment")
        XCTAssertEqual(f.metadata["seed"], "7")
        XCTAssertEqual(f.metadata["epoch"], "3")
        XCTAssertEqual(f.metadata["recipe"], "mocov2")
        XCTAssertEqual(f.metadata["classes"], "[\"a\",\"b\",\"c\"]")
        let params = Provenance.decode(f.metadata["parameters"])
        XCTAssertEqual(params["hue"], "0.05")
        XCTAssertEqual(params["brightness"], "0.4")
        XCTAssertEqual(params["crop_scale_min"], "0.2")
        XCTAssertEqual(params["blur_sigma_max"], "2.0")
        XCTAssertEqual(params["size"], "24")
        let inputs = Provenance.decode(f.metadata["inputs"])
        XCTAssertEqual(inputs["dataset"], try SHA256.hex(file: path("rgb.safetensors.zst")))
    }

    func testBytesAreIdenticalForAnyThreadCountAndChangeWithSeedAndEpoch() throws {
        try Fixture.dataset(at: path("data.safetensors.zst"), n: 24, channels: 3, height: 32, width: 32)
        func run(_ out: String, threads: Int, seed: Int = 1, epoch: Int = 0, recipe: String = "mocov2") throws -> Data {
            let r = try augment(["--dataset", path("data.safetensors.zst"), "--recipe", recipe, "--epoch", "\(epoch)",
                                 "--seed", "\(seed)", "--threads", "\(threads)", "--out", path(out)])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try TensorFile.read(path(out)).array("view1", as: UInt8.self).withUnsafeBytes { Data($0) }
        }
        let one = try run("a.safetensors.zst", threads: 1)
        let two = try run("b.safetensors.zst", threads: 2)
        XCTAssertEqual(one, two)
        XCTAssertEqual(try bytes(path("a.safetensors.zst")), try bytes(path("b.safetensors.zst")))
        XCTAssertNotEqual(try run("c.safetensors.zst", threads: 2, seed: 2), one)
        XCTAssertNotEqual(try run("d.safetensors.zst", threads: 2, epoch: 1), one)
        // The same for the Lab split.
        let cmc1 = try run("e.safetensors.zst", threads: 1, recipe: "cmc")
        XCTAssertEqual(try run("f.safetensors.zst", threads: 3, recipe: "cmc"), cmc1)
    }

    /// The documented streams: view v of row i is the pipeline's sample from RNG(seed, [epoch, i, v]).
    func testViewsComeFromTheDocumentedRandomStreams() throws {
        try Fixture.dataset(at: path("rgb.safetensors.zst"), n: 5, channels: 3, height: 32, width: 32)
        let r = try augment(["--dataset", path("rgb.safetensors.zst"), "--recipe", "simclr", "--epoch", "4", "--seed", "9",
                             "--size", "20", "--blur-p", "0.9", "--out", path("v.safetensors.zst")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let f = try TensorFile.read(path("v.safetensors.zst"))
        let (view1, view2) = (try f.array("view1", as: UInt8.self), try f.array("view2", as: UInt8.self))
        let images = try TensorFile.read(path("rgb.safetensors.zst")).array("images", as: UInt8.self)
        var params = Recipe.simclr.defaults
        params.blurP = 0.9
        let pipeline = Pipeline(params, channels: 3, height: 32, width: 32, size: 20)
        let plane = 3 * 20 * 20
        for i in 0..<5 {
            let image = Array(images[(i * 3072)..<((i + 1) * 3072)])
            for (v, views) in [(0, view1), (1, view2)] {
                var rng = RNG(seed: 9, stream: [4, UInt64(i), UInt64(v)])
                let expected = pipeline.renderU8(pipeline.sample(rng: &rng), image: image)
                XCTAssertEqual(Array(views[(i * plane)..<((i + 1) * plane)]), expected, "row \(i) view \(v)")
            }
        }
    }

    func testRecipesOnGrayAndRGB() throws {
        try Fixture.dataset(at: path("gray.safetensors.zst"), n: 6, channels: 1, height: 28, width: 28)
        try Fixture.dataset(at: path("rgb.safetensors.zst"), n: 6, channels: 3, height: 32, width: 32)
        let expect: [(String, String, [Int], [Int])] = [
            ("gray", "mocov2", [6, 1, 28, 28], [6, 1, 28, 28]), ("gray", "simclr", [6, 1, 28, 28], [6, 1, 28, 28]),
            ("gray", "none", [6, 1, 28, 28], [6, 1, 28, 28]), ("rgb", "cmc", [6, 1, 32, 32], [6, 2, 32, 32]),
            ("rgb", "simclr", [6, 3, 32, 32], [6, 3, 32, 32]),
        ]
        for (data, recipe, s1, s2) in expect {
            let out = path("\(data)-\(recipe).safetensors.zst")
            let r = try augment(["--dataset", path("\(data).safetensors.zst"), "--recipe", recipe, "--out", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            let v = try ViewsFile.validate(path: out)
            XCTAssertEqual(v.view1Shape, s1, recipe)
            XCTAssertEqual(v.view2Shape, s2, recipe)
            if data == "gray" && recipe == "mocov2" {
                let params = Provenance.decode(try TensorFile.read(out).metadata["parameters"])
                XCTAssertEqual(params["saturation"], "0.0")
                XCTAssertEqual(params["hue"], "0.0")
                XCTAssertEqual(params["gray_p"], "0.0")
            }
        }
        // none is the identity at the input size.
        let f = try TensorFile.read(path("gray-none.safetensors.zst"))
        let images = try TensorFile.read(path("gray.safetensors.zst")).array("images", as: UInt8.self)
        XCTAssertEqual(try f.array("view1", as: UInt8.self), images)
        XCTAssertEqual(try f.array("view2", as: UInt8.self), images)
    }

    func testBadInputGivesOneLineErrorAndNoOutput() throws {
        try Fixture.dataset(at: path("gray.safetensors.zst"), n: 4, channels: 1, height: 28, width: 28)
        var wrong = TensorFileWriter()
        wrong.add("images", [Float](repeating: 0, count: 2 * 4 * 4), shape: [2, 1, 4, 4])
        wrong.add("labels", [Int64](repeating: 0, count: 2), shape: [2])
        wrong.add("index", [Int64](repeating: 0, count: 2), shape: [2])
        try wrong.write(to: path("float.safetensors.zst"))
        let out = path("out.safetensors.zst")
        // status 1: a bad input file; 64: a bad flag value
        let bad: [([String], String, Int32)] = [
            (["--dataset", path("missing.safetensors.zst")], "missing.safetensors.zst", 1),
            (["--dataset", path("float.safetensors.zst")], "dtype", 1),
            (["--dataset", path("gray.safetensors.zst"), "--recipe", "cmc"], "RGB", 1),
            (["--dataset", path("gray.safetensors.zst"), "--flip-p", "1.5"], "flip-p", 64),
            (["--dataset", path("gray.safetensors.zst"), "--crop-scale-min", "0.9", "--crop-scale-max", "0.5"], "crop", 64),
            (["--dataset", path("gray.safetensors.zst"), "--size", "0"], "size", 64),
        ]
        for (args, mention, status) in bad {
            let r = try augment(args + ["--out", out])
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(mention), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
            XCTAssertEqual(TestSupport.listing(dir).filter { $0.contains("out") }, [])
        }
        // Values the argument parser rejects: its usage error as one line, exit status 64.
        for args in [["--recipe", "bogus"], ["--flip-p", "abc"], ["--epoch", "-1"]] {
            let r = try augment(["--dataset", path("gray.safetensors.zst"), "--out", out] + args)
            XCTAssertEqual(r.status, 64, "\(args)")
            XCTAssertTrue(r.stderr.hasPrefix("augment: error: The value") && r.stderr.split(separator: "\n").count == 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    func testValidatorRejectsBrokenViewFiles() throws {
        func write(_ name: String, _ build: (inout TensorFileWriter) -> Void) throws -> String {
            var w = TensorFileWriter()
            build(&w)
            try w.write(to: path(name))
            return path(name)
        }
        let u8 = [UInt8](repeating: 0, count: 2 * 1 * 4 * 4), ids = [Int64](repeating: 0, count: 2)
        let cases: [(String, (inout TensorFileWriter) -> Void, String)] = [
            ("noview2", { $0.add("view1", u8, shape: [2, 1, 4, 4]); $0.add("index", ids, shape: [2]); $0.add("labels", ids, shape: [2]) }, "view2"),
            ("count", { $0.add("view1", u8, shape: [2, 1, 4, 4]); $0.add("view2", u8, shape: [1, 2, 4, 4]); $0.add("index", ids, shape: [2]); $0.add("labels", ids, shape: [2]) }, "view2 has 1"),
            ("dtype", { $0.add("view1", u8, shape: [2, 1, 4, 4]); $0.add("view2", [Float](repeating: 0, count: 32), shape: [2, 1, 4, 4]); $0.add("index", ids, shape: [2]); $0.add("labels", ids, shape: [2]) }, "dtype"),
            ("index", { $0.add("view1", u8, shape: [2, 1, 4, 4]); $0.add("view2", u8, shape: [2, 1, 4, 4]); $0.add("index", [Int64](repeating: 0, count: 3), shape: [3]); $0.add("labels", ids, shape: [2]) }, "index"),
            ("size", { $0.add("view1", u8, shape: [2, 1, 4, 4]); $0.add("view2", u8, shape: [2, 1, 2, 8]); $0.add("index", ids, shape: [2]); $0.add("labels", ids, shape: [2]) }, "same size"),
        ]
        for (name, build, mention) in cases {
            let p = try write("\(name).safetensors.zst", build)
            XCTAssertThrowsError(try ViewsFile.validate(path: p), name) { e in
                XCTAssertTrue("\(e)".contains(mention), "\(name): \(e)")
                XCTAssertTrue("\(e)".contains(p), "\(name): \(e)")
            }
        }
    }
}
