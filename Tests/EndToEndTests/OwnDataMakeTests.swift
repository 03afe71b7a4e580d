import Foundation
import TensorFiles
import TestSupport
import XCTest

/// A researcher's own data through `make`: an ImageFolder tree the test makes (JPEGs written by cjpeg),
/// an existing dataset file used in place and never rewritten, and a folder of someone else's datasets
/// that make refuses to write into.
final class OwnDataMakeTests: XCTestCase {
    /// Tiny settings for any data: two epochs of MoCo on every training image, width 4.
    func settings(_ dir: URL) -> [String] {
        ["PREBUILT=\(TestSupport.binDir.path)", "RUNS=\(dir.path)/runs", "EXP=moco-uniform", "PRETRAIN_IMAGES=0", "EPOCHS=2",
         "BATCH=32", "QUEUE=64", "WIDTH=4", "THREADS=2", "KNN_MONITOR_LIMIT=0", "KNN_K=5", "CNCE_REPETITIONS=4",
         "CNCE_EXTRA=--batch 16 --pool 128 --rhos 0.5"]
    }

    func make(_ arguments: [String]) throws -> TestSupport.Result {
        try TestSupport.run("/usr/bin/env", ["make", "-C", TestSupport.repoRoot.path, "--no-print-directory"] + arguments)
    }

    /// An ImageFolder tree: `classes` sub-folders of `perClass` JPEGs (w×h, class-coloured noise).
    func makeImageFolder(_ root: URL, classes: [String], perClass: Int, width: Int, height: Int, seed: UInt64) throws {
        var state = seed
        func next() -> UInt8 { state = state &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: state >> 56) }
        for (c, name) in classes.enumerated() {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<perClass {
                var ppm = Data("P6\n\(width) \(height)\n255\n".utf8)
                for y in 0..<height {
                    for x in 0..<width {
                        let stripe = (c == 0 ? x : y) % 4 < 2
                        for channel in 0..<3 {
                            let base = channel == c % 3 ? 200 : 40
                            ppm.append(UInt8(clamping: base + (stripe ? 30 : -30) + Int(next() % 32) - 16))
                        }
                    }
                }
                let ppmPath = folder.appendingPathComponent("\(i).ppm").path
                try ppm.write(to: URL(fileURLWithPath: ppmPath))
                let r = try TestSupport.run("/usr/bin/env", ["cjpeg", "-quality", "95", "-outfile", folder.appendingPathComponent("img\(i).jpg").path, ppmPath])
                XCTAssertEqual(r.status, 0, r.stderr)
                try FileManager.default.removeItem(atPath: ppmPath)
            }
        }
    }

    func testImageFolderDatasetInPlaceAndForeignDataThroughMake() throws {
        guard (try? TestSupport.run("/usr/bin/env", ["cjpeg", "-version"]))?.status == 0 else {
            throw XCTSkip("cjpeg is not installed (apt-get install libjpeg-turbo-progs)")
        }
        let dir = try TestSupport.scratchDir("own-data-make")
        let images = dir.appendingPathComponent("photos")
        try makeImageFolder(images.appendingPathComponent("train"), classes: ["ant", "bee"], perClass: 48, width: 20, height: 18, seed: 1)
        try makeImageFolder(images.appendingPathComponent("val"), classes: ["ant", "bee"], perClass: 16, width: 20, height: 18, seed: 2)

        // 1. an ImageFolder tree, resized to 16×16, through the whole pipeline
        let data = dir.path + "/data/photos"
        let folder = try make(settings(dir) + ["DATASET=photos", "DATA=\(data)", "BASE=\(dir.path)/base", "TRAIN_FORMAT=folder",
                                               "TRAIN_SOURCE=\(images.path)/train", "TEST_SOURCE=\(images.path)/val", "IMAGE_SIZE=16"])
        XCTAssertEqual(folder.status, 0, String(folder.stderr.suffix(3000)))
        XCTAssertTrue(folder.stdout.contains("| raw pixels |"), folder.stdout)
        let train = try TensorFile.read(data + "/train.safetensors.zst")
        XCTAssertEqual(try train.info("images").shape, [96, 3, 16, 16])
        XCTAssertEqual(train.metadata["classes"], #"["ant","bee"]"#)
        XCTAssertEqual(try TensorFile.read(data + "/test.safetensors.zst").info("images").shape, [32, 3, 16, 16])
        let run = dir.path + "/runs/moco-uniform"
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/report/index.html"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/hardness/summary.json"), "hardness without a class hierarchy")
        let provenance = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as! [String: Any]
        XCTAssertEqual((provenance["make_variables"] as? [String: String])?["TRAIN_FORMAT"], "folder")
        XCTAssertEqual(try TensorFile.read(run + "/features/test.safetensors.zst").metadata["commit"], "unknown", "the test build has no build-info")
        let html = try String(contentsOfFile: run + "/report/index.html", encoding: .utf8)
        XCTAssertTrue(html.contains("alt=\"bee\""), "the grids name the classes from the dataset")

        // 1b. pretraining on an unlabeled flat folder (the same JPEGs), probe and kNN on the labelled splits
        let flat = dir.appendingPathComponent("flat")
        try FileManager.default.createDirectory(at: flat, withIntermediateDirectories: true)
        for cls in ["ant", "bee"] {
            for f in try FileManager.default.contentsOfDirectory(atPath: images.path + "/train/" + cls) {
                try FileManager.default.copyItem(atPath: "\(images.path)/train/\(cls)/\(f)", toPath: "\(flat.path)/\(cls)-\(f)")
            }
        }
        let unlabeled = try make(settings(dir) + ["DATASET=photos", "DATA=\(data)", "BASE=\(dir.path)/base", "TRAIN_FORMAT=folder",
                                                  "TRAIN_SOURCE=\(images.path)/train", "TEST_SOURCE=\(images.path)/val", "IMAGE_SIZE=16",
                                                  "PRETRAIN_SOURCE=\(flat.path)", "PRETRAIN_FORMAT=unlabeled"])
        XCTAssertEqual(unlabeled.status, 0, String(unlabeled.stderr.suffix(3000)))
        let pretrainSet = try TensorFile.read(data + "/pretrain-first0.safetensors.zst")
        XCTAssertEqual(try pretrainSet.info("images").shape, [96, 3, 16, 16])
        XCTAssertEqual(Set(try pretrainSet.integers("labels")), [-1])
        let missingFormat = try make(settings(dir) + ["DATASET=photos", "DATA=\(data)", "TRAIN_FORMAT=folder", "TRAIN_SOURCE=\(images.path)/train",
                                                      "TEST_SOURCE=\(images.path)/val", "PRETRAIN_SOURCE=\(flat.path)", "ingest"])
        XCTAssertNotEqual(missingFormat.status, 0)
        XCTAssertTrue(missingFormat.stderr.contains("PRETRAIN_SOURCE needs PRETRAIN_FORMAT"), missingFormat.stderr)

        // 2. the same splits as the user's own dataset files: used in place, never rewritten, not even when
        // the run's settings change; nothing is ingested
        let mine = dir.appendingPathComponent("mine")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        for split in ["train", "test"] {
            try FileManager.default.copyItem(atPath: "\(data)/\(split).safetensors.zst", toPath: "\(mine.path)/\(split).safetensors.zst")
        }
        let before = try ["train", "test"].map { try Data(contentsOf: mine.appendingPathComponent("\($0).safetensors.zst")) }
        let inPlace = settings(dir) + ["DATASET=mine", "DATA=\(dir.path)/data/mine", "BASE=\(dir.path)/base-mine", "TRAIN_FORMAT=dataset", "TEST_FORMAT=dataset",
                                        "TRAIN_SOURCE=\(mine.path)/train.safetensors.zst", "TEST_SOURCE=\(mine.path)/test.safetensors.zst"]
        for extra in [[], ["LR=0.05"]] {
            let r = try make(inPlace + extra)
            XCTAssertEqual(r.status, 0, String(r.stderr.suffix(3000)))
            XCTAssertFalse(r.stdout.contains("/ingest "), r.stdout)
        }
        let after = try ["train", "test"].map { try Data(contentsOf: mine.appendingPathComponent("\($0).safetensors.zst")) }
        XCTAssertEqual(after, before, "the user's datasets were rewritten")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mine.path).sorted(), ["test.safetensors.zst", "train.safetensors.zst"])

        // 3. DATA pointed at the user's folder: make refuses to ingest over it, and leaves it as it was
        let foreign = try make(settings(dir) + ["DATA=\(mine.path)", "BASE=\(dir.path)/base-foreign", "ingest"])
        XCTAssertNotEqual(foreign.status, 0)
        XCTAssertTrue(foreign.stderr.contains("holds datasets make did not write"), foreign.stderr)
        XCTAssertEqual(try ["train", "test"].map { try Data(contentsOf: mine.appendingPathComponent("\($0).safetensors.zst")) }, before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mine.path).sorted(), ["test.safetensors.zst", "train.safetensors.zst"])

        // 4. naming the data is required once the source is not Fashion-MNIST
        let unnamed = try make(settings(dir) + ["TRAIN_FORMAT=folder", "TRAIN_SOURCE=\(images.path)/train", "TEST_SOURCE=\(images.path)/val", "ingest"])
        XCTAssertNotEqual(unnamed.status, 0)
        XCTAssertTrue(unnamed.stderr.contains("DATASET=NAME"), unnamed.stderr)
        let halfFashion = try make(settings(dir) + ["DATASET=mnist", "TRAIN_SOURCE=\(dir.path)/train-images.gz", "ingest"])
        XCTAssertNotEqual(halfFashion.status, 0)
        XCTAssertTrue(halfFashion.stderr.contains("TRAIN_LABELS is still Fashion-MNIST's"), halfFashion.stderr)
    }

    /// `--version` on every stage: the project version and the commit (unknown for the test build, which
    /// has no build-info beside it).
    func testEveryStageHasVersionHelpExampleAndCompletion() throws {
        for stage in ["ingest", "augment", "pretrain", "embed", "probe", "knn", "hardness", "report", "inspect", "bench"] {
            let r = try TestSupport.runStage(stage, ["--version"])
            XCTAssertEqual(r.status, 0, "\(stage): \(r.stderr)")
            XCTAssertTrue(r.stdout.hasPrefix("0.1.0 (commit "), "\(stage): \(r.stdout)")
            let help = try TestSupport.runStage(stage, ["--help"])
            XCTAssertTrue(help.stdout.contains("Example"), "\(stage) --help has no example")
            let completion = try TestSupport.runStage(stage, ["--generate-completion-script", "bash"])
            XCTAssertEqual(completion.status, 0, completion.stderr)
            XCTAssertTrue(completion.stdout.contains("complete"), "\(stage): no bash completion")
        }
        let help = try TestSupport.runStage("pretrain", ["--help"]).stdout
        for title in ["FILES:", "OBJECTIVE AND MODEL:", "OPTIMISATION:", "MOCO QUEUE AND IR/CMC MEMORY BANK:", "RING SAMPLER:", "MONITORING:"] {
            XCTAssertTrue(help.contains(title), "pretrain --help lacks the group \(title)")
        }
    }

    /// A binary with make's build-info beside it reports that commit (in --version and in its outputs'
    /// metadata); one newer than its build-info (rebuilt some other way) says unknown.
    func testBuildInfoBesideTheBinary() throws {
        let dir = try TestSupport.scratchDir("build-info")
        let binary = dir.path + "/inspect"
        try FileManager.default.copyItem(atPath: TestSupport.binDir.path + "/inspect", toPath: binary)
        let commit = String(repeating: "ab", count: 20)
        try "commit=\(commit)\ndirty=true\nswift=Swift version 6.x\n".write(toFile: dir.path + "/build-info", atomically: true, encoding: .utf8)
        let r = try TestSupport.run(binary, ["--version"])
        XCTAssertEqual(r.stdout, "0.1.0 (commit \(commit)-dirty; Swift version 6.x)\n")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(3600)], ofItemAtPath: binary)
        XCTAssertEqual(try TestSupport.run(binary, ["--version"]).stdout, "0.1.0 (commit unknown; unknown)\n")
    }
}

/// examples/load_torch.py: a checkpoint loads into PyTorch by name (strict) and reproduces embed's
/// features. Runs where torch is importable by `python3` (a venv's bin first on PATH); skips otherwise.
final class LoadTorchExampleTests: XCTestCase {
    func testCheckpointLoadsIntoTorchAndMatchesEmbed() throws {
        guard TestSupport.pythonHas(["torch", "safetensors", "zstandard", "numpy"]) else {
            throw XCTSkip("torch is not importable by python3 (python3 -m venv DIR; DIR/bin/pip install torch safetensors zstandard)")
        }
        let fashion = "/usr/share/datasets/fashion-mnist"
        guard FileManager.default.fileExists(atPath: fashion + "/t10k-images-idx3-ubyte.gz") else { throw XCTSkip("Fashion-MNIST is not installed") }
        let dir = try TestSupport.scratchDir("load-torch").path
        func stage(_ name: String, _ args: [String]) throws {
            let r = try TestSupport.runStage(name, args + ["--threads", "1"])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
        }
        try stage("ingest", ["idx", "--images", fashion + "/t10k-images-idx3-ubyte.gz", "--labels", fashion + "/t10k-labels-idx1-ubyte.gz",
                             "--limit", "128", "--out", dir + "/data.safetensors.zst"])
        try stage("augment", ["--dataset", dir + "/data.safetensors.zst", "--epoch", "1", "--out", dir + "/views.safetensors.zst"])
        try stage("pretrain", ["--views", dir + "/views.safetensors.zst", "--width", "4", "--batch", "32", "--queue", "64", "--epochs", "1",
                               "--out", dir + "/ckpt.safetensors.zst"])
        try stage("embed", ["--encoder", "checkpoint", "--checkpoint", dir + "/ckpt.safetensors.zst", "--dataset", dir + "/data.safetensors.zst",
                            "--out", dir + "/features.safetensors.zst"])
        let r = try TestSupport.run("/usr/bin/env", ["python3", TestSupport.repoRoot.path + "/examples/load_torch.py", dir + "/ckpt.safetensors.zst",
                                                     dir + "/data.safetensors.zst", "--features", dir + "/features.safetensors.zst", "--count", "32"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("the PyTorch model reproduces embed's features"), r.stdout)
    }
}
