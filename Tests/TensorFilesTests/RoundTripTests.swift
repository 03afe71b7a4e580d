import Foundation
import StageKit
import TensorFiles
import TestSupport
import XCTest

final class RoundTripTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        let dir = try TestSupport.scratchDir()
        let path = dir.appendingPathComponent("t.safetensors.zst").path
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("u8", [UInt8](0..<6), shape: [2, 3])
        w.add("i32", [Int32(-5), 7], shape: [2])
        w.add("i64", [Int64.min, 0, Int64.max], shape: [3])
        w.add("f16", [Float16(1.5), -2], shape: [2])
        w.add("bf16", [BFloat16(3.25)], shape: [1])
        w.add("f32", [Float(0.1), .infinity], shape: [2, 1])
        w.add("empty", [Float](), shape: [0, 4])
        try w.write(to: path)
        let f = try TensorFile.read(path)
        XCTAssertEqual(f.metadata["stage"], "test")
        XCTAssertEqual(f.checksum, .verified)
        XCTAssertEqual(try f.array("u8", as: UInt8.self), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try f.array("i64", as: Int64.self), [Int64.min, 0, Int64.max])
        XCTAssertEqual(try f.floats("bf16"), [3.25])
        XCTAssertEqual(try f.info("f32").shape, [2, 1])
        XCTAssertEqual(try f.info("empty").shape, [0, 4])
        XCTAssertThrowsError(try f.array("u8", as: Float.self))
    }

    func testSHA256MatchesKnownDigest() {
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Data(repeating: 0x61, count: 1_000_000)
        XCTAssertEqual(SHA256.hex(long), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
