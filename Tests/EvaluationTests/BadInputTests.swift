import Evaluation
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// Bad inputs: one line on stderr naming the problem, a non-zero exit (1 for everything past argument
/// parsing), and no output file.
final class BadInputTests: XCTestCase {
    var dir: URL!
    var good: String!

    override func setUpWithError() throws {
        dir = try TestSupport.scratchDir("eval-bad")
        good = dir.appendingPathComponent("good.safetensors.zst").path
        try Fixture.writeFeatures(good, Fixture.clusters(labels: Fixture.cyclicLabels(30, classes: 3), dim: 8, noise: 1, seed: 1))
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func expectFailure(_ stage: String, _ args: [String], status: Int32 = 1, mentions: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let out = path("out-\(UUID().uuidString)")
        let r = try TestSupport.runStage(stage, args + ["--out", out])
        if status == 1 {
            XCTAssertEqual(r.status, 1, "\(stage) \(args): \(r.stderr)", file: file, line: line)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "one line expected: \(r.stderr)", file: file, line: line)
        } else {
            XCTAssertNotEqual(r.status, 0, file: file, line: line)
        }
        XCTAssertTrue(r.stderr.contains(mentions), "expected '\(mentions)' in: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output on failure", file: file, line: line)
        XCTAssertFalse(TestSupport.listing(dir).contains { $0.contains(".tmp-") }, "no temporary left", file: file, line: line)
    }

    func testMissingFiles() throws {
        let missing = path("missing.safetensors.zst")
        try expectFailure("knn", ["--train", missing, "--test", good], mentions: "missing.safetensors.zst: no such file")
        try expectFailure("probe", ["--train", good, "--test", missing], mentions: "missing.safetensors.zst: no such file")
        try expectFailure("probe", ["--train", good, "--test", good, "--checkpoint", path("nock.ckpt")], mentions: "nock.ckpt: no such file")
        try expectFailure("embed", ["--dataset", missing], mentions: "missing.safetensors.zst: no such file")
    }

    func testMismatchedDimensions() throws {
        let other = path("nine.safetensors.zst")
        try Fixture.writeFeatures(other, Fixture.clusters(labels: Fixture.cyclicLabels(30, classes: 3), dim: 9, noise: 1, seed: 2))
        try expectFailure("knn", ["--train", good, "--test", other], mentions: "has 9 dimensions but the train features")
        try expectFailure("probe", ["--train", good, "--test", other], mentions: "nine.safetensors.zst")
    }

    func testWrongDtypesAndShapes() throws {
        let f64 = path("f64.safetensors.zst")
        var w = TensorFileWriter()
        w.add("backbone", [Double](repeating: 0.5, count: 12), shape: [3, 4])
        w.add("projection", [Double](repeating: 0.5, count: 12), shape: [3, 4])
        w.add("labels", [Int64](arrayLiteral: 0, 1, 2), shape: [3])
        try w.write(to: f64)
        try expectFailure("knn", ["--train", f64, "--test", good], mentions: "dtype F64, expected F32")
        try expectFailure("probe", ["--train", good, "--test", f64], mentions: "dtype F64, expected F32")

        let noLabels = path("nolabels.safetensors.zst")
        var v = TensorFileWriter()
        v.add("projection", [Float](repeating: 0.5, count: 12), shape: [3, 4])
        try v.write(to: noLabels)
        try expectFailure("knn", ["--train", noLabels, "--test", good], mentions: "has no tensor 'labels'")

        let unlabeled = path("unlabeled.safetensors.zst")
        try Fixture.writeFeatures(unlabeled, LabeledFeatures(values: [1, 0, 0, 1], labels: [0, -1], count: 2, dim: 2))
        try expectFailure("knn", ["--train", unlabeled, "--test", unlabeled], mentions: "has label -1")

        let floatImages = path("floatimages.safetensors.zst")
        var d = TensorFileWriter()
        d.add("images", [Float](repeating: 0, count: 8), shape: [2, 1, 2, 2])
        d.add("labels", [Int64](arrayLiteral: 0, 1), shape: [2])
        d.add("index", [Int64](arrayLiteral: 0, 1), shape: [2])
        try d.write(to: floatImages)
        try expectFailure("embed", ["--dataset", floatImages], mentions: "dtype F32, expected U8")

        let notZstd = path("plain.safetensors.zst")
        try Data("not a tensor file at all".utf8).write(to: URL(fileURLWithPath: notZstd))
        try expectFailure("knn", ["--train", notZstd, "--test", good], mentions: "not a zstd frame")
    }

    func testBadFlags() throws {
        try expectFailure("knn", ["--train", good, "--test", good, "--k", "0"], status: 64, mentions: "--k must be at least 1")
        try expectFailure("knn", ["--train", good, "--test", good, "--tau=-1"], status: 64, mentions: "--tau must be a positive")
        try expectFailure("probe", ["--train", good, "--test", good, "--epochs", "0"], status: 64, mentions: "--epochs must be at least 1")
        try expectFailure("probe", ["--train", good, "--test", good, "--lr", "0"], status: 64, mentions: "--lr must be positive")
        try expectFailure("embed", ["--dataset", good, "--batch", "0"], status: 64, mentions: "--batch must be at least 1")
        try expectFailure("probe", ["--train", good, "--test", good, "--protocol", "bogus"], status: 64, mentions: "bogus")
        try expectFailure("knn", ["--train", good, "--test", good, "--feature", "logits"], status: 64, mentions: "logits")
        try expectFailure("embed", ["--dataset", good, "--encoder", "resnet99"], status: 64, mentions: "resnet99")
        try expectFailure("embed", ["--dataset", good], mentions: "has no tensor 'images'")
    }
}
