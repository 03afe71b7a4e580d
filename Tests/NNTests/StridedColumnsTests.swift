import NN
import XCTest

/// The Float stride-2 im2col and col2im (StridedColumns.swift) against the plain loops that define them,
/// bit for bit: rows shorter than, equal to and longer than one block of 16 output columns, odd and even
/// sizes, a chunk that starts inside the batch, both kernels; every col entry written.
final class StridedColumnsTests: XCTestCase {
    let sizes = [(28, 28), (14, 14), (7, 7), (4, 4), (1, 1), (2, 2), (3, 5), (9, 8), (5, 31), (6, 32), (4, 33), (3, 64), (2, 67)]
    let (channels, batch, b0, nb) = (3, 5, 1, 3)

    func output(_ n: Int, _ k: Int) -> Int { (n + 2 * (k / 2) - k) / 2 + 1 }

    /// col[(c, ky, kx), (i, oy, ox)] = x[c, b0 + i, 2·oy − p + ky, 2·ox − p + kx], 0 outside: Im2colConvolution's definition.
    func referenceIm2col(_ x: [Float], h: Int, w: Int, k: Int) -> [Float] {
        let (p, ho, wo) = (k / 2, output(h, k), output(w, k))
        var col = [Float](repeating: 0, count: channels * k * k * nb * ho * wo)
        for c in 0..<channels { for ky in 0..<k { for kx in 0..<k { for i in 0..<nb { for oy in 0..<ho { for ox in 0..<wo {
            let (iy, ix) = (2 * oy - p + ky, 2 * ox - p + kx)
            let r = (c * k + ky) * k + kx
            col[r * nb * ho * wo + (i * ho + oy) * wo + ox] =
                iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((c * batch + b0 + i) * h + iy) * w + ix] : 0
        } } } } } }
        return col
    }

    /// Each pixel's sum of the col entries im2col took from it, (ky, kx) in order, each onto the sum so far.
    func referenceCol2im(_ col: [Float], h: Int, w: Int, k: Int, into dx: inout [Float]) {
        let (p, ho, wo) = (k / 2, output(h, k), output(w, k))
        for c in 0..<channels { for i in 0..<nb { for j in 0..<(h * w) { dx[(c * batch + b0 + i) * h * w + j] = 0 } } }
        for c in 0..<channels { for ky in 0..<k { for kx in 0..<k { for i in 0..<nb { for oy in 0..<ho { for ox in 0..<wo {
            let (iy, ix) = (2 * oy - p + ky, 2 * ox - p + kx)
            guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
            dx[((c * batch + b0 + i) * h + iy) * w + ix] += col[((c * k + ky) * k + kx) * nb * ho * wo + (i * ho + oy) * wo + ox]
        } } } } } }
    }

    func values(_ n: Int, seed: UInt64) -> [Float] {
        randomArray(n, seed: seed).enumerated().map { $0.offset % 11 == 3 ? -0.0 : Float($0.element) }
    }

    func assertBitIdentical(_ fast: [Float], _ reference: [Float], _ what: String) {
        XCTAssertEqual(fast.count, reference.count, what)
        for i in 0..<min(fast.count, reference.count) where fast[i].bitPattern != reference[i].bitPattern {
            XCTFail("\(what): entry \(i) is \(fast[i]) vs \(reference[i]) (reference)"); return
        }
    }

    func testCoversTheStrideTwoLayersOnly() {
        XCTAssertTrue(StridedColumns.covers(kernel: 3, stride: 2, padding: 1))
        XCTAssertTrue(StridedColumns.covers(kernel: 1, stride: 2, padding: 0))
        for (k, s, p) in [(3, 1, 1), (3, 2, 0), (1, 2, 1), (1, 1, 0), (7, 2, 3), (5, 2, 2)] {
            XCTAssertFalse(StridedColumns.covers(kernel: k, stride: s, padding: p), "k\(k) s\(s) p\(p)")
        }
    }

    func testIm2colMatchesReference() {
        for (h, w) in sizes { for k in [1, 3] {
            let (ho, wo) = (output(h, k), output(w, k))
            let x = values(channels * batch * h * w, seed: UInt64(h * 100 + w))
            var col = [Float](repeating: .nan, count: channels * k * k * nb * ho * wo)
            x.withUnsafeBufferPointer { xs in col.withUnsafeMutableBufferPointer { cs in
                StridedColumns.im2col(xs.baseAddress!, channels: channels, batch: batch, h: h, w: w, kernel: k,
                                      b0: b0, nb: nb, ho: ho, wo: wo, into: cs.baseAddress!)
            } }
            assertBitIdentical(col, referenceIm2col(x, h: h, w: w, k: k), "im2col \(h)×\(w) k\(k)")
        } }
    }

    func testCol2imMatchesReference() {
        for (h, w) in sizes { for k in [1, 3] {
            let (ho, wo) = (output(h, k), output(w, k))
            let col = values(channels * k * k * nb * ho * wo, seed: UInt64(h * 100 + w + 7))
            let stale = values(channels * batch * h * w, seed: 5)          // other images' planes must stay as they are
            var dx = stale, expected = stale
            col.withUnsafeBufferPointer { cs in dx.withUnsafeMutableBufferPointer { ds in
                StridedColumns.col2im(from: cs.baseAddress!, channels: channels, batch: batch, h: h, w: w, kernel: k,
                                      b0: b0, nb: nb, ho: ho, wo: wo, into: ds.baseAddress!)
            } }
            referenceCol2im(col, h: h, w: w, k: k, into: &expected)
            assertBitIdentical(dx, expected, "col2im \(h)×\(w) k\(k)")
        } }
    }
}
