import Evaluation
import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

final class ProbeTests: XCTestCase {
    /// The probe's SGD matches a float64 NumPy implementation on a small convex problem, for a
    /// seeded mini-batch order (short last batch, momentum, weight decay, step schedule) and for
    /// full-batch gradient descent.
    func testMatchesNumPyOnConvexProblem() throws {
        try Fixture.requirePython()
        let dir = try TestSupport.scratchDir("probe-ref")
        let data = Fixture.clusters(labels: (0..<200).map { Int64(($0 * 7) % 3) }, dim: 5, noise: 1.5, seed: 11)
        let featuresPath = dir.appendingPathComponent("features.safetensors.zst").path
        try Fixture.writeFeatures(featuresPath, data)

        for (batch, seeded) in [(64, true), (200, false)] {
            var h = ProbeHyperparameters(lr: 0.5, momentum: 0.9, weightDecay: 1e-3, epochs: 30, batch: batch, milestones: [0.5, 0.8])
            h.initialization = .zeros
            let orders: [[Int32]] = (0..<h.epochs).map { e in
                seeded ? LinearProbe.epochOrder(seed: 5, epoch: e, count: data.count) : (0..<Int32(data.count)).map { $0 }
            }
            let ordersPath = dir.appendingPathComponent("orders-\(batch).safetensors.zst").path
            var w = TensorFileWriter()
            w.add("order", orders.flatMap { $0.map(Int64.init) }, shape: [h.epochs, data.count])
            try w.write(to: ordersPath)

            let model = LinearProbe.train(data, classes: 3, hyper: h, seed: 5, order: { orders[$0] })
            let ref = try Fixture.python("ref_eval_probe.py", [featuresPath, ordersPath, "--lr", "0.5", "--momentum", "0.9", "--wd", "1e-3",
                                                               "--epochs", "30", "--batch", "\(batch)", "--milestones", "0.5,0.8"])
            let refW = ref["weights"] as! [Double], refB = ref["bias"] as! [Double]
            let scale = max(1, refW.map(abs).max()!)
            XCTAssertEqual(model.weights.count, refW.count)
            for (a, b) in zip(model.weights, refW) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * scale, "batch \(batch)") }
            for (a, b) in zip(model.bias, refB) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * scale, "batch \(batch)") }
            XCTAssertEqual(model.finalLoss, ref["final_loss"] as! Double, accuracy: 1e-4)
            XCTAssertGreaterThan(model.accuracy(on: data).top1, 60)
        }
    }

    func testScheduleAndOrder() {
        let h = ProbeProtocol.moco.hyperparameters
        XCTAssertEqual(h.milestoneEpochs, [60, 80])
        XCTAssertEqual(h.learningRate(epoch: 59), 30)
        XCTAssertEqual(h.learningRate(epoch: 60), 3, accuracy: 1e-12)
        XCTAssertEqual(h.learningRate(epoch: 80), 0.3, accuracy: 1e-12)
        XCTAssertEqual(ProbeProtocol.ring.hyperparameters.learningRate(epoch: 99), 0.01)
        let a = LinearProbe.epochOrder(seed: 1, epoch: 0, count: 50)
        XCTAssertEqual(a.sorted(), (0..<50).map(Int32.init))
        XCTAssertEqual(a, LinearProbe.epochOrder(seed: 1, epoch: 0, count: 50))
        XCTAssertNotEqual(a, LinearProbe.epochOrder(seed: 1, epoch: 1, count: 50))
        XCTAssertNotEqual(a, LinearProbe.epochOrder(seed: 2, epoch: 0, count: 50))
    }

    /// The stage: records protocol, input hashes and the checkpoint's hash before/after; identical
    /// bytes on a rerun; --standardize and the ring protocol resolve as documented.
    func testStageRecordsProtocolAndCheckpointHash() throws {
        let dir = try TestSupport.scratchDir("probe-stage")
        let train = Fixture.clusters(labels: Fixture.cyclicLabels(600, classes: 4), dim: 16, noise: 0.8, seed: 1)
        let test = Fixture.clusters(labels: Fixture.cyclicLabels(200, classes: 4), dim: 16, noise: 0.8, seed: 2)
        let trainPath = dir.appendingPathComponent("train.safetensors.zst").path
        let testPath = dir.appendingPathComponent("test.safetensors.zst").path
        try Fixture.writeFeatures(trainPath, train)
        try Fixture.writeFeatures(testPath, test)
        let ckpt = dir.appendingPathComponent("encoder.ckpt").path
        try Data("pretend weights".utf8).write(to: URL(fileURLWithPath: ckpt))

        let out1 = dir.appendingPathComponent("p1.json").path, out2 = dir.appendingPathComponent("p2.json").path
        let args = ["--train", trainPath, "--test", testPath, "--checkpoint", ckpt, "--protocol", "moco", "--epochs", "10", "--seed", "3"]
        let r1 = try TestSupport.runStage("probe", args + ["--out", out1])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertTrue(r1.stdout.hasPrefix("probe: top1"), r1.stdout)
        XCTAssertEqual(try TestSupport.runStage("probe", args + ["--out", out2]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out1)), try Data(contentsOf: URL(fileURLWithPath: out2)))

        let json = try Fixture.jsonFile(out1)
        let results = json["results"] as! [String: Any], parameters = json["parameters"] as! [String: String]
        let hash = try SHA256.hex(file: ckpt)
        XCTAssertEqual(results["checkpoint_sha256_before"] as? String, hash)
        XCTAssertEqual(results["checkpoint_sha256_after"] as? String, hash)
        XCTAssertEqual(results["checkpoint_unchanged"] as? Bool, true)
        XCTAssertEqual((json["inputs"] as! [String: String])["train"], try SHA256.hex(file: trainPath))
        XCTAssertEqual(parameters["protocol"], "moco")
        XCTAssertEqual(parameters["lr"], "30.0")
        XCTAssertEqual(parameters["epochs"], "10")
        XCTAssertEqual(parameters["milestone_epochs"], "6,8")
        XCTAssertEqual(parameters["feature"], "backbone")
        XCTAssertGreaterThan(results["top1"] as! Double, 90)

        let out3 = dir.appendingPathComponent("p3.json").path
        let r3 = try TestSupport.runStage("probe", ["--train", trainPath, "--test", testPath, "--protocol", "ring", "--standardize",
                                                    "--epochs", "5", "--out", out3])
        XCTAssertEqual(r3.status, 0, r3.stderr)
        let p3 = try Fixture.jsonFile(out3)["parameters"] as! [String: String]
        XCTAssertEqual(p3["protocol"], "ring")
        XCTAssertEqual(p3["lr"], "0.01")
        XCTAssertEqual(p3["weight_decay"], "1e-05")
        XCTAssertEqual(p3["milestone_epochs"], "")
        XCTAssertEqual(p3["standardize"], "true")
    }

    /// The tuned probe (the default protocol) against scripts/ref_eval_probe_tuned.py (Newton's method
    /// in float64): same held-out accuracies per λ, same choice, weights at the same optimum; the stage
    /// records the grid and the choice and gives identical bytes on a rerun.
    func testTunedProbeMatchesNumPyNewton() throws {
        try Fixture.requirePython()
        let dir = try TestSupport.scratchDir("probe-tuned")
        // Overlapping clusters, so the penalty matters and the grid's choices differ on the hold-out.
        let train = Fixture.clusters(labels: (0..<300).map { Int64(($0 * 7) % 3) }, dim: 6, noise: 2.5, seed: 21)
        let test = Fixture.clusters(labels: (0..<150).map { Int64(($0 * 5) % 3) }, dim: 6, noise: 2.5, seed: 22)
        let trainPath = dir.appendingPathComponent("train.safetensors.zst").path
        let testPath = dir.appendingPathComponent("test.safetensors.zst").path
        try Fixture.writeFeatures(trainPath, train)
        try Fixture.writeFeatures(testPath, test)
        var settings = TunedProbeSettings()
        settings.grid = [1e-3, 3e-2, 1, 3]
        settings.tolerance = 1e-6
        settings.maxIterations = 500
        let held = TunedProbe.holdout(count: train.count, fraction: settings.holdoutFraction, seed: 4)
        XCTAssertEqual(held.count, 30)
        XCTAssertEqual(Set(held).count, 30)
        XCTAssertEqual(held, TunedProbe.holdout(count: train.count, fraction: 0.1, seed: 4))
        XCTAssertNotEqual(held, TunedProbe.holdout(count: train.count, fraction: 0.1, seed: 5))
        let holdoutPath = dir.appendingPathComponent("holdout.safetensors.zst").path
        var w = TensorFileWriter()
        w.add("holdout", held.map(Int64.init), shape: [held.count])
        try w.write(to: holdoutPath)

        var standardised = train, standardisedTest = test
        let standardizer = Standardizer(fitting: train)
        standardizer.apply(&standardised, threads: 2)
        standardizer.apply(&standardisedTest, threads: 2)
        let r = TunedProbe.run(standardised, classes: 3, settings: settings, seed: 4, threads: 2)
        let ref = try Fixture.python("ref_eval_probe_tuned.py", [trainPath, testPath, holdoutPath, "--grid", "0.001,0.03,1,3"])
        let refScores = ref["holdout_top1"] as! [Double]
        for (a, b) in zip(r.holdoutTop1, refScores) { XCTAssertEqual(a, b, accuracy: 1e-3) }   // percent, rounded to 4 places
        XCTAssertGreaterThan(Set(refScores).count, 1, "the grid should matter on this problem")
        XCTAssertEqual(r.chosenL2, ref["l2"] as! Double)
        XCTAssertTrue(r.converged)
        let refW = ref["weights"] as! [Double], refB = ref["bias"] as! [Double]
        let scale = max(1, refW.map(abs).max()!)
        for (a, b) in zip(r.classifier.weights, refW) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * scale) }
        for (a, b) in zip(r.classifier.bias, refB) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * scale) }
        XCTAssertEqual(r.classifier.accuracy(on: standardisedTest).top1, ref["test_top1"] as! Double, accuracy: 1e-3)

        // The stage: tuned is the default; grid, choice and hold-out recorded; reruns are byte-identical.
        let out1 = dir.appendingPathComponent("t1.json").path, out2 = dir.appendingPathComponent("t2.json").path
        let args = ["--train", trainPath, "--test", testPath, "--l2-grid", "0.001,0.03,1,3", "--seed", "4"]
        let r1 = try TestSupport.runStage("probe", args + ["--out", out1])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertEqual(try TestSupport.runStage("probe", args + ["--out", out2]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out1)), try Data(contentsOf: URL(fileURLWithPath: out2)))
        let json = try Fixture.jsonFile(out1)
        let results = json["results"] as! [String: Any], parameters = json["parameters"] as! [String: String]
        XCTAssertEqual(parameters["protocol"], "tuned")
        XCTAssertEqual(parameters["l2_grid"], "0.001,0.03,1.0,3.0")
        XCTAssertEqual(parameters["standardize"], "true")
        XCTAssertEqual(results["l2"] as? Double, ref["l2"] as? Double)
        XCTAssertEqual(results["top1"] as! Double, ref["test_top1"] as! Double, accuracy: 1e-3)
        let bad = try TestSupport.runStage("probe", ["--train", trainPath, "--test", testPath, "--l2-grid", "0,-1", "--out", out1 + "x"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--l2-grid"), bad.stderr)
    }

    /// Features that record the checkpoint they came from are refused with a different checkpoint.
    func testRefusesFeaturesFromAnotherCheckpoint() throws {
        let dir = try TestSupport.scratchDir("probe-ckpt")
        let ckpt = dir.appendingPathComponent("a.ckpt").path
        try Data("encoder A".utf8).write(to: URL(fileURLWithPath: ckpt))
        var provenance = Provenance(stage: "embed")
        provenance.inputs["checkpoint"] = SHA256.hex(Data("encoder B".utf8))
        let data = Fixture.clusters(labels: Fixture.cyclicLabels(40, classes: 2), dim: 3, noise: 1, seed: 1)
        let path = dir.appendingPathComponent("f.safetensors.zst").path
        try Fixture.writeFeatures(path, data, metadata: provenance.metadata)
        let out = dir.appendingPathComponent("p.json").path
        let r = try TestSupport.runStage("probe", ["--train", path, "--test", path, "--checkpoint", ckpt, "--epochs", "1", "--out", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("features were made from checkpoint"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
