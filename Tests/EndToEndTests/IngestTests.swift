import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// The built `ingest` binary on small generated sources (scripts/make_images_fixtures.py, whose expected
/// values come from NumPy parsing and libjpeg-turbo's `djpeg`), every bad input, and real Fashion-MNIST.
final class IngestTests: XCTestCase {
    static let fixtures: URL = {
        let dir = try! TestSupport.scratchDir("ns-ingest-fixtures")
        let r = try! TestSupport.python("make_images_fixtures.py", [dir.path])
        precondition(r.status == 0, "make_images_fixtures.py failed: \(r.stderr)")
        return dir
    }()
    static let expected: TensorFile = try! TensorFile.read(fixtures.appendingPathComponent("expected.safetensors.zst").path)

    func fx(_ relative: String) -> String { Self.fixtures.appendingPathComponent(relative).path }
    func u8(_ name: String) throws -> [UInt8] { try Self.expected.array(name, as: UInt8.self) }
    func i64(_ name: String) throws -> [Int64] { try Self.expected.array(name, as: Int64.self) }

    /// Runs ingest into a fresh folder; returns the result and the output path.
    func ingest(_ args: [String]) throws -> (TestSupport.Result, String, URL) {
        let dir = try TestSupport.scratchDir("ns-ingest-out")
        let out = dir.appendingPathComponent("out.safetensors.zst").path
        return (try TestSupport.runStage("ingest", args + ["--out", out]), out, dir)
    }

    func ingestOK(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TensorFile {
        let (r, out, _) = try ingest(args)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stdout.hasPrefix("wrote \(out): images u8 ["), r.stdout, file: file, line: line)
        XCTAssertEqual(r.stdout.filter { $0 == "\n" }.count, 1, "one summary line", file: file, line: line)
        return try TensorFile.read(out)
    }

    /// Exit status 1 (64 when no file is at fault: a bad flag), nothing on stdout, one stderr line naming
    /// `culprit` with `message`, no file in the folder.
    func assertFails(_ args: [String], culprit: String?, message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (r, _, dir) = try ingest(args)
        XCTAssertEqual(r.status, culprit == nil ? 64 : 1, "\(args)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, file: file, line: line)
        let prefix = "ingest: error: " + (culprit.map { "\($0): " } ?? "")
        XCTAssertTrue(r.stderr.hasPrefix(prefix) && r.stderr.contains(message),
                      "expected '\(prefix)…\(message)…', got: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(TestSupport.listing(dir), [], "output or temporary file left behind", file: file, line: line)
    }

    // MARK: IDX

    func testIDXRawAndGzipGiveTheExpectedTensors() throws {
        let raw = try ingestOK(["idx", "--images", fx("idx/images.idx"), "--labels", fx("idx/labels.idx")])
        let gz = try ingestOK(["idx", "--images", fx("idx/images.idx.gz"), "--labels", fx("idx/labels.idx.gz"), "--seed", "3"])
        for f in [raw, gz] {
            XCTAssertEqual(try f.array("images", as: UInt8.self, shape: [7, 1, 5, 4]), try u8("idx_images"))
            XCTAssertEqual(try f.array("labels", as: Int64.self, shape: [7]), try i64("idx_labels"))
            XCTAssertEqual(try f.array("index", as: Int64.self, shape: [7]), Array(0..<7))
            XCTAssertEqual(f.metadata["stage"], "ingest")
        }
        XCTAssertEqual(Provenance.decode(gz.metadata["inputs"])["images"], try SHA256.hex(file: fx("idx/images.idx.gz")))
        XCTAssertEqual(gz.metadata["seed"], "3")
    }

    func testLimitAndShard() throws {
        let f = try ingestOK(["idx", "--images", fx("idx/images.idx"), "--labels", fx("idx/labels.idx"), "--shard", "1/2", "--limit", "2"])
        XCTAssertEqual(try f.array("index", as: Int64.self), [1, 3])
        let all = try u8("idx_images"), labels = try i64("idx_labels")
        XCTAssertEqual(try f.array("images", as: UInt8.self), Array(all[20..<40] + all[60..<80]))
        XCTAssertEqual(try f.array("labels", as: Int64.self), [labels[1], labels[3]])
        XCTAssertEqual(Provenance.decode(f.metadata["parameters"])["shard"], "1/2")
    }

    func testIDXBadInputs() throws {
        let labels = fx("idx/labels.idx")
        try assertFails(["idx", "--images", fx("idx/bad_magic.idx"), "--labels", labels], culprit: fx("idx/bad_magic.idx"), message: "not an IDX file (magic 12 34 08 03")
        try assertFails(["idx", "--images", fx("idx/bad_type.idx"), "--labels", labels], culprit: fx("idx/bad_type.idx"), message: "IDX data type 0x0B is not unsigned bytes")
        try assertFails(["idx", "--images", fx("idx/short.idx"), "--labels", labels], culprit: fx("idx/short.idx"), message: "IDX size mismatch: header says 7×5×4 = 140 bytes of data, file has 137")
        try assertFails(["idx", "--images", fx("idx/images.idx"), "--labels", fx("idx/labels6.idx")], culprit: fx("idx/labels6.idx"), message: "has 6 labels but")
        try assertFails(["idx", "--images", fx("idx/broken.idx.gz"), "--labels", labels], culprit: fx("idx/broken.idx.gz"), message: "corrupt gzip file")
        try assertFails(["idx", "--images", fx("idx/labels.idx"), "--labels", labels], culprit: fx("idx/labels.idx"), message: "IDX file has 1 dimensions, expected 3")
        try assertFails(["idx", "--images", fx("idx/missing.idx"), "--labels", labels], culprit: fx("idx/missing.idx"), message: "no such file")
        try assertFails(["idx", "--images", fx("idx/images.idx"), "--labels", labels, "--shard", "2/2"], culprit: nil, message: "--shard must be i/N with 0 ≤ i < N (got '2/2')")
    }

    // MARK: CIFAR

    func testCIFAR10And100() throws {
        let c10 = try ingestOK(["cifar", fx("cifar/data_batch_1.bin"), fx("cifar/data_batch_2.bin")])
        XCTAssertEqual(try c10.array("images", as: UInt8.self, shape: [5, 3, 32, 32]), try u8("c10_images"))
        XCTAssertEqual(try c10.array("labels", as: Int64.self), try i64("c10_labels"))
        XCTAssertEqual(try c10.array("index", as: Int64.self), Array(0..<5))
        XCTAssertEqual(c10.metadata["classes"], #"["airplane","automobile","bird","cat","deer","dog","frog","horse","ship","truck"]"#)
        for (label, name) in [("fine", "c100_fine"), ("coarse", "c100_coarse")] {
            let c100 = try ingestOK(["cifar", "--kind", "cifar100", "--label", label, fx("cifar/train100.bin")])
            XCTAssertEqual(try c100.array("images", as: UInt8.self, shape: [4, 3, 32, 32]), try u8("c100_images"))
            XCTAssertEqual(try c100.array("labels", as: Int64.self), try i64(name), label)
        }
    }

    func testCIFARBadLengths() throws {
        try assertFails(["cifar", fx("cifar/data_batch_1.bin"), fx("cifar/bad_length.bin")], culprit: fx("cifar/bad_length.bin"),
                        message: "size 9224 bytes is not a whole number of CIFAR-10 records of 3073 bytes")
        try assertFails(["cifar", fx("cifar/train100.bin")], culprit: fx("cifar/train100.bin"), message: "use --kind cifar100")
        try assertFails(["cifar", "--kind", "cifar100", fx("cifar/data_batch_1.bin")], culprit: fx("cifar/data_batch_1.bin"),
                        message: "not a whole number of CIFAR-100 records of 3074 bytes")
        try assertFails(["cifar", fx("cifar_badmeta/data_batch_1.bin")], culprit: fx("cifar_badmeta/batches.meta.txt"),
                        message: "lists 2 class names, expected 10")
    }

    // MARK: JPEG folders

    func testImageFolderMatchesDjpegInRGBAndGray() throws {
        let rgb = try ingestOK(["folder", fx("tree")])
        XCTAssertEqual(try rgb.array("images", as: UInt8.self, shape: [9, 3, 17, 23]), try u8("tree_rgb"))
        XCTAssertEqual(try rgb.array("labels", as: Int64.self), try i64("tree_labels"))
        XCTAssertEqual(rgb.metadata["classes"], #"["ant","bee","cat","dog"]"#)
        let gray = try ingestOK(["folder", "--color", "gray", fx("tree"), "--threads", "1"])
        XCTAssertEqual(try gray.array("images", as: UInt8.self, shape: [9, 1, 17, 23]), try u8("tree_gray"))
    }

    func testOutputIsIdenticalForAnyThreadCount() throws {
        let (_, a, _) = try ingest(["folder", fx("tree"), "--threads", "1"])
        let (_, b, _) = try ingest(["folder", fx("tree"), "--threads", "2"])
        XCTAssertNotNil(FileManager.default.contents(atPath: a))
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))
    }

    /// Provenance records content hashes, not paths: a moved copy of the tree (given with a trailing slash)
    /// gives the same bytes.
    func testFolderOutputDependsOnContentNotLocation() throws {
        let copy = try TestSupport.scratchDir("ns-tree-copy").appendingPathComponent("moved")
        try FileManager.default.copyItem(atPath: fx("tree"), toPath: copy.path)
        let (_, a, _) = try ingest(["folder", fx("tree")])
        let (r, b, _) = try ingest(["folder", copy.path + "/"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))
        XCTAssertNotNil(Provenance.decode(try TensorFile.read(a).metadata["inputs"])["folder"])
    }

    /// --size: DCT scaling + bilinear + centre crop against the NumPy reference of the same policy. The two
    /// round a value exactly halfway between integers differently (Float vs Double), so ±1 is allowed.
    func testFlatFolderResizeAgainstReference() throws {
        let f = try ingestOK(["folder", "--unlabeled", "--size", "16", fx("flat")])
        let got = try f.array("images", as: UInt8.self, shape: [5, 3, 16, 16]), want = try u8("flat16_rgb")
        let diffs = zip(got, want).map { abs(Int($0) - Int($1)) }
        XCTAssertLessThanOrEqual(diffs.max()!, 1)
        XCTAssertLessThan(Double(diffs.filter { $0 > 0 }.count) / Double(diffs.count), 0.01)
        XCTAssertEqual(try f.array("labels", as: Int64.self), [Int64](repeating: -1, count: 5))
        XCTAssertNil(f.metadata["classes"])
    }

    func testBadJPEGsFailOrAreSkippedAndListed() throws {
        try assertFails(["folder", fx("bad")], culprit: fx("bad/b/truncated.jpg"), message: "corrupt or truncated JPEG")
        try assertFails(["folder", fx("bad"), "--size", "8"], culprit: fx("bad/b/truncated.jpg"), message: "corrupt or truncated JPEG")
        let (r, out, _) = try ingest(["folder", fx("bad"), "--skip-bad"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("3 bad images skipped"), r.stdout)
        for name in ["truncated.jpg", "truncated_late.jpg", "zgarbage.jpg"] {
            XCTAssertTrue(r.stderr.contains("ingest: skipped \(fx("bad/b/" + name)): "), r.stderr)
        }
        let f = try TensorFile.read(out)
        XCTAssertEqual(try f.array("images", as: UInt8.self, shape: [3, 3, 64, 96]), try u8("bad_kept_rgb"))
        XCTAssertEqual(try f.array("index", as: Int64.self), [0, 1, 2])     // good2.jpg sorts before truncated*.jpg
        XCTAssertEqual(try f.array("labels", as: Int64.self), [0, 0, 1])
        XCTAssertEqual(f.metadata["skipped_count"], "3")
        XCTAssertTrue(f.metadata["skipped"]!.contains("truncated_late.jpg: corrupt or truncated JPEG (Premature end of JPEG file)"))
    }

    func testFolderErrors() throws {
        try assertFails(["folder", "--unlabeled", fx("flat")], culprit: fx("flat/p1.jpeg"), message: "is 30×41 but \(fx("flat/p0.jpeg")) is 40×30; pass --size S")
        try assertFails(["folder", fx("flat")], culprit: fx("flat"), message: "has no class sub-folders")
        try assertFails(["folder", fx("nowhere")], culprit: fx("nowhere"), message: "no such folder")
        try assertFails(["folder", fx("idx/images.idx")], culprit: fx("idx/images.idx"), message: "is a file, expected a folder")
        try assertFails(["folder", "--unlabeled", fx("idx")], culprit: fx("idx"), message: "contains no .jpg/.jpeg files")
    }

    // MARK: real data

    func testFashionMNISTTestSplitMatchesPythonParse() throws {
        let dir = "/usr/share/datasets/fashion-mnist"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "\(dir)/t10k-images-idx3-ubyte.gz"), "dataset-fashion-mnist not installed")
        let f = try ingestOK(["idx", "--images", "\(dir)/t10k-images-idx3-ubyte.gz", "--labels", "\(dir)/t10k-labels-idx1-ubyte.gz"])
        let images = try f.info("images"), labels = try f.info("labels")
        XCTAssertEqual(images.shape, [10000, 1, 28, 28])
        let script = """
        import gzip, hashlib, sys, numpy as np
        im = np.frombuffer(gzip.open(sys.argv[1]).read(), np.uint8, offset=16)
        lb = np.frombuffer(gzip.open(sys.argv[2]).read(), np.uint8, offset=8).astype('<i8')
        print(hashlib.sha256(im.tobytes()).hexdigest(), hashlib.sha256(lb.tobytes()).hexdigest())
        """
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", script, "\(dir)/t10k-images-idx3-ubyte.gz", "\(dir)/t10k-labels-idx1-ubyte.gz"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual("\(SHA256.hex(f.rawBytes(images))) \(SHA256.hex(f.rawBytes(labels)))", r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Peak memory of ingesting the Fashion-MNIST training split (26 MB gzip → 47 MB of pixels): the
    /// compressed bytes, the inflated bytes and the written tensors must not pile up (about 2× the output).
    func testFashionMNISTTrainIngestMemory() throws {
        let dir = "/usr/share/datasets/fashion-mnist"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "\(dir)/train-images-idx3-ubyte.gz"), "dataset-fashion-mnist not installed")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "/usr/bin/time needed")
        let out = try TestSupport.scratchDir().appendingPathComponent("train.safetensors.zst").path
        let r = try TestSupport.run("/usr/bin/time", ["-f", "maxrss_kb=%M", TestSupport.binDir.appendingPathComponent("ingest").path, "idx",
                                                      "--images", "\(dir)/train-images-idx3-ubyte.gz", "--labels", "\(dir)/train-labels-idx1-ubyte.gz", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let kb = r.stderr.split(separator: "\n").last { $0.hasPrefix("maxrss_kb=") }.flatMap { Double($0.dropFirst(10)) } ?? .infinity
        let output = 60000.0 * 28 * 28 + 2 * 60000 * 8
        print(String(format: "ingest idx (train): peak RSS %.0f MB for %.0f MB of tensors", kb / 1024, output / 1e6))
        XCTAssertLessThan(kb * 1024, 2.5 * output)
        XCTAssertEqual(try TensorFile.read(out).info("images").shape, [60000, 1, 28, 28])
    }
}
