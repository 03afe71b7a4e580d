import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// Scale-out through make on PipelineMakeTests' slice: `make RANKS=2 EMBED_PARTS=2` end to end (every
/// compute stage through a LAUNCH wrapper), and `make -j2 experiments` = the serial run.
final class ScaleMakeTests: XCTestCase {
    func make(_ dir: URL, _ extra: [String]) throws -> TestSupport.Result {
        try TestSupport.run("/usr/bin/env", PipelineMakeTests.makeArguments(dir, extra))
    }

    func testRanksPartsAndLaunch() throws {
        guard DataParallelTests.launcher != nil else { throw XCTSkip("mpirun not installed (scripts/deps.sh installs openmpi-bin)") }
        let dir = try TestSupport.scratchDir("make-scale")
        // LAUNCH: a wrapper that records each command it starts, then runs it
        let launch = dir.appendingPathComponent("launch.sh").path, record = dir.appendingPathComponent("launched.txt").path
        try "#!/bin/sh\necho \"$1\" >> \(record)\nexec \"$@\"\n".write(toFile: launch, atomically: true, encoding: .utf8)
        chmod(launch, 0o755)
        let r = try make(dir, ["RANKS=2", "EMBED_PARTS=2", "LAUNCH=\(launch)"])
        XCTAssertEqual(r.status, 0, String(r.stderr.suffix(3000)))
        XCTAssertTrue(r.stdout.contains("mpirun -np 2"), "pretrain goes through mpirun")
        let run = dir.appendingPathComponent("runs/latest")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("report/index.html").path))
        let launched = Set(try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n").map { URL(fileURLWithPath: String($0)).lastPathComponent })
        // pretrain's launcher is MPIRUN (mpirun) at RANKS > 1, in LAUNCH's place
        for stage in ["ingest", "augment", "embed", "probe", "knn", "hardness", "report"] {
            XCTAssertTrue(launched.contains(stage), "LAUNCH prefixes \(stage): \(launched.sorted())")
        }
        // the merged features are those of one whole embed, bit for bit
        let ckpt = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("ckpt").path).sorted().last!
        let meta = try TensorFile.metadata(run.appendingPathComponent("ckpt/\(ckpt)").path)
        let parameters = try JSONSerialization.jsonObject(with: Data((meta["parameters"] ?? "{}").utf8)) as? [String: String]
        XCTAssertEqual(parameters?["ranks"], "2", "the checkpoint records the ranks it was trained with")
        let whole = dir.appendingPathComponent("whole.safetensors.zst").path
        let e = try TestSupport.runStage("embed", ["--encoder", "checkpoint", "--checkpoint", run.appendingPathComponent("ckpt/\(ckpt)").path,
                                                   "--dataset", dir.appendingPathComponent("data/test.safetensors.zst").path, "--out", whole])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertEqual(try tensorBytes(whole), try tensorBytes(run.appendingPathComponent("features/test.safetensors.zst").path))
        let parts = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("features").path).filter { $0.contains(".part-") }
        XCTAssertEqual(parts, [], "the parts are intermediate files")
        let runJSON = try String(contentsOf: run.appendingPathComponent("run.json"), encoding: .utf8)
        XCTAssertTrue(runJSON.contains("\"RANKS\": \"2\"") || runJSON.contains("\"RANKS\":\"2\""), "run.json records RANKS")
    }

    func testParallelExperimentsEqualTheSerialRun() throws {
        let dir = try TestSupport.scratchDir("make-experiments")
        let experiments = "EXPERIMENTS=moco-uniform simclr ir-ring"
        let serial = try TestSupport.run("/usr/bin/env", PipelineMakeTests.makeArguments(dir, [experiments, "EPOCHS=1", "experiments"], runs: "serial"))
        XCTAssertEqual(serial.status, 0, String(serial.stderr.suffix(3000)))
        // its own data and baselines, so the shared phase runs under -j too
        let parallel = try TestSupport.run("/usr/bin/env", PipelineMakeTests.makeArguments(dir, ["-j2", experiments, "EPOCHS=1", "DATA=\(dir.path)/data2",
                                                                                                    "BASE=\(dir.path)/base2", "experiments"], runs: "parallel"))
        XCTAssertEqual(parallel.status, 0, String(parallel.stderr.suffix(3000)))
        for exp in ["moco-uniform", "simclr", "ir-ring"] {
            let (a, b) = (dir.appendingPathComponent("serial/\(exp)"), dir.appendingPathComponent("parallel/\(exp)"))
            for result in ["probe", "probe-moco", "knn-backbone", "knn-projection"] {
                func read(_ u: URL) throws -> [String: String] {
                    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: u.appendingPathComponent("results/\(result).json"))) as! [String: Any]
                    // the checkpoint's hash covers its provenance, which names the run folder; the tensors are compared below
                    return (json["results"] as! [String: Any]).filter { !$0.key.hasPrefix("checkpoint_sha256") }.mapValues { "\($0)" }
                }
                XCTAssertEqual(try read(a), try read(b), "\(exp) \(result)")
            }
            XCTAssertEqual(try tensorBytes(a.appendingPathComponent("ckpt/epoch-001.safetensors.zst").path),
                           try tensorBytes(b.appendingPathComponent("ckpt/epoch-001.safetensors.zst").path), exp)
        }
    }

    func testEmbedPartsMergeToTheWholeAndRefuseWrongSets() throws {
        let dir = try TestSupport.scratchDir("embed-parts")
        func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("images", (0..<(10 * 16 * 16)).map { UInt8($0 % 251) }, shape: [10, 1, 16, 16])
        w.add("labels", (0..<10).map { Int64($0 % 3) }, shape: [10])
        w.add("index", (0..<10).map { Int64(100 + $0) }, shape: [10])
        try w.write(to: path("data.st.zst"))
        let encode = ["--encoder", "random", "--width", "2", "--batch", "3", "--dataset", path("data.st.zst")]
        XCTAssertEqual(try TestSupport.runStage("embed", encode + ["--out", path("whole.st.zst")]).status, 0)
        for k in 0..<3 {
            let r = try TestSupport.runStage("embed", encode + ["--part", "\(k)/3", "--out", path("p\(k).st.zst")])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        var r = try TestSupport.runStage("embed", ["merge", path("p2.st.zst"), path("p0.st.zst"), path("p1.st.zst"), "--out", path("merged.st.zst")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try tensorBytes(path("whole.st.zst")), try tensorBytes(path("merged.st.zst")), "parts of whole batches merge to the whole, bit for bit")
        let cases: [([String], String)] = [
            (["merge", path("p0.st.zst"), path("p1.st.zst")], "part 2/3 is missing"),
            (["merge", path("p0.st.zst"), path("p0.st.zst"), path("p1.st.zst")], "again"),
            (["merge", path("whole.st.zst")], "is not a part"),
            (["merge", path("p0.st.zst"), path("data.st.zst")], "not an embed output"),
            (["merge", path("p0.st.zst"), path("p1.st.zst"), path("p2.st.zst"), "--out", path("p1.st.zst")], "--out"),
            (encode + ["--part", "3/3"], "--part"),
        ]
        for (args, mentions) in cases {
            r = try TestSupport.runStage("embed", args.contains("--out") ? args : args + ["--out", path("refused.st.zst")])
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains(mentions), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("refused.st.zst")))
        }
        // a part claiming another dataset size (rows 6..<9 of 9, consistent in itself) beside parts of 10 rows
        let p2 = try TensorFile.read(path("p2.st.zst"))
        var parameters = Provenance.decode(p2.metadata["parameters"])
        parameters["rows"] = "6..<9 of 9"
        var metadata = p2.metadata
        metadata["parameters"] = Provenance.json(parameters)
        var short = TensorFileWriter(metadata: metadata)
        for name in ["backbone", "projection"] {
            let width = try p2.info(name).shape[1]
            short.add(name, Array(try p2.floats(name).prefix(3 * width)), shape: [3, width])
        }
        for name in ["labels", "index"] { short.add(name, Array(try p2.integers(name).prefix(3)), shape: [3]) }
        try short.write(to: path("short2.st.zst"))
        r = try TestSupport.runStage("embed", ["merge", path("p0.st.zst"), path("p1.st.zst"), path("short2.st.zst"), "--out", path("refused.st.zst")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("is a part of 9 rows, the others of 10"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("refused.st.zst")))

        // parts of another embedding (another width) do not merge
        XCTAssertEqual(try TestSupport.runStage("embed", ["--encoder", "random", "--width", "4", "--batch", "3", "--dataset", path("data.st.zst"),
                                                          "--part", "2/3", "--out", path("q2.st.zst")]).status, 0)
        r = try TestSupport.runStage("embed", ["merge", path("p0.st.zst"), path("p1.st.zst"), path("q2.st.zst"), "--out", path("refused.st.zst")])
        XCTAssertTrue(r.stderr.contains("not parts of one embedding"), r.stderr)
    }
}
