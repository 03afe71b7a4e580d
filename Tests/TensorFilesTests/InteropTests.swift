import Foundation
import TensorFiles
import TestSupport
import XCTest

/// Bit-exact exchange with Python (numpy + safetensors + zstandard) in both directions, every dtype.
/// Both sides build the expected values from the same integer recipe (see scripts/ref_tensorfiles_interop.py),
/// as bit patterns, so NaNs, infinities and subnormals are covered too.
final class InteropTests: XCTestCase {
    static let n = 37
    static let metadata = ["stage": "interop", "note": "ünïcode \"quoted\"\tand a newline\n", "empty": ""]

    static func words32(_ salt: UInt64) -> [UInt32] {
        (0..<UInt64(n)).map { UInt32(truncatingIfNeeded: $0 &* 2_654_435_761 &+ salt) }
    }

    static var u8: [UInt8] { words32(12345).map { UInt8(truncatingIfNeeded: $0) } }
    static var i32: [Int32] { words32(777).map { Int32(bitPattern: $0) } }
    static var i64: [Int64] {
        (0..<UInt64(n)).map { Int64(bitPattern: $0 &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407) }
    }
    // The first words of the float tensors: a NaN with payload, -inf, the smallest subnormal, -0.
    static func special<W>(_ words: [W], _ first: [W]) -> [W] { first + words.dropFirst(first.count) }
    static var f16: [Float16] {
        special(words32(99).map { UInt16($0 >> 16) }, [0x7E01, 0xFC00, 0x0001, 0x8000]).map(Float16.init(bitPattern:))
    }
    static var f32: [Float] { special(words32(4242), [0x7FC0_0001, 0xFF80_0000, 0x0000_0001, 0x8000_0000]).map(Float.init(bitPattern:)) }
    static var bf16: [BFloat16] {
        special(words32(31337).map { UInt16($0 & 0xFFFF) }, [0x7FC1, 0xFF80, 0x0001, 0x8000]).map(BFloat16.init(bits:))
    }

    func requirePython() throws {
        try XCTSkipUnless(TestSupport.pythonHas(["numpy", "safetensors", "zstandard"]), "python3 with numpy/safetensors/zstandard needed")
    }

    func write(_ path: String, bf16: Bool) throws {
        var w = TensorFileWriter(metadata: Self.metadata)
        w.add("u8", Self.u8, shape: [1, Self.n])
        w.add("i32", Self.i32, shape: [Self.n])
        w.add("i64", Self.i64, shape: [Self.n])
        w.add("f16", Self.f16, shape: [Self.n])
        if bf16 { w.add("bf16", Self.bf16, shape: [Self.n]) }
        w.add("empty", [Float](), shape: [0, 3])
        w.add("f32", Self.f32, shape: [Self.n, 1])
        try w.write(to: path)
    }

    func testSwiftWrittenFileLoadsBitExactInPython() throws {
        try requirePython()
        let dir = try TestSupport.scratchDir()
        for withBF16 in [true, false] {
            let p = dir.appendingPathComponent("swift-\(withBF16).safetensors.zst").path
            try write(p, bf16: withBF16)
            let r = try TestSupport.python("ref_tensorfiles_interop.py", ["check", p])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("\"numpy_loader\": \(withBF16 ? "false" : "true")"), r.stdout)
        }
    }

    func testPythonWrittenFileLoadsBitExactInSwift() throws {
        try requirePython()
        let dir = try TestSupport.scratchDir()
        let p = dir.appendingPathComponent("python.safetensors.zst").path
        let r = try TestSupport.python("ref_tensorfiles_interop.py", ["write", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        let f = try TensorFile.read(p)
        XCTAssertEqual(f.checksum, .verified)
        XCTAssertEqual(f.metadata, Self.metadata)
        XCTAssertEqual(Set(f.names), ["u8", "i32", "i64", "f16", "bf16", "f32", "empty"])
        XCTAssertEqual(try f.array("u8", as: UInt8.self, shape: [1, Self.n]), Self.u8)
        XCTAssertEqual(try f.array("i32", as: Int32.self, shape: [Self.n]), Self.i32)
        XCTAssertEqual(try f.array("i64", as: Int64.self, shape: [Self.n]), Self.i64)
        XCTAssertEqual(try f.array("f16", as: Float16.self).map(\.bitPattern), Self.f16.map(\.bitPattern))
        XCTAssertEqual(try f.array("bf16", as: BFloat16.self).map(\.bits), Self.bf16.map(\.bits))
        XCTAssertEqual(try f.array("f32", as: Float.self, shape: [Self.n, 1]).map(\.bitPattern), Self.f32.map(\.bitPattern))
        XCTAssertEqual(try f.info("empty").shape, [0, 3])
        // The recipe does produce the special values this test claims to cover.
        XCTAssertTrue(Self.f32[0].isNaN && Self.f32[1] == -.infinity && Self.f32[2].isSubnormal && Self.f32[3].sign == .minus)
        XCTAssertTrue(Self.f16[0].isNaN && Self.f16[1] == -.infinity && Self.f16[2].isSubnormal)
    }

    func testWriterIsDeterministic() throws {
        let dir = try TestSupport.scratchDir()
        let a = dir.appendingPathComponent("a.safetensors.zst").path, b = dir.appendingPathComponent("b.safetensors.zst").path
        try write(a, bf16: true)
        try write(b, bf16: true)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))
        XCTAssertEqual(TestSupport.listing(dir), ["a.safetensors.zst", "b.safetensors.zst"], "temporary files left behind")
    }
}
