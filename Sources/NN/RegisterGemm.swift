/// C (m×n) = A (m×k)·B (k×n), row-major Float, C overwritten: Winograd's products M[ξ] = U[ξ]·V[ξ] in the
/// forward pass and the input gradient (WinogradTiling.convolve), whose m and k are channel counts (1–128) and
/// n a chunk's tiles. On these shapes OpenBLAS first zeroes C (its beta pass: a memset of the whole output,
/// ≈ 2 % of a one-thread width-16 step under perf) and packs both operands on every call; this kernel keeps a
/// 4×24 block of sums in twelve AVX registers and reads A and B where they lie. Whole MoCo step, `bench engine
/// --ab --blas-products` (B: OpenBLAS): see ConvolutionPolicy.registerProducts.
/// Each entry is one chain of fused multiply-adds over p = 0 ..< k in order (k taken `depth` rows at a
/// time so B's panel stays in L1; the running sum is stored and reloaded unchanged between them), so a
/// value depends only on its row of A and column of B: not on m, n, the workers or the BLAS core.
/// Used only by builds for AVX2 + FMA (Package.swift): elsewhere each fused multiply-add would be a
/// library call, and the products stay with sgemm.
public enum RegisterGemm {
    typealias F8 = SIMD8<Float>
    /// Rows of B per pass over a 24-column panel: 256 × 24 floats = 24 KiB, within L1 beside A's rows.
    static let depth = 256
    /// From this many rows of A on, each 24-column panel of B is copied before use (see multiply).
    static let copyingRows = 64

    /// Whether this build compiles the kernel to AVX2 fused multiply-adds.
    public static let available: Bool = {
        #if NS_AVX2
        return true
        #else
        return false
        #endif
    }()

    public static func multiply(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }; return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: depth * 24 + 4 * 24) { scratch in
            let panelB = scratch.baseAddress!, edgeC = panelB + depth * 24   // [kc, 24] B's panel; [4, 24] C of a last, narrower one
            var p0 = 0
            while p0 < k {
                let kc = min(depth, k - p0), first = p0 == 0
                let (ap, bp) = (a + p0, b + p0 * ldb)
                var j = 0
                while j < n {
                    // A full panel is read in place, or copied first where it is reused by many rows: B's rows a
                    // power of two apart (n = 128 at 7×7 and 4×4) share a few L1 sets (≈ 0.7× the rate at n = 120),
                    // and the copy costs 1/m of the products. The last, narrower panel is copied too, by whole vectors
                    // (not a memmove and a memset call per row: see VectorKernels.copyShort): its lanes past `width` hold whatever
                    // follows the row inside B (zeros where that would pass B's last entry), and reach only columns of
                    // edgeC that are never stored.
                    let width = min(24, n - j)
                    if width < 24 || m >= copyingRows {
                        for p in 0..<kc {
                            let (from, to) = (bp + p * ldb + j, panelB + p * 24)
                            if (p0 + p) * ldb + j + 24 <= (k - 1) * ldb + n { copy24(from, to) }
                            else { store(F8(), to); store(F8(), to + 8); store(F8(), to + 16); VectorKernels.copyShort(from, width, to) }
                        }
                    }
                    if width == 24 {
                        if m >= copyingRows { panel3(m, ap, lda, panelB, 24, kc, c + j, ldc, first) }
                        else { panel3(m, ap, lda, bp + j, ldb, kc, c + j, ldc, first) }
                    } else if width == 8 {
                        // One whole vector (n = 128 at 7×7 and 4×4: five panels and this): eight rows share each load
                        // of B and store straight into C (the edge path below takes four rows, through a copy of C).
                        var i = 0
                        while i + 8 <= m { column8(ap + i * lda, lda, panelB, 24, kc, c + i * ldc + j, ldc, first); i += 8 }
                        if i < m { panel1(m - i, ap + i * lda, lda, panelB, 24, kc, c + i * ldc + j, ldc, first) }
                    } else {
                        // The last n mod 24 columns: as few vectors as cover them, C through edgeC.
                        var i = 0
                        while i < m {
                            let rows = min(4, m - i)
                            for r in 0..<rows where !first { VectorKernels.copyShort(c + (i + r) * ldc + j, width, edgeC + r * 24) }
                            switch (width + 7) / 8 {
                            case 1: panel1(rows, ap + i * lda, lda, panelB, 24, kc, edgeC, 24, first)
                            case 2: panel2(rows, ap + i * lda, lda, panelB, 24, kc, edgeC, 24, first)
                            default: panel3(rows, ap + i * lda, lda, panelB, 24, kc, edgeC, 24, first)
                            }
                            for r in 0..<rows { VectorKernels.copyShort(edgeC + r * 24, width, c + (i + r) * ldc + j) }
                            i += rows
                        }
                    }
                    j += 24
                }
                p0 += kc
            }
        }
    }

    // One entry point per panel width, so each has its own copy of the loops with `vectors` constant.
    @inline(never) static func panel3(_ m: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ first: Bool) {
        panel(vectors: 3, m, a, lda, b, ldb, k, c, ldc, first)
    }
    @inline(never) static func panel2(_ m: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ first: Bool) {
        panel(vectors: 2, m, a, lda, b, ldb, k, c, ldc, first)
    }
    @inline(never) static func panel1(_ m: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ first: Bool) {
        panel(vectors: 1, m, a, lda, b, ldb, k, c, ldc, first)
    }

    /// C[8, 8] (+)= A[8, k]·B[k, 8]: eight rows' sums of one vector in registers.
    @inline(never) static func column8(_ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ first: Bool) {
        @inline(__always) func start(_ r: Int) -> F8 { first ? F8() : load(c + r * ldc) }
        var (s0, s1, s2, s3) = (start(0), start(1), start(2), start(3))
        var (s4, s5, s6, s7) = (start(4), start(5), start(6), start(7))
        let (a0, a1, a2, a3) = (a, a + lda, a + 2 * lda, a + 3 * lda)
        let (a4, a5, a6, a7) = (a + 4 * lda, a + 5 * lda, a + 6 * lda, a + 7 * lda)
        var pb = b
        for p in 0..<k {
            let v = load(pb)
            s0 = s0.addingProduct(F8(repeating: a0[p]), v); s1 = s1.addingProduct(F8(repeating: a1[p]), v)
            s2 = s2.addingProduct(F8(repeating: a2[p]), v); s3 = s3.addingProduct(F8(repeating: a3[p]), v)
            s4 = s4.addingProduct(F8(repeating: a4[p]), v); s5 = s5.addingProduct(F8(repeating: a5[p]), v)
            s6 = s6.addingProduct(F8(repeating: a6[p]), v); s7 = s7.addingProduct(F8(repeating: a7[p]), v)
            pb += ldb
        }
        store(s0, c); store(s1, c + ldc); store(s2, c + 2 * ldc); store(s3, c + 3 * ldc)
        store(s4, c + 4 * ldc); store(s5, c + 5 * ldc); store(s6, c + 6 * ldc); store(s7, c + 7 * ldc)
    }

    /// C[m, 8·vectors] (+)= A[m, k]·B[k, 8·vectors] : four rows at a time, then one.
    @inline(__always)
    static func panel(vectors: Int, _ m: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ first: Bool) {
        var i = 0
        while i + 4 <= m { block4(vectors: vectors, a + i * lda, lda, b, ldb, k, c + i * ldc, ldc, first); i += 4 }
        while i < m { block1(vectors: vectors, a + i * lda, b, ldb, k, c + i * ldc, first); i += 1 }
    }

    @inline(__always)
    static func block1(vectors: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                       _ c: UnsafeMutablePointer<Float>, _ first: Bool) {
        @inline(__always) func start(_ v: Int) -> F8 { first || v >= vectors ? F8() : load(c + 8 * v) }
        var (s0, s1, s2) = (start(0), start(1), start(2))
        var pb = b
        for p in 0..<k {
            let s = F8(repeating: a[p])
            s0 = s0.addingProduct(s, load(pb))
            if vectors > 1 { s1 = s1.addingProduct(s, load(pb + 8)) }
            if vectors > 2 { s2 = s2.addingProduct(s, load(pb + 16)) }
            pb += ldb
        }
        store(s0, c)
        if vectors > 1 { store(s1, c + 8) }
        if vectors > 2 { store(s2, c + 16) }
    }

    /// C[4, 8·vectors] (+)= A[4, k]·B[k, 8·vectors], the 4 × `vectors` sums in registers (vectors is a
    /// constant at every call, so the unused ones fold away).
    @inline(__always)
    static func block4(vectors: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ k: Int,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ first: Bool) {
        let (c0, c1, c2, c3) = (c, c + ldc, c + 2 * ldc, c + 3 * ldc)
        @inline(__always) func start(_ p: UnsafeMutablePointer<Float>, _ v: Int) -> F8 { first || v >= vectors ? F8() : load(p + 8 * v) }
        var (s00, s01, s02) = (start(c0, 0), start(c0, 1), start(c0, 2))
        var (s10, s11, s12) = (start(c1, 0), start(c1, 1), start(c1, 2))
        var (s20, s21, s22) = (start(c2, 0), start(c2, 1), start(c2, 2))
        var (s30, s31, s32) = (start(c3, 0), start(c3, 1), start(c3, 2))
        let (a0, a1, a2, a3) = (a, a + lda, a + 2 * lda, a + 3 * lda)
        var pb = b
        for p in 0..<k {
            let b0 = load(pb), b1 = vectors > 1 ? load(pb + 8) : F8(), b2 = vectors > 2 ? load(pb + 16) : F8()
            /// One row's sums += A[row, p]·B[p, ·].
            @inline(__always) func accumulate(_ a: Float, _ s0: inout F8, _ s1: inout F8, _ s2: inout F8) {
                let s = F8(repeating: a)
                s0 = s0.addingProduct(s, b0)
                if vectors > 1 { s1 = s1.addingProduct(s, b1) }
                if vectors > 2 { s2 = s2.addingProduct(s, b2) }
            }
            accumulate(a0[p], &s00, &s01, &s02)
            accumulate(a1[p], &s10, &s11, &s12)
            accumulate(a2[p], &s20, &s21, &s22)
            accumulate(a3[p], &s30, &s31, &s32)
            pb += ldb
        }
        store(s00, c0); store(s10, c1); store(s20, c2); store(s30, c3)
        if vectors > 1 { store(s01, c0 + 8); store(s11, c1 + 8); store(s21, c2 + 8); store(s31, c3 + 8) }
        if vectors > 2 { store(s02, c0 + 16); store(s12, c1 + 16); store(s22, c2 + 16); store(s32, c3 + 16) }
    }

    /// dst[0 ..< 24] = src[0 ..< 24], three vectors.
    @inline(__always) static func copy24(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        store(load(src), dst); store(load(src + 8), dst + 8); store(load(src + 16), dst + 16)
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }
}
