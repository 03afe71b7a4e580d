import Foundation
import TestSupport
import XCTest

/// The Makefile as users drive it, on a tiny slice of Fashion-MNIST with the test build's binaries
/// (`PREBUILT`): the whole pipeline runs and prints its table; a second `make` has nothing to do; a
/// changed parameter reruns only what depends on it; a `kill -9` of the running `make` resumes to the
/// same outputs; the augmentation stage swaps for the NumPy one; `make results` compares the runs; a
/// MoCo experiment reaches its hardness analysis.
final class PipelineMakeTests: XCTestCase {
    static let fashion = "/usr/share/datasets/fashion-mnist"

    static func variables(_ dir: URL, runs: String = "runs") -> [String] {
        ["PREBUILT=\(TestSupport.binDir.path)", "FASHION=\(Self.fashion)", "DATA=\(dir.path)/data", "RUNS=\(dir.path)/\(runs)",
         "BASE=\(dir.path)/base", "INGEST_LIMIT=640", "PRETRAIN_IMAGES=512", "EPOCHS=2", "BATCH=64", "QUEUE=128", "WIDTH=4", "THREADS=2",
         "KNN_MONITOR_LIMIT=256", "CNCE_REPETITIONS=4", "CNCE_EXTRA=--batch 16 --pool 128 --rhos 0.5"]
    }

    /// `make -C <repo>` with the slice's variables, as arguments to /usr/bin/env.
    static func makeArguments(_ dir: URL, _ extra: [String] = [], runs: String = "runs") -> [String] {
        ["make", "-C", TestSupport.repoRoot.path, "--no-print-directory"] + Self.variables(dir, runs: runs) + extra
    }

    func make(_ dir: URL, _ extra: [String] = [], runs: String = "runs") throws -> TestSupport.Result {
        try TestSupport.run("/usr/bin/env", Self.makeArguments(dir, extra, runs: runs))
    }

    /// The stage binaries a `make` started, in order (make echoes every recipe line it runs).
    func stagesRun(_ r: TestSupport.Result) -> [String] {
        let bin = TestSupport.binDir.path + "/"
        return r.stdout.split(separator: "\n").compactMap { line in
            let command = line.drop { $0.isWhitespace }
            guard command.hasPrefix(bin) else { return nil }
            return String(command.dropFirst(bin.count).prefix { !$0.isWhitespace })
        }
    }

    /// Runs make and returns the stages it started, failing the test if make fails.
    func stagesOfMake(_ dir: URL, _ extra: [String] = []) throws -> [String] {
        let r = try make(dir, extra)
        XCTAssertEqual(r.status, 0, String(r.stderr.suffix(2000)))
        return stagesRun(r)
    }

    /// A process and all its descendants (from /proc), so that a kill takes make and the stage it runs.
    static func processTree(_ root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.range(of: ")", options: .backwards) else { continue }
            let fields = stat[close.upperBound...].split(separator: " ")      // state, ppid, …
            if fields.count > 1, let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
        }
        var out: [pid_t] = [], queue = [root]
        while let pid = queue.popLast() { out.append(pid); queue += children[pid] ?? [] }
        return out
    }

    func testPipelineRunsOnceResumesAndSwapsAugment() throws {
        guard FileManager.default.fileExists(atPath: Self.fashion + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        }
        let dir = try TestSupport.scratchDir("pipeline-make")

        // 1. the whole pipeline, ending with the results table and the report's path; the run's folder is
        // named after the experiment and a hash of its training settings, and runs/default links to it
        let first = try make(dir)
        XCTAssertEqual(first.status, 0, String(first.stderr.suffix(2000)))
        let link = dir.path + "/runs/default"
        let folder = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        XCTAssertTrue(folder.range(of: #"^default-[0-9a-f]{8}$"#, options: .regularExpression) != nil, folder)
        let run = dir.path + "/runs/" + folder
        let provenance = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as! [String: Any]
        XCTAssertEqual((provenance["make_variables"] as? [String: String])?["LR"], "0.12", "\(provenance)")
        XCTAssertNotNil((provenance["machine"] as? [String: Any])?["blas_core"] as? String, "\(provenance)")
        XCTAssertTrue(first.stdout.contains("## Results"), first.stdout)
        XCTAssertTrue(first.stdout.contains("| raw pixels |"), first.stdout)
        XCTAssertTrue(first.stdout.hasSuffix("report: \(run)/report/index.html\n"), String(first.stdout.suffix(300)))
        let checkpoint = run + "/ckpt/epoch-002.safetensors.zst"
        let finalWeights = try tensorBytes(checkpoint)
        let probe = try Data(contentsOf: URL(fileURLWithPath: run + "/results/probe.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/views/epoch-001.safetensors.zst"), "views are deleted once their epoch is trained")
        XCTAssertEqual(TestSupport.listing(URL(fileURLWithPath: run + "/ckpt")), ["epoch-002.safetensors.zst"],
                       "the last checkpoint and every 10th are kept (KEEP_CHECKPOINTS)")

        XCTAssertEqual(stagesRun(first).filter { $0 == "pretrain" }.count, 2, first.stdout)
        // progress: make's stage lines, the hardness headline, the below-baseline note, the total time; runs/latest
        for line in ["make: [1/8] ingest", "make: [2/8] augment epoch 1 of 2", "make: [3/8] pretrain epoch 2 of 2", "make: [4/8] embed train",
                     "make: [7/8] hardness", "make: [8/8] report", "hardness: 640 queries × 640 candidates; same class: hardest 1 % ",
                     "make: note: \(folder) is below the raw pixels baseline (kNN backbone top-1 ", "make: done in "] {
            XCTAssertTrue(first.stdout.contains(line), "missing '\(line)' in: \(first.stdout.suffix(3000))")
        }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir.path + "/runs/latest"), folder)
        XCTAssertEqual(try String(contentsOfFile: run + "/epoch-times", encoding: .utf8).split(separator: "\n").map { $0.prefix(4) }, ["001 ", "002 "])

        // 2. nothing left to do; a changed pretraining parameter trains a new run in its own folder (the first
        // stays as it was), but reruns neither ingest nor the baselines; a changed kNN parameter reruns the six
        // kNN results (backbone and projection of the run and the two baselines) and the report only
        XCTAssertEqual(try stagesOfMake(dir), [])
        let afterLR = try stagesOfMake(dir, ["LR=0.05"])
        XCTAssertNotEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), folder, "a new folder for the new setting")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/results/probe.json")), probe, "the first run is untouched")
        XCTAssertFalse(afterLR.contains("ingest"), "\(afterLR)")
        XCTAssertEqual(afterLR.filter { $0 == "pretrain" }.count, 2, "\(afterLR)")
        XCTAssertEqual(afterLR.filter { $0 == "embed" }.count, 2, "only the run's own features: \(afterLR)")
        XCTAssertEqual(afterLR.filter { $0 == "probe" || $0 == "knn" }.count, 4, "tuned + MoCo probe, kNN on both features; not the baselines: \(afterLR)")
        XCTAssertEqual(afterLR.last, "report", "\(afterLR)")
        XCTAssertEqual(try stagesOfMake(dir, ["LR=0.05", "KNN_K=50"]).sorted(), ["knn", "knn", "knn", "knn", "knn", "knn", "report"])
        XCTAssertEqual(try stagesOfMake(dir, ["LR=0.05", "KNN_K=50", "CNCE_REPETITIONS=5"]), ["hardness", "report"], "the CNCE study and the report")

        // 3. kill -9 the running make (and its stage) once the first epoch's checkpoint exists; make resumes
        try FileManager.default.removeItem(atPath: run)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = Self.makeArguments(dir)
        var env = ProcessInfo.processInfo.environment
        env["NS_QUIET"] = "1"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: run + "/ckpt/epoch-001.safetensors.zst"), p.isRunning, Date() < deadline {
            usleep(5_000)
        }
        XCTAssertTrue(p.isRunning, "make finished before it could be interrupted")
        let tree = Self.processTree(p.processIdentifier)
        for pid in tree { kill(pid, SIGKILL) }
        p.waitUntilExit()
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/report/index.html"))
        let resumed = try make(dir)
        XCTAssertEqual(resumed.status, 0, String(resumed.stderr.suffix(2000)))
        XCTAssertEqual(stagesRun(resumed).filter { $0 == "pretrain" }.count, 1, "resumes from epoch 1's checkpoint: \(resumed.stdout)")
        XCTAssertEqual(try tensorBytes(checkpoint), finalWeights, "the resumed run's checkpoint differs from the uninterrupted one")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/results/probe.json")), probe)

        // 4. the NumPy augmentation stage in place of ours, through make
        if TestSupport.pythonHas(["numpy", "safetensors", "zstandard"]) {
            let swapped = try make(dir, ["AUGMENT=python3 examples/augment_numpy.py", "pretrain"], runs: "runs-numpy")
            XCTAssertEqual(swapped.status, 0, String(swapped.stderr.suffix(2000)))
            let ckpt = dir.path + "/runs-numpy/default/ckpt/epoch-002.safetensors.zst"
            XCTAssertNotEqual(try tensorBytes(ckpt)["encoder.conv1.weight"], finalWeights["encoder.conv1.weight"], "other views, other weights")
            let args = try String(contentsOfFile: dir.path + "/runs-numpy/default/params/augment.args", encoding: .utf8)
            XCTAssertTrue(args.hasPrefix("python3 examples/augment_numpy.py "), args)
        }

        // 5. a second seed lands in its own folder; make results compares every finished run
        let seeded = try make(dir, ["SEED=1", "KEEP_CHECKPOINTS=1"])
        XCTAssertEqual(seeded.status, 0, String(seeded.stderr.suffix(2000)))
        XCTAssertTrue(seeded.stdout.hasSuffix("report: \(run)-seed1/report/index.html\n"), String(seeded.stdout.suffix(300)))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link + "-seed1"), folder + "-seed1")
        XCTAssertEqual(TestSupport.listing(URL(fileURLWithPath: run + "-seed1/ckpt")), ["epoch-001.safetensors.zst", "epoch-002.safetensors.zst"],
                       "KEEP_CHECKPOINTS=1 keeps every epoch's")
        XCTAssertEqual(try stagesOfMake(dir), [], "the seed-0 run is still up to date")
        let results = try make(dir, ["results"])
        XCTAssertEqual(results.status, 0, String(results.stderr.suffix(2000)))
        let md = try String(contentsOfFile: dir.path + "/runs/report/summary.md", encoding: .utf8)
        XCTAssertTrue(md.contains("| \(folder) | simclr | uniform | 2 | "), md)
        XCTAssertTrue(md.contains("| \(folder)-seed1 | simclr |"), md)
        XCTAssertTrue(md.contains("| \(folder) | 0, 1 | "), md)
        XCTAssertFalse(md.contains("| default | "), "the latest-run link is not a second run: \(md)")

        // 6. the default (SimCLR) keeps no queue: its hardness analysis used the training projections; a MoCo
        // experiment analyses its final queue
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/hardness/summary.json"))
        let moco = try make(dir, ["EXP=moco-ring", "hardness"])
        XCTAssertEqual(moco.status, 0, String(moco.stderr.suffix(2000)))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/runs/moco-ring/hardness/summary.json"))
    }
}
