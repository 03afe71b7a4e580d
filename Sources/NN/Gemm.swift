import COpenBLAS

/// Row-major matrix products through OpenBLAS: C = alpha·op(A)·op(B) + beta·C, where op(A) is m×k and
/// op(B) is k×n. The only place (with BLASRuntime) that calls OpenBLAS directly.
public protocol GemmScalar: BinaryFloatingPoint, WinogradLane {
    static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self,
                     _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafePointer<Self>, _ ldb: Int,
                     _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
}

extension Float: GemmScalar {
    @inline(__always)
    public static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                            _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                            _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

extension Double: GemmScalar {
    @inline(__always)
    public static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                            _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                            _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

/// Convenience on arrays: C (m×n) = alpha·op(A)·op(B) + beta·C with tight leading dimensions.
@inline(__always)
public func gemm<T: GemmScalar>(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                alpha: T = 1, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>,
                                beta: T = 0, _ c: UnsafeMutablePointer<T>) {
    T.gemm(transA, transB, m, n, k, alpha, a, transA ? m : k, b, transB ? k : n, beta, c, n)
}
