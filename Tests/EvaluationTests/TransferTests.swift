import Evaluation
import Foundation
import StageKit
import TestSupport
import XCTest

/// Transfer: features of another dataset (different N, width, class count and label balance), as an
/// encoder pretrained elsewhere would produce them, go through probe and kNN the same way.
final class TransferTests: XCTestCase {
    func testOtherDatasetThroughProbeAndKNN() throws {
        try Fixture.requirePython()
        let dir = try TestSupport.scratchDir("transfer")
        let ckpt = dir.appendingPathComponent("pretrained-on-A.ckpt").path
        try Data("encoder pretrained on dataset A".utf8).write(to: URL(fileURLWithPath: ckpt))
        var provenance = Provenance(stage: "embed")
        provenance.inputs["checkpoint"] = try SHA256.hex(file: ckpt)
        // dataset B: 3 classes in proportion 6 : 3 : 1
        func skewed(_ n: Int) -> [Int64] { (0..<n).map { let r = $0 % 10; return r < 6 ? 0 : (r < 9 ? 1 : 2) } }
        let trainB = Fixture.clusters(labels: skewed(333), dim: 40, noise: 1.2, seed: 21, centreSeed: 99)
        let testB = Fixture.clusters(labels: skewed(111), dim: 40, noise: 1.2, seed: 22, centreSeed: 99)
        let trainProj = Fixture.clusters(labels: skewed(333), dim: 16, noise: 1.2, seed: 23, centreSeed: 98)
        let testProj = Fixture.clusters(labels: skewed(111), dim: 16, noise: 1.2, seed: 24, centreSeed: 98)
        let trainPath = dir.appendingPathComponent("B-train.safetensors.zst").path
        let testPath = dir.appendingPathComponent("B-test.safetensors.zst").path
        try Fixture.writeFeatures(trainPath, trainB, projection: trainProj, metadata: provenance.metadata)
        try Fixture.writeFeatures(testPath, testB, projection: testProj, metadata: provenance.metadata)

        let probeOut = dir.appendingPathComponent("probe.json").path
        let p = try TestSupport.runStage("probe", ["--train", trainPath, "--test", testPath, "--checkpoint", ckpt,
                                                   "--protocol", "ring", "--epochs", "20", "--out", probeOut])
        XCTAssertEqual(p.status, 0, p.stderr)
        let probe = try Fixture.jsonFile(probeOut)["results"] as! [String: Any]
        XCTAssertEqual(probe["dim"] as? Int, 40)
        XCTAssertEqual(probe["classes"] as? Int, 3)
        XCTAssertEqual(probe["train_count"] as? Int, 333)
        XCTAssertGreaterThan(probe["top1"] as! Double, 80)
        XCTAssertEqual(probe["checkpoint_unchanged"] as? Bool, true)

        for feature in ["projection", "backbone"] {
            let knnOut = dir.appendingPathComponent("knn-\(feature).json").path
            let k = try TestSupport.runStage("knn", ["--train", trainPath, "--test", testPath, "--k", "20", "--feature", feature, "--out", knnOut])
            XCTAssertEqual(k.status, 0, k.stderr)
            let knn = try Fixture.jsonFile(knnOut)["results"] as! [String: Any]
            XCTAssertEqual(knn["dim"] as? Int, feature == "projection" ? 16 : 40)
            let ref = try Fixture.python("ref_eval_knn.py", [trainPath, testPath, "--k", "20", "--feature", feature])
            XCTAssertEqual(knn["top1"] as! Double, ref["top1"] as! Double, accuracy: 1e-9)
            XCTAssertEqual(knn["top5"] as! Double, ref["top5"] as! Double, accuracy: 1e-9)
        }
    }
}
