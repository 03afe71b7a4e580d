import COpenBLAS

/// Eigenvalues of a symmetric matrix through LAPACK's dsyev (in OpenBLAS), ascending.
/// `a` is n×n, row-major (symmetric, so the layout does not matter); nil if LAPACK reports failure.
public func symmetricEigenvalues(_ a: [Double], n: Int) -> [Double]? {
    precondition(a.count == n * n && n >= 1, "symmetricEigenvalues: need an n×n matrix")
    var m = a                                                   // [n, n], overwritten by LAPACK
    var w = [Double](repeating: 0, count: n)                    // [n] eigenvalues
    var size = Int32(n), lda = Int32(n), info: Int32 = 0
    var lwork = Int32(-1), query = 0.0
    dsyev_("N", "U", &size, &m, &lda, &w, &query, &lwork, &info, 1, 1)       // workspace query
    guard info == 0 else { return nil }
    lwork = Int32(max(Double(3 * n), query))
    var work = [Double](repeating: 0, count: Int(lwork))        // [lwork]
    dsyev_("N", "U", &size, &m, &lda, &w, &work, &lwork, &info, 1, 1)
    return info == 0 ? w : nil
}
