import Foundation
import Images
import TestSupport
import XCTest

/// The report's PNG encoder: the header fields read back here, and Pillow (an independent decoder)
/// gives back exactly the pixels, grey and RGB, odd sizes included.
final class PNGTests: XCTestCase {
    func testHeaderAndPillowRoundTrip() throws {
        for (channels, height, width) in [(1, 3, 5), (3, 7, 2), (3, 1, 1), (1, 28, 28)] {
            let planar = (0..<(channels * height * width)).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 13) }
            let png = planar.withUnsafeBufferPointer { PNG.encode(planar: $0, channels: channels, height: height, width: width) }
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            XCTAssertEqual(String(decoding: png[12..<16], as: UTF8.self), "IHDR")
            func be(_ at: Int) -> Int { png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
            XCTAssertEqual([be(16), be(20), Int(png[24]), Int(png[25])], [width, height, 8, channels == 3 ? 2 : 0])
            guard TestSupport.pythonHas(["PIL"]) else { continue }
            let dir = try TestSupport.scratchDir("png")
            let path = dir.path + "/x.png"
            try Data(png).write(to: URL(fileURLWithPath: path))
            // Pillow's pixels back in planar [C, H, W] order, as one line of numbers
            let code = "import sys; from PIL import Image; im = Image.open(sys.argv[1]); im.load(); c = len(im.getbands()); "
                + "px = list(im.getdata()); px = [p if isinstance(p, tuple) else (p,) for p in px]; "
                + "print(im.mode, ' '.join(str(px[i][k]) for k in range(c) for i in range(len(px))))"
            let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", code, path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let words = r.stdout.split(whereSeparator: \.isWhitespace)
            XCTAssertEqual(String(words[0]), channels == 3 ? "RGB" : "L")
            XCTAssertEqual(words.dropFirst().map { UInt8($0)! }, planar, "\(channels)×\(height)×\(width)")
        }
    }
}
