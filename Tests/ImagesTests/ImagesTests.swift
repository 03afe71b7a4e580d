import Foundation
import Images
import StageKit
import TestSupport
import XCTest

final class SubsetTests: XCTestCase {
    func testPositions() throws {
        XCTAssertEqual(Subset().positions(total: 4), [0, 1, 2, 3])
        XCTAssertEqual(Subset(limit: 2).positions(total: 4), [0, 1])
        XCTAssertEqual(Subset(limit: 0, shard: 1, shards: 3).positions(total: 10), [1, 4, 7])
        XCTAssertEqual(Subset(limit: 2, shard: 2, shards: 3).positions(total: 10), [2, 5])
        XCTAssertEqual(Subset(limit: 9, shard: 0, shards: 1).positions(total: 3), [0, 1, 2])
        // The shards of a split partition it.
        let parts = (0..<4).flatMap { Subset(shard: $0, shards: 4).positions(total: 23) }
        XCTAssertEqual(parts.sorted(), Array(0..<23))
    }

    func testShardParsing() throws {
        XCTAssertTrue(try Subset.parseShard("2/5") == (2, 5))
        for bad in ["5/5", "-1/2", "1", "a/b", "1/0", "1/2/3"] {
            XCTAssertThrowsError(try Subset.parseShard(bad), bad)
        }
    }
}

final class ResizeTests: XCTestCase {
    func resize(_ src: [UInt8], _ w: Int, _ h: Int, _ c: Int, _ s: Int) -> [UInt8] {
        var dst = [UInt8](repeating: 0, count: c * s * s)   // [C, S, S]
        src.withUnsafeBufferPointer { p in
            dst.withUnsafeMutableBufferPointer { ResizeCrop.shorterSideThenCenterCrop(p.baseAddress!, width: w, height: h, channels: c, size: s, into: $0.baseAddress!) }
        }
        return dst
    }

    func testSameSizeIsTheIdentityInPlanarOrder() {
        let w = 5, h = 5, c = 3
        let src = (0..<(w * h * c)).map { UInt8(($0 * 37) % 256) }   // [H, W, C]
        var planar = [UInt8](repeating: 0, count: src.count)
        src.withUnsafeBufferPointer { p in planar.withUnsafeMutableBufferPointer { ResizeCrop.planar(p.baseAddress!, width: w, height: h, channels: c, into: $0.baseAddress!) } }
        XCTAssertEqual(resize(src, w, h, c, 5), planar)
        XCTAssertEqual(planar[1 * 25 + 2 * 5 + 3], src[(2 * 5 + 3) * 3 + 1])
    }

    func testConstantStaysConstantAndCropIsCentred() {
        XCTAssertEqual(Set(resize([UInt8](repeating: 77, count: 31 * 12), 31, 12, 1, 7)), [77])
        // A wide image whose left and right thirds differ: the centre crop sees only the middle third.
        let w = 30, h = 10
        let src = (0..<(w * h)).map { i -> UInt8 in let x = i % w; return x < 10 ? 0 : (x < 20 ? 100 : 200) }
        XCTAssertEqual(Set(resize(src, w, h, 1, 10)), [100])
        // Downscaling by exactly 2 averages 2×2 blocks with these pixel-centre conventions.
        let ramp = (0..<(8 * 8)).map { UInt8(($0 % 8) * 10) }
        let half = resize(ramp, 8, 8, 1, 4)
        XCTAssertEqual(Array(half[0..<4]), [5, 25, 45, 65])
    }

    func testTurboJPEGScalingMatchesDjpegScale() throws {
        try XCTSkipUnless(TestSupport.pythonHas(["PIL", "numpy"]) && FileManager.default.isExecutableFile(atPath: "/usr/bin/djpeg"), "Pillow and djpeg needed")
        let dir = try TestSupport.scratchDir()
        let jpg = dir.appendingPathComponent("x.jpg").path
        let make = "import numpy as np, sys; from PIL import Image; r = np.random.default_rng(1); " +
            "Image.fromarray((np.add.outer(np.arange(77), np.arange(61))[..., None] * [1, 2, 3] % 256).astype(np.uint8)).save(sys.argv[1], quality=85)"
        XCTAssertEqual(try TestSupport.run("/usr/bin/env", ["python3", "-c", make, jpg]).status, 0)
        let bytes = [UInt8](FileManager.default.contents(atPath: jpg)!)
        let decoder = try JPEGDecoder()
        let full = try decoder.size(bytes, path: jpg)
        XCTAssertTrue(full == (61, 77))
        XCTAssertTrue(JPEGDecoder.scaledSize(width: 61, height: 77, target: 16) == (16, 20))   // 1/4
        XCTAssertTrue(JPEGDecoder.scaledSize(width: 61, height: 77, target: 40) == (61, 77))   // none
        for (k, target) in [(4, 16), (2, 30), (1, 40)] {
            let s = JPEGDecoder.scaledSize(width: 61, height: 77, target: target)
            let got = try decoder.decode(bytes, path: jpg, width: s.width, height: s.height, color: .rgb)
            let ppm = dir.appendingPathComponent("x\(k).ppm").path
            let r = try TestSupport.run("/usr/bin/djpeg", ["-pnm", "-scale", "1/\(k)", "-outfile", ppm, jpg])
            XCTAssertEqual(r.status, 0, r.stderr)
            let want = [UInt8](FileManager.default.contents(atPath: ppm)!)
            XCTAssertEqual(Array(want.suffix(got.count)), got, "scale 1/\(k)")
            XCTAssertTrue(String(decoding: want.prefix(20), as: UTF8.self).hasPrefix("P6\n\(s.width) \(s.height)\n255\n"), "scale 1/\(k)")
        }
    }

    func testCorruptJPEGIsAnErrorNotACrash() throws {
        let decoder = try JPEGDecoder()
        XCTAssertThrowsError(try decoder.size([0xFF, 0xD8, 0xFF], path: "a.jpg")) { XCTAssertTrue("\($0)".hasPrefix("a.jpg: corrupt JPEG header")) }
        XCTAssertThrowsError(try decoder.size([], path: "b.jpg"))
    }
}
