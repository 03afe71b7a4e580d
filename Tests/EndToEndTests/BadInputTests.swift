import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// Bad inputs across every stage, table-driven: each case runs one binary and asserts a non-zero exit
/// (64 for usage errors), exactly one line on stderr naming the flag or file at fault, nothing on
/// stdout, no output left behind (nor a temporary file), and every input unchanged.
final class StageBadInputTests: XCTestCase {
    struct Case {
        var stage: String
        var args: [String]
        var status: Int32                // 64: usage; 1: a bad input file
        var mentions: String             // the flag or file the one line must name (and say why)
        var output: String? = nil        // what must not appear
        var env: [String: String] = [:]  // environment for the run (e.g. a lowered limit)
    }

    /// Small valid inputs every case starts from, made once.
    struct Fixtures {
        let dir: URL
        let dataset, views, checkpoint, features, knnResult, runFolder: String
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    }

    static let fixtures: Fixtures = {
        let dir = try! TestSupport.scratchDir("ns-bad-inputs")
        func p(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let dataset = p("data.safetensors.zst")
        try! StageBadInputTests.writeDataset(dataset, count: 64)
        let views = p("views.safetensors.zst"), checkpoint = p("ckpt.safetensors.zst"), features = p("features.safetensors.zst")
        func stage(_ name: String, _ args: [String]) {
            let r = try! TestSupport.runStage(name, args)
            precondition(r.status == 0, "fixture \(name) failed: \(r.stderr)")
        }
        stage("augment", ["--dataset", dataset, "--recipe", "mocov2", "--epoch", "1", "--out", views])
        stage("pretrain", ["--views", views, "--out", checkpoint, "--epochs", "2", "--width", "2", "--batch", "32", "--bn-splits", "2",
                           "--queue", "64", "--sampler", "uniform", "--threads", "2"])
        stage("embed", ["--encoder", "checkpoint", "--checkpoint", checkpoint, "--dataset", dataset, "--out", features])
        let run = p("run")
        try! FileManager.default.createDirectory(atPath: run + "/results", withIntermediateDirectories: true)
        stage("knn", ["--train", features, "--test", features, "--k", "5", "--out", run + "/results/knn.json"])
        return Fixtures(dir: dir, dataset: dataset, views: views, checkpoint: checkpoint, features: features,
                        knnResult: run + "/results/knn.json", runFolder: run)
    }()

    /// A labelled dataset of 16×16 grey images (the ingest contract), `labels` overridable.
    static func writeDataset(_ path: String, count n: Int, channels: Int = 1, labels: [Int64]? = nil) throws {
        var rng = RNG(seed: 3)
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("images", (0..<(n * channels * 256)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, shape: [n, channels, 16, 16])
        w.add("labels", labels ?? (0..<n).map { Int64($0 % 4) }, shape: [n])
        w.add("index", (0..<n).map { Int64($0) }, shape: [n])
        try w.write(to: path)
    }

    /// A copy of a tensor file with some tensors replaced.
    static func rewrite(_ source: String, to path: String, replacing: [String: (TensorFileWriter) -> TensorFileWriter]) throws {
        let f = try TensorFile.read(source)
        var w = TensorFileWriter(metadata: f.metadata)
        for t in f.tensors where replacing[t.name] == nil {
            switch t.dtype {
            case .u8: w.add(t.name, try f.array(t.name, as: UInt8.self), shape: t.shape)
            case .i32: w.add(t.name, try f.array(t.name, as: Int32.self), shape: t.shape)
            case .i64: w.add(t.name, try f.array(t.name, as: Int64.self), shape: t.shape)
            case .f32: w.add(t.name, try f.array(t.name, as: Float.self), shape: t.shape)
            case .f64: w.add(t.name, try f.array(t.name, as: Double.self), shape: t.shape)
            case .f16, .bf16: XCTFail("no half-precision tensors in the fixtures")
            }
        }
        for (_, add) in replacing.sorted(by: { $0.key < $1.key }) { w = add(w) }
        try w.write(to: path)
    }

    /// Runs every case in a fresh output folder and checks the contract.
    func check(_ cases: [Case], file: StaticString = #filePath, line: UInt = #line) throws {
        let fx = Self.fixtures
        let inputs = [fx.dataset, fx.views, fx.checkpoint, fx.features, fx.knnResult]
        let before = try inputs.map { try SHA256.hex(file: $0) }
        for c in cases {
            let label = "\(c.stage) \(c.args.joined(separator: " "))"
            let r = try TestSupport.runStage(c.stage, c.args, env: c.env)
            XCTAssertEqual(r.status, c.status, "\(label): \(r.stderr)", file: file, line: line)
            XCTAssertEqual(r.stdout, "", "\(label): nothing on stdout", file: file, line: line)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(label): one line on stderr, got: \(r.stderr)", file: file, line: line)
            XCTAssertTrue(r.stderr.contains(c.mentions), "\(label): expected '\(c.mentions)' in: \(r.stderr)", file: file, line: line)
            XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"), "\(label): crashed", file: file, line: line)
            if let out = c.output { XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(label): left \(out)", file: file, line: line) }
        }
        XCTAssertEqual(try inputs.map { try SHA256.hex(file: $0) }, before, "an input changed", file: file, line: line)
        let leftovers = TestSupport.listing(fx.dir).filter { $0.hasPrefix(".") && $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "temporary files left behind", file: file, line: line)
    }

    // MARK: usage: negative, zero and huge values of numeric flags exit 64 naming the flag

    func testOutOfRangeFlagsAreUsageErrors() throws {
        let fx = Self.fixtures, out = fx.path("out-usage.safetensors.zst"), json = fx.path("out-usage.json")
        let stages: [(String, [String], String, [(String, [String])])] = [
            ("augment", ["--dataset", fx.dataset, "--recipe", "mocov2"], out,
             [("--size", ["-1", "0", "5000"]), ("--epoch", ["-1"]), ("--threads", ["-2", "0"]), ("--hue", ["-0.1", "0.9"]),
              ("--crop-scale-min", ["-0.5", "0"]), ("--blur-sigma-min", ["-1"]), ("--flip-p", ["-0.1", "1.5"]), ("--jitter-p", ["2"]),
              ("--brightness", ["-1"]), ("--seed", ["-1"])]),
            ("embed", ["--encoder", "random", "--dataset", fx.dataset], out,
             [("--width", ["-1", "0", "100000"]), ("--batch", ["-5", "0"]), ("--threads", ["-1"]), ("--seed", ["-1"])]),
            ("knn", ["--train", fx.features, "--test", fx.features], json,
             [("--k", ["-5", "0"]), ("--tau", ["-0.1", "0"]), ("--chunk", ["-1"]), ("--threads", ["-1", "0"]), ("--seed", ["-1"])]),
            ("probe", ["--train", fx.features, "--test", fx.features, "--protocol", "moco"], json,
             [("--lr", ["-1", "0"]), ("--epochs", ["-3", "0"]), ("--batch", ["-1", "0"]), ("--momentum", ["-0.5", "1.5"]), ("--wd", ["-1"]),
              ("--max-iterations", ["-1", "0"]), ("--l2-grid", ["-1", "0", "x"]), ("--threads", ["-4"]), ("--seed", ["-1"])]),
            ("pretrain", ["--views", fx.views, "--epochs", "1"], out,
             [("--batch", ["-1", "1"]), ("--width", ["-3", "0", "100000"]), ("--lr", ["-0.1", "0"]), ("--tau", ["-1", "0"]),
              ("--epochs", ["-1", "0"]), ("--key-momentum", ["-0.1", "2"]), ("--negatives", ["-1", "0"]),
              ("--ring-outer", ["-0.5", "0", "1.5"]), ("--ring-inner", ["-0.1", "1"]), ("--anneal-epochs", ["-2", "0"]),
              ("--band-lo", ["-5"]), ("--band-hi", ["150"]), ("--tau-plus", ["-0.1", "1"]), ("--hcl-beta", ["-1"]),
              ("--mochi-n", ["-1", "1"]), ("--mochi-s", ["-1"]), ("--mochi-start", ["-1"]), ("--bn-splits", ["-1", "0", "3"]),
              ("--seed", ["-1"]), ("--threads", ["0"]), ("--warmup-epochs", ["-1", "5"]), ("--step-milestones", ["1.5", "x"]),
              ("--momentum", ["-0.1", "1"]), ("--wd", ["-1"])]),
            ("hardness", ["analyse", "--queries", fx.features, "--candidates", fx.features], out,
             [("--chunk", ["-1", "0"]), ("--histogram-bins", ["-1", "1", "100000"]), ("--consistency-percent", ["-1", "0", "60"]),
              ("--threads", ["-1"])]),
            ("hardness", ["cnce-study"], fx.path("cnce-out"),
             [("--repetitions", ["-1", "0", "1"]), ("--batch", ["-1", "0"]), ("--negatives", ["-2", "0"]), ("--pool", ["-1", "1"]),
              ("--dim", ["-1", "0"]), ("--rhos", ["-1.5", "1", "0.5,x"])]),
            ("ingest", ["idx", "--images", fx.dataset, "--labels", fx.dataset], out, [("--limit", ["-1"]), ("--shard", ["2/1", "-1/2"])]),
        ]
        var cases: [Case] = []
        for (stage, base, output, flags) in stages {
            for (flag, values) in flags {
                for v in values {
                    // the band, MoCHi and HCL flags are read when their sampler is chosen
                    let sampler: [String] = flag.hasPrefix("--band") ? ["--sampler", "band"] : flag.hasPrefix("--mochi") ? ["--sampler", "mochi", "--queue", "64", "--batch", "32"]
                        : flag == "--hcl-beta" ? ["--sampler", "hcl"] : []
                    let outFlag = stage == "hardness" && base.first == "cnce-study" ? ["--out", output] : ["--out", output]
                    cases.append(Case(stage: stage, args: base + sampler + outFlag + [flag, v], status: 64, mentions: flag, output: output))
                }
            }
        }
        XCTAssertEqual(cases.count, 116)
        try check(cases)
    }

    /// bench's subcommands check their flags before any timing starts (benchmarks themselves are never asserted).
    func testBenchFlagsOutOfRangeAreUsageErrors() throws {
        let flags: [(String, String, [String])] = [
            ("engine", "--batch", ["1", "5000"]), ("engine", "--steps", ["0"]), ("engine", "--rounds", ["0", "100"]),
            ("engine", "--threads", ["0"]), ("engine", "--loop-threads", ["0"]), ("engine", "--col-limit", ["0"]),
            ("engine", "--min-columns", ["0"]), ("engine", "--winograd-tiles", ["3", "0"]), ("engine", "--large-tiles-from", ["0"]), ("engine", "--rows", ["16:2:28", "0:1:28", "16:1:8", "x"]),
            ("engine", "--objective", ["ir", "x"]),
            ("winograd", "--width", ["0", "100000"]), ("winograd", "--size", ["4", "1000"]), ("winograd", "--batch", ["0"]),
            ("winograd", "--repeats", ["0", "1000"]), ("winograd", "--col-limit", ["0"]), ("winograd", "--min-columns", ["0"]),
            ("samplers", "--steps", ["0"]), ("samplers", "--threads", ["0"]), ("augment", "--threads", ["0"]),
            ("evaluation", "--threads", ["0"]), ("machine", "--threads", ["0"]),
        ]
        let cases = flags.flatMap { sub, flag, values in
            values.map { Case(stage: "bench", args: [sub, flag, $0], status: 64, mentions: flag) }
        }
        XCTAssertEqual(cases.count, 32)
        try check(cases + [Case(stage: "bench", args: ["engine", "--objective", "simclr", "--batch", "12"], status: 64, mentions: "--batch")])
    }

    // MARK: an output that is one of the inputs

    func testOutputEqualToAnInputIsRefused() throws {
        let fx = Self.fixtures
        let link = fx.path("features-link.safetensors.zst")
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fx.features)
        try check([
            Case(stage: "augment", args: ["--dataset", fx.dataset, "--recipe", "mocov2", "--out", fx.dataset], status: 64, mentions: "--out"),
            Case(stage: "embed", args: ["--encoder", "raw", "--dataset", fx.dataset, "--out", fx.dataset], status: 64, mentions: "--dataset input"),
            Case(stage: "embed", args: ["--encoder", "checkpoint", "--checkpoint", fx.checkpoint, "--dataset", fx.dataset, "--out", fx.checkpoint],
                 status: 64, mentions: "--checkpoint input"),
            Case(stage: "knn", args: ["--train", fx.features, "--test", fx.features, "--out", fx.features], status: 64, mentions: "--train input"),
            Case(stage: "knn", args: ["--train", fx.features, "--test", fx.features, "--out", link], status: 64, mentions: "--out"),
            Case(stage: "probe", args: ["--train", fx.features, "--test", fx.features, "--out", fx.features], status: 64, mentions: "--out"),
            Case(stage: "probe", args: ["--train", fx.features, "--test", fx.features, "--checkpoint", fx.checkpoint, "--out", fx.checkpoint],
                 status: 64, mentions: "--checkpoint input"),
            Case(stage: "hardness", args: ["analyse", "--queries", fx.features, "--candidates", fx.checkpoint, "--out", fx.path("h.safetensors.zst"),
                                           "--summary", fx.features], status: 64, mentions: "--summary"),
            Case(stage: "hardness", args: ["analyse", "--queries", fx.features, "--candidates", fx.checkpoint, "--out", fx.checkpoint],
                 status: 64, mentions: "--candidates input"),
            Case(stage: "pretrain", args: ["--views", fx.views, "--epochs", "1", "--out", fx.views], status: 64, mentions: "--views input"),
            Case(stage: "pretrain", args: ["--views", fx.views, "--epochs", "2", "--resume", fx.checkpoint, "--out", fx.checkpoint],
                 status: 64, mentions: "--resume input"),
            Case(stage: "pretrain", args: ["--views", fx.views, "--epochs", "1", "--out", fx.path("p.safetensors.zst"), "--log", fx.views],
                 status: 64, mentions: "--log"),
            Case(stage: "ingest", args: ["idx", "--images", fx.dataset, "--labels", fx.dataset, "--out", fx.dataset], status: 64, mentions: "--images input"),
            Case(stage: "report", args: ["--baseline", "x=\(fx.knnResult)", "--out", fx.knnResult], status: 64, mentions: "--out"),
        ])
        // A stage that fails leaves no empty folder behind for its output.
        try check([
            Case(stage: "pretrain", args: ["--views", fx.dataset, "--epochs", "1", "--out", fx.path("new-run/ckpt/c.safetensors.zst")],
                 status: 1, mentions: "not a views file", output: fx.path("new-run")),
            Case(stage: "hardness", args: ["cnce-study", "--dim", "0", "--out", fx.path("new-cnce/out")], status: 64, mentions: "--dim",
                 output: fx.path("new-cnce")),
            Case(stage: "knn", args: ["--train", fx.dataset, "--test", fx.features, "--out", fx.path("new-knn/r.json")], status: 1,
                 mentions: "data.safetensors.zst", output: fx.path("new-knn")),
        ])
    }

    // MARK: values inside the files

    func testBadValuesInFilesAreRefused() throws {
        let fx = Self.fixtures
        func features(_ name: String, labels: [Int64]? = nil, backbone: ((inout [Float]) -> Void)? = nil) throws -> String {
            let path = fx.path(name)
            let f = try TensorFile.read(fx.features)
            let n = try f.info("labels").shape[0]
            try Self.rewrite(fx.features, to: path, replacing: [
                "labels": { w in var w = w; w.add("labels", labels ?? (try! f.array("labels", as: Int64.self)), shape: [n]); return w },
                "backbone": { w in
                    var w = w, v = try! f.array("backbone", as: Float.self)
                    backbone?(&v)
                    w.add("backbone", v, shape: try! f.info("backbone").shape); return w
                },
            ])
            return path
        }
        let n = try TensorFile.read(fx.features).info("labels").shape[0]
        let huge = try features("huge-label.safetensors.zst", labels: (0..<n).map { $0 == 3 ? 1 << 62 : Int64($0 % 4) })
        let billion = try features("billion-label.safetensors.zst", labels: (0..<n).map { $0 == 0 ? 1_000_000_000 : Int64($0 % 4) })
        let negative = try features("negative-label.safetensors.zst", labels: (0..<n).map { $0 == 5 ? -3 : Int64($0 % 4) })
        let single = try features("one-class.safetensors.zst", labels: [Int64](repeating: 0, count: n))
        let nan = try features("nan.safetensors.zst", backbone: { $0[7] = .nan })
        let out = fx.path("out-values.json")
        var cases: [Case] = []
        for (file, message) in [(huge, "labels must be below"), (billion, "labels must be below"), (negative, "label -3")] {
            cases.append(Case(stage: "knn", args: ["--train", file, "--test", fx.features, "--feature", "backbone", "--out", out], status: 1, mentions: message, output: out))
            cases.append(Case(stage: "probe", args: ["--train", fx.features, "--test", file, "--out", out], status: 1, mentions: message, output: out))
        }
        cases.append(Case(stage: "probe", args: ["--train", single, "--test", single, "--out", out], status: 1, mentions: "at least 2", output: out))
        cases.append(Case(stage: "probe", args: ["--train", nan, "--test", fx.features, "--out", out], status: 1, mentions: "non-finite", output: out))
        cases.append(Case(stage: "knn", args: ["--train", nan, "--test", fx.features, "--feature", "backbone", "--out", out], status: 1, mentions: "non-finite", output: out))

        // A checkpoint holding NaN weights: neither embedded nor resumed.
        let badCheckpoint = fx.path("nan-ckpt.safetensors.zst")
        let ck = try TensorFile.read(fx.checkpoint)
        let weight = try XCTUnwrap(ck.tensors.first { $0.name.hasSuffix("conv1.weight") && $0.name.hasPrefix("encoder_q.") })
        try Self.rewrite(fx.checkpoint, to: badCheckpoint, replacing: [weight.name: { w in
            var w = w, v = try! ck.array(weight.name, as: Float.self); v[0] = .infinity
            w.add(weight.name, v, shape: weight.shape); return w
        }])
        let emb = fx.path("out-nan.safetensors.zst")
        cases.append(Case(stage: "embed", args: ["--encoder", "checkpoint", "--checkpoint", badCheckpoint, "--dataset", fx.dataset, "--out", emb],
                          status: 1, mentions: "non-finite", output: emb))
        cases.append(Case(stage: "pretrain", args: ["--views", fx.views, "--resume", badCheckpoint, "--epochs", "2", "--width", "2", "--batch", "32",
                                                    "--bn-splits", "2", "--queue", "64", "--sampler", "uniform", "--out", emb],
                          status: 1, mentions: "non-finite", output: emb))

        // Resuming with views the run did not train on: another image size, another number of images.
        let bigViews = fx.path("views-20px.safetensors.zst"), moreData = fx.path("data-96.safetensors.zst"), moreViews = fx.path("views-96.safetensors.zst")
        XCTAssertEqual(try TestSupport.runStage("augment", ["--dataset", fx.dataset, "--recipe", "mocov2", "--epoch", "2", "--size", "20", "--out", bigViews]).status, 0)
        try Self.writeDataset(moreData, count: 96)
        XCTAssertEqual(try TestSupport.runStage("augment", ["--dataset", moreData, "--recipe", "mocov2", "--epoch", "2", "--out", moreViews]).status, 0)
        for (views, message) in [(bigViews, "views of 1×20×20 / 1×20×20 images, but"), (moreViews, "views of 96 images, but")] {
            cases.append(Case(stage: "pretrain", args: ["--views", views, "--resume", fx.checkpoint, "--epochs", "2", "--width", "2", "--batch", "32",
                                                        "--bn-splits", "2", "--queue", "64", "--sampler", "uniform", "--out", emb],
                              status: 1, mentions: message, output: emb))
        }

        // Datasets and views with no channels, no images, one image.
        for (name, count, channels, message) in [("zero-images", 0, 1, "data-zero-images"), ("zero-channels", 4, 0, "data-zero-channels"),
                                                 ("one-image", 1, 1, "data-one-image")] {
            let path = fx.path("data-\(name).safetensors.zst")
            try Self.writeDataset(path, count: count, channels: channels)
            let views = fx.path("views-\(name).safetensors.zst")
            if count > 0 && channels > 0 {      // augment accepts a single image; pretrain cannot fill a batch with it
                XCTAssertEqual(try TestSupport.runStage("augment", ["--dataset", path, "--recipe", "mocov2", "--out", views]).status, 0)
                cases.append(Case(stage: "pretrain", args: ["--views", views, "--epochs", "1", "--out", emb], status: 1, mentions: "fewer than one batch", output: emb))
            } else {
                cases.append(Case(stage: "augment", args: ["--dataset", path, "--recipe", "mocov2", "--out", views], status: 1, mentions: message, output: views))
            }
            if count == 0 || channels == 0 {
                cases.append(Case(stage: "embed", args: ["--encoder", "raw", "--dataset", path, "--out", emb], status: 1, mentions: message, output: emb))
            }
        }
        try check(cases)
    }

    // MARK: decoders bounded before they allocate

    /// Tiny JPEGs whose headers claim 16000×16000 pixels, and a gzip that inflates past its limit, fail
    /// from their headers (or while inflating) with one line, not after taking gigabytes.
    func testCraftedSizesFailBeforeAllocating() throws {
        try XCTSkipUnless(TestSupport.pythonHas(["PIL"]), "pillow needed to make the JPEG")
        let fx = Self.fixtures
        let folder = fx.path("claims/a")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let small = folder + "/small.jpg"
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", "from PIL import Image; import sys; Image.new('L', (8, 8), 100).save(sys.argv[1])", small])
        XCTAssertEqual(r.status, 0, r.stderr)
        var jpeg = [UInt8](FileManager.default.contents(atPath: small)!)
        let sof = try XCTUnwrap((0..<(jpeg.count - 9)).first { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) })
        for at in [sof + 5, sof + 7] { jpeg[at] = 0x3E; jpeg[at + 1] = 0x80 }      // height and width 16000
        for i in 0..<3 { FileManager.default.createFile(atPath: folder + "/claims\(i).jpg", contents: Data(jpeg)) }
        try FileManager.default.removeItem(atPath: small)
        let out = fx.path("claims.safetensors.zst")
        let bomb = fx.path("bomb.idx.gz")
        XCTAssertEqual(try TestSupport.run("/usr/bin/env", ["python3", "-c",
            "import gzip, sys; open(sys.argv[1], 'wb').write(gzip.compress(bytes(300 << 20), 1))", bomb]).status, 0)
        try check([
            Case(stage: "ingest", args: ["folder", fx.path("claims"), "--out", out], status: 1, mentions: "claims 16000×16000 pixels", output: out),
            Case(stage: "ingest", args: ["idx", "--images", bomb, "--labels", bomb, "--out", out], status: 1, mentions: "inflates to more than 256 MiB", output: out),
        ])
        // What a stage makes from its inputs is bounded by their size (OutputBudget: 1 GiB or 16× the input;
        // NS_MAX_OUTPUT_BYTES replaces the rule): checked before the allocation, here with the rule lowered.
        let low = ["NS_MAX_OUTPUT_BYTES": "100000"]
        let views = fx.path("budget-views.safetensors.zst"), features = fx.path("budget-features.safetensors.zst")
        try check([
            Case(stage: "augment", args: ["--dataset", fx.dataset, "--size", "64", "--out", views], status: 1,
                 mentions: "views of 64 images × 2 channels × 64² would take 524288 bytes, over the limit of 100000", output: views, env: low),
            Case(stage: "embed", args: ["--encoder", "raw", "--dataset", fx.dataset, "--out", features], status: 1,
                 mentions: "features of 64 images × (256 + 256) floats would take 131072 bytes, over the limit of 100000", output: features, env: low),
        ])
    }

    // MARK: files the report reads

    func testCorruptFilesGivenToReportAreRefused() throws {
        let fx = Self.fixtures, out = fx.path("report-out")
        let run = fx.path("corrupt-run")
        try FileManager.default.createDirectory(atPath: run + "/results", withIntermediateDirectories: true)
        let good = try String(contentsOfFile: fx.knnResult, encoding: .utf8)
        try String(good.prefix(good.count / 2)).write(toFile: run + "/results/knn.json", atomically: true, encoding: .utf8)
        let logRun = fx.path("corrupt-log-run")
        try FileManager.default.createDirectory(atPath: logRun, withIntermediateDirectories: true)
        try "epoch,step,loss\n1,10,4.5\n2,20".write(toFile: logRun + "/log.csv", atomically: true, encoding: .utf8)
        let truncatedBaseline = fx.path("truncated.json")
        try "{\"results\": {\"top1\": 8".write(toFile: truncatedBaseline, atomically: true, encoding: .utf8)
        try check([
            Case(stage: "report", args: ["--run", run, "--out", out], status: 1, mentions: "knn.json: is not a JSON object", output: out),
            Case(stage: "report", args: ["--run", logRun, "--out", out], status: 1, mentions: "log.csv: line 3 has 2 cells", output: out),
            Case(stage: "report", args: ["--baseline", "raw=\(truncatedBaseline)", "--out", out], status: 1, mentions: "truncated.json", output: out),
            Case(stage: "report", args: ["--run", fx.path("no-such-run"), "--out", out], status: 1, mentions: "no-such-run", output: out),
            Case(stage: "report", args: ["--baseline", "no-equals-sign", "--out", out], status: 64, mentions: "--baseline", output: out),
        ])
    }
}
