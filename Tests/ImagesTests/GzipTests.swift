import Foundation
import Images
import StageKit
import TestSupport
import XCTest

/// Gzip (through zlib) against Python's zlib/gzip: every block type, header flags, multi-member files,
/// damaged files, and the real Fashion-MNIST archives (checked against Python's own decompression).
final class GzipTests: XCTestCase {
    func bytes(_ url: URL) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: url.path)!) }

    func testMatchesPythonOnEveryBlockType() throws {
        let dir = try TestSupport.scratchDir("ns-gzip")
        let r = try TestSupport.python("make_images_gzip_cases.py", [dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String]
        XCTAssertGreaterThan(names.count, 10)
        for name in names {
            let gz = dir.appendingPathComponent("\(name).gz"), raw = dir.appendingPathComponent("\(name).raw")
            let got = try Gzip.decompress(bytes(gz), path: gz.path)
            XCTAssertEqual(got.count, bytes(raw).count, name)
            XCTAssertTrue(got == bytes(raw), "\(name): decompressed bytes differ")
        }
    }

    func testDamagedFilesAreRejectedWithAMessage() throws {
        let dir = try TestSupport.scratchDir("ns-gzip")
        XCTAssertEqual(try TestSupport.python("make_images_gzip_cases.py", [dir.path]).status, 0)
        let good = bytes(dir.appendingPathComponent("skewed_level9.gz"))
        var flipped = good
        flipped[flipped.count - 6] ^= 0x01                          // inside the stored CRC-32
        var body = good
        body[good.count / 2] ^= 0x55                                // inside the compressed data
        let cases: [(String, [UInt8], String)] = [
            ("truncated", Array(good[0..<(good.count / 2)]), "corrupt gzip file"),
            ("no trailer", Array(good[0..<(good.count - 8)]), "corrupt gzip file"),
            ("crc", flipped, "CRC-32 mismatch"),
            ("body", body, "corrupt gzip file"),
            ("trailing", good + [1, 2, 3], "trailing garbage"),
            ("magic", [0x42, 0x5A, 0x68] + good.dropFirst(3), "not a gzip file"),
            ("method", [0x1F, 0x8B, 7] + good.dropFirst(3), "unknown compression method 7"),
        ]
        for (what, data, expected) in cases {
            XCTAssertThrowsError(try Gzip.decompress(data, path: "x.gz"), what) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("x.gz: ") && text.contains(expected), "\(what): \(text)")
            }
        }
    }

    func testRealFashionMNISTMatchesPythonAndReportsThroughput() throws {
        let path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: path), "dataset-fashion-mnist not installed")
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c",
            "import gzip, hashlib, sys; d = gzip.open(sys.argv[1]).read(); print(len(d), hashlib.sha256(d).hexdigest())", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let compressed = [UInt8](FileManager.default.contents(atPath: path)!)
        // Thread CPU time, so that other processes competing for the cores don't distort the number.
        func cpuSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
        }
        let start = cpuSeconds()
        let out = try Gzip.decompress(compressed, path: path)
        let seconds = cpuSeconds() - start
        XCTAssertEqual("\(out.count) \(SHA256.hex(out))", r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        // Measured, not asserted (the brief: no timing assertions in tests).
        print(String(format: "gzip (zlib) + CRC-32: %.1f MB out in %.3f s CPU = %.0f MB/s", Double(out.count) / 1e6, seconds, Double(out.count) / 1e6 / seconds))
    }

    /// A small file that inflates past the limit fails when the limit is crossed, not after.
    func testOutputIsBoundedWhileInflating() throws {
        let dir = try TestSupport.scratchDir("ns-gzip")
        let bomb = dir.appendingPathComponent("zeros.gz").path
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c",
            "import gzip, sys; open(sys.argv[1], 'wb').write(gzip.compress(bytes(64 << 20), 9))", bomb])
        XCTAssertEqual(r.status, 0, r.stderr)
        let compressed = [UInt8](FileManager.default.contents(atPath: bomb)!)
        XCTAssertLessThan(compressed.count, 1 << 20)
        XCTAssertThrowsError(try Gzip.decompress(compressed, path: bomb, limit: 16 << 20)) { error in
            XCTAssertTrue("\(error)".contains("inflates to more than 16 MiB"), "\(error)")
        }
        XCTAssertEqual(try Gzip.decompress(compressed, path: bomb, limit: 64 << 20).count, 64 << 20)
    }

    func testCRC32KnownValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
    }
}

/// Damaged input must give an error or (rarely) a CRC-checked result — never a crash or an over-read.
final class InflateRobustnessTests: XCTestCase {
    func testRandomDamageNeverCrashes() throws {
        let dir = try TestSupport.scratchDir("ns-gzip")
        XCTAssertEqual(try TestSupport.python("make_images_gzip_cases.py", [dir.path]).status, 0)
        var rng = RNG(seed: 5)
        var failures = 0
        for name in ["words_fixed", "skewed_level9", "header_flags", "random_stored"] {
            let good = [UInt8](FileManager.default.contents(atPath: dir.appendingPathComponent("\(name).gz").path)!)
            for trial in 0..<150 {
                var bad = good
                if trial % 3 == 0 {
                    bad.removeLast(rng.below(bad.count))                       // truncation
                } else {
                    for _ in 0..<(1 + rng.below(4)) {                          // flipped bits in the deflate data
                        let at = 10 + rng.below(bad.count - 10)
                        bad[at] ^= UInt8(1 << rng.below(8))
                    }
                }
                do { _ = try Gzip.decompress(bad, path: "f.gz") } catch { failures += 1 }
            }
        }
        XCTAssertGreaterThan(failures, 500)   // nearly every damaged file is caught (CRC-32 catches the rest)
    }
}
