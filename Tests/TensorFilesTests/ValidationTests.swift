import Foundation
import TensorFiles
import TestSupport
import XCTest

/// Every fault the reader must reject, built byte by byte by scripts/make_tensorfiles_faults.py, with the
/// message each must produce; several also through the `inspect` binary (exit 1, one stderr line, no file).
final class ValidationTests: XCTestCase {
    static let expectedMessages: [String: String] = [
        "bad_magic": "not a zstd frame (magic 0x73696874)",
        "plain_safetensors": "not zstd-compressed (looks like a plain .safetensors file",
        "truncated": "truncated or corrupt zstd frame",
        "no_content_size": "zstd frame does not record its content size",
        "checksum": "checksum mismatch",
        "trailing_garbage": "trailing garbage: 8 bytes after the zstd frame",
        "header_too_big": "safetensors header length 1099511627776 exceeds the limit of 100000000 bytes",
        "header_too_small": "safetensors header length 1 is too small",
        "header_past_end": "safetensors header length 5000 exceeds the file's 7 remaining bytes",
        "header_not_json": "safetensors header is not valid JSON",
        "header_not_object": "safetensors header is not a JSON object",
        "metadata_not_strings": "__metadata__ value for 'epoch' is not a string",
        "metadata_not_object": "__metadata__ is not a JSON object",
        "entry_not_object": "entry for tensor 'a' is not a JSON object",
        "unknown_dtype": "tensor 'a' has unsupported dtype 'Q7'",
        "negative_dim": "tensor 'a' has an invalid dimension -4 in its shape",
        "float_dim": "tensor 'a' has an invalid dimension 4.0 in its shape",
        "bool_dim": "tensor 'a' has an invalid dimension true in its shape",
        "size_mismatch": "tensor 'a': shape [2, 3] × F32 needs 24 bytes but data_offsets span 16",
        "overlapping": "tensor 'b' overlaps the previous tensor (offset 4 < 8)",
        "out_of_range": "tensor 'a' data_offsets [0, 32] run past the data section (16 bytes)",
        "reversed_offsets": "tensor 'a' has data_offsets [8, 4] out of order",
        "gap": "gap in the data section before tensor 'b' (offset 8, expected 4)",
        "uncovered_bytes": "data section has 12 bytes not covered by any tensor",
        "empty_file": "file too short to be a zstd frame (0 bytes)",
    ]

    static let faultDir: URL = {
        let dir = try! TestSupport.scratchDir("ns-faults")
        let r = try! TestSupport.python("make_tensorfiles_faults.py", [dir.path])
        precondition(r.status == 0, "make_tensorfiles_faults.py failed: \(r.stderr)")
        return dir
    }()

    func path(_ fault: String) -> String { Self.faultDir.appendingPathComponent("\(fault).safetensors.zst").path }

    func testGoodFileReads() throws {
        let f = try TensorFile.read(path("good"))
        XCTAssertEqual(f.names, ["a", "b"])
        XCTAssertEqual(try f.array("a", as: UInt8.self), [0, 1, 2, 3])
        XCTAssertEqual(f.metadata, ["stage": "test"])
        XCTAssertEqual(f.checksum, .verified)
    }

    func testEveryFaultHasItsOwnMessage() throws {
        let made = Set(TestSupport.listing(Self.faultDir).map { String($0.dropLast(".safetensors.zst".count)) })
        XCTAssertEqual(made.subtracting(["good"]), Set(Self.expectedMessages.keys), "fault list and expectations disagree")
        for (fault, expected) in Self.expectedMessages.sorted(by: { $0.key < $1.key }) {
            let p = path(fault)
            do {
                _ = try TensorFile.read(p)
                XCTFail("\(fault): read without error")
            } catch let e as TensorFileError {
                XCTAssertEqual(e.path, p, fault)
                XCTAssertTrue(e.message.contains(expected), "\(fault): got '\(e.message)', expected '\(expected)'")
                XCTAssertFalse(e.description.contains("\n"), "\(fault): message spans lines")
                XCTAssertTrue(e.description.hasPrefix(p + ": "), fault)
            } catch {
                XCTFail("\(fault): unexpected error type \(error)")
            }
        }
    }

    /// A frame that declares a huge content size (a run-length block claims 3 GiB from 17 bytes) is
    /// refused from its header, before anything is allocated.
    func testDeclaredContentSizeIsBounded() throws {
        let dir = try TestSupport.scratchDir()
        let path = dir.appendingPathComponent("claims.safetensors.zst").path
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0]                   // magic; single segment, 8-byte content size
        withUnsafeBytes(of: UInt64(3 << 30).littleEndian) { frame += $0 }
        frame += [0x0B, 0x00, 0x00, 0x00]                                        // last block, RLE, one byte: 0
        FileManager.default.createFile(atPath: path, contents: Data(frame))
        XCTAssertThrowsError(try TensorFile.read(path)) {
            XCTAssertTrue(($0 as? TensorFileError)?.message.contains("claims 3221225472 bytes, over the limit") == true, "\($0)")
        }
        XCTAssertEqual(TensorFile.decompressedLimit(compressed: 100 << 20), min(ProcessInfo.processInfo.physicalMemory, 3200 << 20))
        XCTAssertEqual(TensorFile.decompressedLimit(compressed: 1000), min(ProcessInfo.processInfo.physicalMemory, 256 << 20))
    }

    func testMissingFileAndFolder() throws {
        let dir = try TestSupport.scratchDir()
        XCTAssertThrowsError(try TensorFile.read(dir.appendingPathComponent("nope.safetensors.zst").path)) {
            XCTAssertEqual(($0 as? TensorFileError)?.message, "no such file")
        }
        XCTAssertThrowsError(try TensorFile.read(dir.path)) {
            XCTAssertTrue(($0 as? TensorFileError)?.message.contains("is a folder") == true)
        }
    }

    /// Through the binary: exit status 1, exactly one stderr line naming the file and the fault, nothing on
    /// stdout, and no file left behind in the folder.
    func testInspectRejectsBadFiles() throws {
        let faults = ["bad_magic", "plain_safetensors", "truncated", "checksum", "trailing_garbage",
                      "header_not_json", "unknown_dtype", "overlapping", "uncovered_bytes", "no_content_size"]
        let before = TestSupport.listing(Self.faultDir)
        for fault in faults {
            let r = try TestSupport.runStage("inspect", ["--no-stats", path(fault)])
            XCTAssertEqual(r.status, 1, fault)
            XCTAssertEqual(r.stdout, "", fault)
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(lines.count, 2, "\(fault): stderr was \(r.stderr)")  // one line plus the final newline
            XCTAssertTrue(r.stderr.hasPrefix("inspect: error: \(path(fault)): \(Self.expectedMessages[fault]!)"),
                          "\(fault): stderr was \(r.stderr)")
        }
        XCTAssertEqual(TestSupport.listing(Self.faultDir), before, "inspect left files behind")
    }

    func testInspectListsAGoodFile() throws {
        let r = try TestSupport.runStage("inspect", [path("good")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("zstd checksum: verified"), r.stdout)
        XCTAssertTrue(r.stdout.contains("a  U8   [4]  min 0  max 3  mean 1.5"), r.stdout)
        // b is bytes 4…15 read as little-endian Int32: 0x07060504, 0x0B0A0908, 0x0F0E0D0C.
        XCTAssertTrue(r.stdout.contains("b  I32  [3]  min 1.17835e+08  max 2.52579e+08  mean 1.85207e+08"), r.stdout)
        XCTAssertTrue(r.stdout.contains("stage: test"), r.stdout)
    }
}
