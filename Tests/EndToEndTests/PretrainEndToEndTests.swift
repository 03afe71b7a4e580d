import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// The pretrain stage through its binary: exact resume (also after kills, including one in the middle
/// of writing a checkpoint), divergence handling, refused pairings and settings, and learning.
final class PretrainEndToEndTests: XCTestCase {
    static let n = 128

    /// A small labelled dataset of 16×16 grey images whose class decides a bright quadrant.
    func makeDataset(_ dir: URL) throws -> String {
        var rng = RNG(seed: 7)
        var images = [UInt8](), labels = [Int64]()
        for i in 0..<Self.n {
            let label = i % 4
            for y in 0..<16 {
                for x in 0..<16 {
                    let quadrant = (y / 8) * 2 + x / 8
                    let base = quadrant == label ? 180 : 40
                    images.append(UInt8(clamping: base + rng.below(60)))
                }
            }
            labels.append(Int64(label))
        }
        let path = dir.appendingPathComponent("data.safetensors.zst").path
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("images", images, shape: [Self.n, 1, 16, 16])
        w.add("labels", labels, shape: [Self.n])
        w.add("index", (0..<Self.n).map { Int64($0) }, shape: [Self.n])
        try w.write(to: path)
        return path
    }

    func makeViews(_ dir: URL, dataset: String, epochs: Int) throws -> [String] {
        try (1...epochs).map { e in
            let out = dir.appendingPathComponent("views-\(e).safetensors.zst").path
            let r = try TestSupport.runStage("augment", ["--dataset", dataset, "--recipe", "mocov2", "--epoch", "\(e)", "--seed", "3", "--out", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            return out
        }
    }

    let common = ["--width", "2", "--batch", "32", "--bn-splits", "2", "--queue", "64", "--epochs", "3", "--threads", "2", "--seed", "5",
                  "--lr", "0.05"]

    func pretrain(_ args: [String], env: [String: String] = [:]) throws -> TestSupport.Result {
        try TestSupport.runStage("pretrain", args + common, env: env)
    }

    func tensors(_ path: String) throws -> [String: [UInt8]] { try tensorBytes(path) }

    func testResumeIsExactAfterKills() throws {
        let dir = try TestSupport.scratchDir("pretrain")
        let data = try makeDataset(dir)
        let views = try makeViews(dir, dataset: data, epochs: 3)
        // Uninterrupted: all three epochs in one process.
        let whole = dir.appendingPathComponent("whole.safetensors.zst").path
        var r = try pretrain(["--views", views[0], "--views", views[1], "--views", views[2], "--out", whole])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Chained: one process per epoch, the second one killed in the middle of writing its checkpoint.
        let c1 = dir.appendingPathComponent("c1.safetensors.zst").path
        let c2 = dir.appendingPathComponent("c2.safetensors.zst").path
        let c3 = dir.appendingPathComponent("c3.safetensors.zst").path
        r = try pretrain(["--views", views[0], "--out", c1])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try pretrain(["--views", views[1], "--resume", c1, "--out", c2], env: ["NS_FAULT_KILL_AFTER_TENSORS": "20"])
        XCTAssertNotEqual(r.status, 0, "the injected kill should stop the run")
        XCTAssertFalse(FileManager.default.fileExists(atPath: c2), "a killed write must leave no checkpoint")
        XCTAssertTrue(TestSupport.listing(dir).contains { $0.hasPrefix(".c2.safetensors.zst.tmp-") }, "the kill should hit mid-write")
        r = try pretrain(["--views", views[1], "--resume", c1, "--out", c2])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(TestSupport.listing(dir).contains { $0.contains(".tmp-") }, "stale temporaries are swept")
        // A SIGKILL at an arbitrary moment of the last epoch, then the rerun.
        let p = Process()
        p.executableURL = TestSupport.binDir.appendingPathComponent("pretrain")
        p.arguments = ["--views", views[2], "--resume", c2, "--out", c3] + common
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(300_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        r = try pretrain(["--views", views[2], "--resume", c2, "--out", c3])
        XCTAssertEqual(r.status, 0, r.stderr)

        let a = try tensors(whole), b = try tensors(c3)
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (name, bytes) in a { XCTAssertEqual(bytes, b[name], "tensor \(name) differs after resume") }
        let ma = try TensorFile.read(whole).metadata, mb = try TensorFile.read(c3).metadata
        XCTAssertEqual(ma["log_csv"], mb["log_csv"])
        XCTAssertEqual(mb["epochs_done"], "3")
        // Three log rows, the loss recorded each epoch.
        let rows = mb["log_csv"]!.split(separator: "\n")
        XCTAssertEqual(rows.count, 4)
    }

    func testLogFollowsTheAnnealedRing() throws {
        let dir = try TestSupport.scratchDir("pretrain")
        let data = try makeDataset(dir)
        let views = try makeViews(dir, dataset: data, epochs: 3)
        let out = dir.appendingPathComponent("c.safetensors.zst").path
        let log = dir.appendingPathComponent("log.csv").path
        let r = try pretrain(["--views", views[0], "--views", views[1], "--views", views[2], "--out", out, "--log", log,
                              "--knn-train", data, "--knn-test", data, "--knn-k", "20", "--sampler", "ring",
                              "--anneal-epochs", "2", "--ring-outer", "0.1", "--ring-inner", "0.1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        func column(_ name: String) -> [Double] { lines.dropFirst().map { Double($0[header.firstIndex(of: name)!])! } }
        let loss = column("loss"), negatives = column("negatives"), outer = column("ring_outer"), knn = column("knn_top1")
        XCTAssertEqual(loss.count, 3)
        XCTAssertTrue(loss.allSatisfy(\.isFinite))
        // The ring narrows from the whole queue to ranks [0, 6) of K = 64 (outer 0.1 → ⌊6.4⌋ = 6, inner ⌊0.6⌋ = 0),
        // reached after two epochs (8 steps) and then held; the log shows the value of each epoch's last step.
        XCTAssertGreaterThan(negatives[0], negatives[1])
        XCTAssertEqual(negatives[2], 6)
        XCTAssertEqual(outer[0], 1 - 0.9 * 3.0 / 8, accuracy: 1e-6)
        XCTAssertEqual(outer[1], 1 - 0.9 * 7.0 / 8, accuracy: 1e-6)
        XCTAssertEqual(outer[2], 0.1, accuracy: 1e-9)
        XCTAssertTrue(knn.allSatisfy { $0 >= 0 && $0 <= 100 })
        for name in ["sim_p50", "sim_p90", "sim_p99", "sim_p999", "sel_sim_mean", "same_class_frac", "lr", "top1"] {
            XCTAssertEqual(column(name).count, 3, name)
        }
        let p = column("sim_p50")[2], p999 = column("sim_p999")[2]
        XCTAssertLessThanOrEqual(p, p999)
    }

    /// Every objective trains end to end through the stage (CMC on Lab views of RGB images).
    func testEveryObjectiveRuns() throws {
        let dir = try TestSupport.scratchDir("pretrain")
        let gray = try makeDataset(dir)
        // An RGB copy for CMC: the grey image in all three channels, tinted by class.
        let f = try TensorFile.read(gray)
        let pixels = try f.array("images", as: UInt8.self), labels = try f.integers("labels")
        var rgb = [UInt8]()
        for i in 0..<Self.n {
            for c in 0..<3 {
                for j in 0..<256 { rgb.append(UInt8(clamping: Int(pixels[i * 256 + j]) + (Int(labels[i]) == c ? 40 : 0))) }
            }
        }
        let rgbPath = dir.appendingPathComponent("rgb.safetensors.zst").path
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("images", rgb, shape: [Self.n, 3, 16, 16])
        w.add("labels", labels, shape: [Self.n])
        w.add("index", (0..<Self.n).map { Int64($0) }, shape: [Self.n])
        try w.write(to: rgbPath)
        let grayViews = try makeViews(dir, dataset: gray, epochs: 1)[0]
        let labViews = dir.appendingPathComponent("lab-views.safetensors.zst").path
        let a = try TestSupport.runStage("augment", ["--dataset", rgbPath, "--recipe", "cmc", "--epoch", "1", "--out", labViews])
        XCTAssertEqual(a.status, 0, a.stderr)
        for (objective, sampler, views) in [("ir", "ring", grayViews), ("simclr", "band", grayViews), ("cmc", "uniform", labViews),
                                            ("moco", "hcl", grayViews), ("moco", "mochi", grayViews), ("ir", "dcl", grayViews)] {
            let out = dir.appendingPathComponent("\(objective)-\(sampler).safetensors.zst").path
            let r = try pretrain(["--views", views, "--out", out, "--objective", objective, "--sampler", sampler,
                                  "--negatives", "32", "--mochi-n", "32", "--band-lo", "0", "--band-hi", "50"])
            XCTAssertEqual(r.status, 0, "\(objective)+\(sampler): \(r.stderr)")
            let m = try TensorFile.read(out)
            XCTAssertEqual(m.metadata["epochs_done"], "1")
            let loss = Double(TrainLogRow(m.metadata["log_csv"] ?? "")["loss"] ?? "") ?? .nan
            XCTAssertTrue(loss.isFinite && loss > 0, "\(objective)+\(sampler) loss \(loss)")
            switch objective {
            case "ir": XCTAssertEqual(try m.info("bank").shape, [Self.n, 128])
            case "cmc": XCTAssertEqual(try m.info("l_bank").shape, [Self.n, 128]); XCTAssertTrue(m.has("encoder_ab.conv1.weight"))
            case "moco": XCTAssertTrue(m.has("encoder_k.conv1.weight")); XCTAssertEqual(try m.info("queue").shape, [64, 128])
            default: XCTAssertTrue(m.has("encoder.conv1.weight"))
            }
        }
    }

    /// The swappable augmentation stage: the NumPy example's views train like the built-in ones.
    func testPythonAugmentStageFeedsPretrain() throws {
        let dir = try TestSupport.scratchDir("pretrain")
        let data = try makeDataset(dir)
        let views = dir.appendingPathComponent("py-views-1.safetensors.zst").path
        let script = TestSupport.repoRoot.appendingPathComponent("examples/augment_numpy.py").path
        let a = try TestSupport.run(script, ["--dataset", data, "--recipe", "mocov2", "--epoch", "1", "--seed", "3", "--out", views])
        XCTAssertEqual(a.status, 0, a.stderr)
        let out = dir.appendingPathComponent("c.safetensors.zst").path
        let r = try pretrain(["--views", views, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try TensorFile.read(out).metadata["epochs_done"], "1")
    }

    func testBadRunsAreRefusedWithoutOutput() throws {
        let dir = try TestSupport.scratchDir("pretrain")
        let data = try makeDataset(dir)
        let views = try makeViews(dir, dataset: data, epochs: 2)
        let out = dir.appendingPathComponent("c.safetensors.zst").path
        func expectFailure(_ args: [String], _ message: String) throws {
            let r = try TestSupport.runStage("pretrain", args)
            XCTAssertEqual(r.status, ArgumentsErrorStatus.contains(r.status) ? r.status : 1, r.stderr)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(message), "expected '\(message)' in: \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        try expectFailure(["--views", views[0], "--out", out, "--sampler", "mochi", "--objective", "simclr"] + common, "mochi works only with objective moco")
        try expectFailure(["--views", views[0], "--out", out, "--lr", "1e30"] + common.filter { $0 != "--lr" && $0 != "0.05" }, "diverged")
        try expectFailure(["--views", dir.appendingPathComponent("missing.safetensors.zst").path, "--out", out] + common, "missing.safetensors.zst: no such file")
        try expectFailure(["--views", data, "--out", out] + common, "not a views file")
        // A checkpoint trained with one width cannot be continued with another.
        let c1 = dir.appendingPathComponent("c1.safetensors.zst").path
        XCTAssertEqual(try pretrain(["--views", views[0], "--out", c1]).status, 0)
        let changed = common.map { $0 == "2" ? "4" : $0 }   // --width 2 → 4 (and --bn-splits 2 → 4, still valid)
        let r = try TestSupport.runStage("pretrain", ["--views", views[1], "--resume", c1, "--out", out] + changed)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("c1.safetensors.zst: was trained with"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // Views made for another epoch are refused.
        let r2 = try TestSupport.runStage("pretrain", ["--views", views[0], "--resume", c1, "--out", out] + common)
        XCTAssertTrue(r2.stderr.contains("made for epoch 1 but this run continues with epoch 2"), r2.stderr)
    }
}

/// The last row of a log CSV as a column → value map.
func TrainLogRow(_ csv: String) -> [String: String] {
    let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    guard let header = lines.first, let last = lines.last, lines.count > 1 else { return [:] }
    return Dictionary(uniqueKeysWithValues: zip(header, last).map { ($0, $1) })
}

/// ArgumentParser exits 64 for usage errors; stages exit 1 for everything else.
let ArgumentsErrorStatus: Set<Int32> = [64]
