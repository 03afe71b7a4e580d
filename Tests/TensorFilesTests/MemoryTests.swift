import Foundation
import TensorFiles
import TestSupport
import XCTest

/// Reading must not need more than about twice a file's uncompressed size: peak RSS of `inspect` (which
/// reads and validates the whole file, and with statistics scans every value) on a ~200 MB file.
final class MemoryTests: XCTestCase {
    func testInspectPeakMemoryOnALargeFile() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "/usr/bin/time needed")
        let dir = try TestSupport.scratchDir()
        let path = dir.appendingPathComponent("big.safetensors.zst").path
        let n = 200_000_000
        var w = TensorFileWriter()
        // Not constant, so the frame holds real blocks; still compresses fast.
        w.add("pixels", [UInt8](unsafeUninitializedCapacity: n) { b, c in
            for i in 0..<n { b[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
            c = n
        }, shape: [n / 1000, 1000])
        w.add("values", [Float](repeating: 0.5, count: 1_000_000), shape: [1_000_000])
        try w.write(to: path)
        let uncompressed = Double(n + 4_000_000)
        for args in [["--no-stats"], []] {
            let r = try TestSupport.run("/usr/bin/time", ["-f", "maxrss_kb=%M", TestSupport.binDir.appendingPathComponent("inspect").path] + args + [path])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("pixels  U8   [200000, 1000]"), r.stdout)
            guard let line = r.stderr.split(separator: "\n").last(where: { $0.hasPrefix("maxrss_kb=") }),
                  let kb = Double(line.dropFirst("maxrss_kb=".count)) else { return XCTFail("no RSS in: \(r.stderr)") }
            let ratio = kb * 1024 / uncompressed
            print(String(format: "inspect %@: peak RSS %.0f MB for %.0f MB uncompressed (%.2f×)", args.joined(), kb / 1024, uncompressed / 1e6, ratio))
            XCTAssertLessThan(ratio, 2.0, "inspect \(args) needed \(kb / 1024) MB")
        }
    }
}
