import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// `mpirun -np 2 pretrain` against one process on a small slice: the same checkpoint and per-step losses
/// within 1e-5 (relative) after 2 epochs, when each rank's BN groups are the one-process run's groups
/// (--bn-splits 4 at one process = 2 per rank). The default recipe (MoCo + Ring) runs on the fast
/// convolutions over 4 steps; the other objectives over 2 steps on the reference convolutions, whose
/// rounding does not depend on how the batch is split — at this size (width 8, 32 images) SimCLR's,
/// IR's and MoCHi's gradients are so ill-conditioned that the fast paths' per-image rounding alone moves
/// them by up to 2 % (as a change of --threads does; EncoderFastPathTests shows the fast paths
/// themselves agree with the reference to rounding), which would hide what this test checks.
final class DataParallelTests: XCTestCase {
    static let launcher: String? = {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/mpirun") { return dir + "/mpirun" }
        return nil
    }()

    func mpirun(_ ranks: Int, _ args: [String]) throws -> TestSupport.Result {
        var flags = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--mca", "btl_vader_single_copy_mechanism", "none"]
        if getuid() == 0 { flags.append("--allow-run-as-root") }
        return try TestSupport.run(Self.launcher!, flags + [TestSupport.binDir.appendingPathComponent("pretrain").path] + args)
    }

    /// `n` labelled images (grey, or RGB for CMC's Lab views) whose class decides a bright quadrant.
    func makeDataset(_ dir: URL, n: Int, channels: Int) throws -> String {
        var rng = RNG(seed: 7)
        var images = [UInt8](), labels = [Int64]()
        for i in 0..<n {
            let label = i % 4
            for c in 0..<channels {
                for y in 0..<16 {
                    for x in 0..<16 {
                        let bright = (y / 8) * 2 + x / 8 == label
                        images.append(UInt8(clamping: (bright ? 150 : 40) + 30 * c + rng.below(60)))
                    }
                }
            }
            labels.append(Int64(label))
        }
        let path = dir.appendingPathComponent("data-\(channels).safetensors.zst").path
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("images", images, shape: [n, channels, 16, 16])
        w.add("labels", labels, shape: [n])
        w.add("index", (0..<n).map { Int64($0) }, shape: [n])
        try w.write(to: path)
        return path
    }

    func makeViews(_ dir: URL, dataset: String, recipe: String) throws -> [String] {
        try (1...2).map { e in
            let out = dir.appendingPathComponent("\(recipe)-\(e).safetensors.zst").path
            let r = try TestSupport.runStage("augment", ["--dataset", dataset, "--recipe", recipe, "--epoch", "\(e)", "--seed", "3", "--out", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            return out
        }
    }

    /// max |a − b| / max |a| over the float tensors of two checkpoints (the same names and shapes).
    func worstDifference(_ a: String, _ b: String) throws -> (Double, String) {
        let (fa, fb) = (try TensorFile.read(a), try TensorFile.read(b))
        XCTAssertEqual(fa.names, fb.names)
        var worst = (0.0, "")
        for t in fa.tensors where t.dtype == .f32 {
            let (x, y) = (try fa.floats(t.name), try fb.floats(t.name))
            XCTAssertEqual(x.count, y.count, t.name)
            let scale = x.map { abs(Double($0)) }.max() ?? 0
            guard scale > 0 else { continue }
            let d = zip(x, y).map { abs(Double($0) - Double($1)) }.max() ?? 0
            if d / scale > worst.0 { worst = (d / scale, t.name) }
        }
        for t in fa.tensors where t.dtype == .i64 { XCTAssertEqual(try fa.integers(t.name), try fb.integers(t.name), t.name) }
        return worst
    }

    func losses(_ csv: String) throws -> [Double] {
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        let column = lines[0].split(separator: ",").firstIndex(of: "loss")!
        return lines.dropFirst().map { Double($0.split(separator: ",", omittingEmptySubsequences: false)[column])! }
    }

    func testTwoRanksTrainAsOneProcess() throws {
        guard Self.launcher != nil else { throw XCTSkip("mpirun not installed (scripts/deps.sh installs openmpi-bin)") }
        let dir = try TestSupport.scratchDir("mpi")
        // 64 images (2 steps an epoch) for the fast default; 32 (one step) for the reference runs
        let grey64 = try makeDataset(dir, n: 64, channels: 1), grey = try makeDataset(dir, n: 32, channels: 1)
        let rgb = try makeDataset(dir, n: 32, channels: 3)
        let moco64 = try makeViews(dir, dataset: grey64, recipe: "mocov2"), moco = try makeViews(dir, dataset: grey, recipe: "mocov2")
        let lab = try makeViews(dir, dataset: rgb, recipe: "cmc")
        let common = ["--width", "8", "--batch", "32", "--bn-splits", "4", "--queue", "64", "--negatives", "16", "--epochs", "2",
                      "--seed", "5", "--lr", "0.05", "--threads", "1", "--log-every", "1"]
        let cases: [(String, [String], [String])] = [
            ("moco-ring", moco64, ["--objective", "moco", "--sampler", "ring"]),
            ("moco-mochi", moco, ["--objective", "moco", "--sampler", "mochi", "--mochi-n", "16", "--reference-convolutions"]),
            ("simclr-uniform", moco, ["--objective", "simclr", "--sampler", "uniform", "--reference-convolutions"]),
            ("ir-uniform", moco, ["--objective", "ir", "--sampler", "uniform", "--reference-convolutions"]),
            ("cmc-band", lab, ["--objective", "cmc", "--sampler", "band", "--reference-convolutions"]),
        ]
        for (name, views, flags) in cases {
            var outputs: [String] = []
            for ranks in [1, 2] {
                let out = dir.appendingPathComponent("\(name)-np\(ranks).safetensors.zst").path
                let log = dir.appendingPathComponent("\(name)-np\(ranks).csv").path
                let args = ["--views", views[0], "--views", views[1], "--log", log, "--out", out] + flags + common
                let r = ranks == 1 ? try TestSupport.runStage("pretrain", args) : try mpirun(ranks, args)
                XCTAssertEqual(r.status, 0, "\(name) at \(ranks) ranks: \(r.stderr.suffix(1500))")
                outputs.append(out)
            }
            // The fast convolutions' Winograd F(4×4) (28×28 and ≤ 8 wide) rounds to ≈ 1e-5 of a value per layer (G holds
            // 1/24, the transforms scale by up to 8), and summing the weight gradients per rank reorders those roundings:
            // over four steps they reach 2e-5 of a tensor's largest entry. The reference convolutions sum in Double.
            let tolerance = flags.contains("--reference-convolutions") ? 1e-5 : 1e-4
            let (worst, tensor) = try worstDifference(outputs[0], outputs[1])
            XCTAssertLessThan(worst, tolerance, "\(name): \(tensor) differs by \(worst) of its largest entry between 1 and 2 ranks")
            let (one, two) = (try losses(outputs[0].replacingOccurrences(of: ".safetensors.zst", with: ".csv")),
                              try losses(outputs[1].replacingOccurrences(of: ".safetensors.zst", with: ".csv")))
            XCTAssertEqual(one.count, two.count, name)
            XCTAssertGreaterThanOrEqual(one.count, 2, "\(name): a loss per step")
            for (s, (a, b)) in zip(one, two).enumerated() {
                XCTAssertLessThanOrEqual(abs(a - b), 1e-5 * abs(a), "\(name) step \(s + 1): loss \(a) at 1 rank, \(b) at 2")
            }
            let meta = try TensorFile.metadata(outputs[1])
            let parameters = try JSONSerialization.jsonObject(with: Data((meta["parameters"] ?? "{}").utf8)) as? [String: String]
            XCTAssertEqual(parameters?["ranks"], "2", "\(name): provenance records the ranks")
        }
    }

    func testResumeAtAnotherRankCountAndRefusedSplits() throws {
        guard Self.launcher != nil else { throw XCTSkip("mpirun not installed (scripts/deps.sh installs openmpi-bin)") }
        let dir = try TestSupport.scratchDir("mpi-resume")
        let views = try makeViews(dir, dataset: try makeDataset(dir, n: 32, channels: 1), recipe: "mocov2")
        let common = ["--width", "8", "--batch", "32", "--bn-splits", "4", "--queue", "64", "--epochs", "2", "--seed", "5",
                      "--threads", "1", "--sampler", "ring", "--reference-convolutions"]
        func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
        // two epochs in one process, against epoch 1 at 2 ranks resumed for epoch 2 at 1
        XCTAssertEqual(try TestSupport.runStage("pretrain", ["--views", views[0], "--views", views[1], "--out", path("whole.st.zst")] + common).status, 0)
        var r = try mpirun(2, ["--views", views[0], "--out", path("e1.st.zst")] + common)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try TestSupport.runStage("pretrain", ["--views", views[1], "--resume", path("e1.st.zst"), "--out", path("e2.st.zst")] + common).status, 0)
        let (worst, tensor) = try worstDifference(path("whole.st.zst"), path("e2.st.zst"))
        XCTAssertLessThan(worst, 1e-5, "resumed at another rank count: \(tensor) differs by \(worst)")

        // one of several tasks a launcher started without MPI: refused, not N whole runs into one file
        r = try TestSupport.runStage("pretrain", ["--views", views[0], "--out", path("refused.st.zst")] + common, env: ["SLURM_STEP_NUM_TASKS": "4"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("srun --mpi=pmix"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("refused.st.zst")))

        // a batch or BN groups that the ranks cannot share: a usage error naming the flag, no checkpoint
        for (flags, mentions) in [(["--batch", "15", "--bn-splits", "1"], "--batch 15"), (["--bn-splits", "2", "--objective", "simclr"], "--bn-splits 2")] {
            r = try mpirun(2, ["--views", views[0], "--out", path("refused.st.zst")] + common + flags)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(mentions), "\(flags): \(r.stderr.suffix(800))")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("refused.st.zst")))
        }
    }
}
