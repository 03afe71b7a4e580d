import NN
import XCTest

/// RegisterGemm (Winograd's products on AVX2 + FMA builds) against a Double triple loop: every row
/// remainder of its 4-row blocks, every column remainder of its 24-column panels (a last
/// whole vector by eight rows at a time), B copied (≥ 64 rows of
/// A) or read in place, k split into 256-row passes, leading dimensions wider than the matrices, and
/// C's stale contents overwritten. An entry must depend only on its row of A and column of B.
final class RegisterGemmTests: XCTestCase {
    func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 2001 - 1000) / 500
        }
    }

    /// C from RegisterGemm for A (m×k, rows lda apart) and B (k×n, rows ldb apart), C's rows ldc apart, padded with NaN.
    func product(_ m: Int, _ n: Int, _ k: Int, _ a: [Float], lda: Int, _ b: [Float], ldb: Int, ldc: Int) -> [Float] {
        var c = [Float](repeating: .nan, count: max(1, m * ldc))
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            RegisterGemm.multiply(m, n, k, a.baseAddress!, lda, b.baseAddress!, ldb, c.baseAddress!, ldc)
        } } }
        return c
    }

    func testMatchesTheDirectProductOnEveryBlockShape() throws {
        try XCTSkipUnless(RegisterGemm.available, "this build has no AVX2 + FMA kernel (Winograd's products stay with sgemm)")
        for (m, n, k) in [(1, 1, 1), (4, 24, 16), (3, 7, 5), (5, 25, 9), (16, 49, 16), (17, 100, 32), (7, 47, 257), (64, 30, 64),
                          (66, 73, 130), (128, 48, 600), (2, 8, 0),
                          (8, 8, 3), (19, 32, 300), (70, 128, 40)] {
            let (lda, ldb, ldc) = (k + 3, n + 5, n + 2)
            let a = random(m * lda, seed: UInt64(m * 1000 + k)), b = random(max(1, k) * ldb, seed: UInt64(n * 1000 + k + 7))
            let c = product(m, n, k, a, lda: lda, b, ldb: ldb, ldc: ldc)
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                    XCTAssertEqual(Double(c[i * ldc + j]), sum, accuracy: 1e-5 * max(1, Double(k)), "m \(m) n \(n) k \(k) C[\(i), \(j)]")
                }
                for j in n..<ldc { XCTAssert(c[i * ldc + j].isNaN, "m \(m) n \(n) k \(k): C[\(i), \(j)] past n written") }
            }
        }
    }

    /// The same entries from a sub-block of rows and columns, bit for bit: the chunking of Winograd's tiles
    /// (and so the thread count's split of the batch) cannot change a product.
    func testAnEntryDependsOnlyOnItsRowAndColumn() throws {
        try XCTSkipUnless(RegisterGemm.available, "this build has no AVX2 + FMA kernel")
        let (m, n, k) = (70, 75, 300)
        let a = random(m * k, seed: 1), b = random(k * n, seed: 2)
        let whole = product(m, n, k, a, lda: k, b, ldb: n, ldc: n)
        let (rows, columns) = (3..<20, 13..<45)          // the sub-block's last 8 columns: eight rows at a time
        let sub = product(rows.count, columns.count, k, Array(a[(rows.lowerBound * k)...]), lda: k,
                          Array(b[columns.lowerBound...]) + [Float](repeating: 0, count: columns.lowerBound), ldb: n, ldc: columns.count)
        for (i, row) in rows.enumerated() {
            for (j, column) in columns.enumerated() {
                XCTAssertEqual(sub[i * columns.count + j].bitPattern, whole[row * n + column].bitPattern, "C[\(row), \(column)]")
            }
        }
    }
}
