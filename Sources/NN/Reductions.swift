/// Reductions with eight independent accumulators: a single running sum is bound by the latency of
/// one addition per element; eight partial sums let the CPU (and the vectoriser) overlap them. Partial
/// sums are combined in Double.

/// Σ x[i]
@inline(__always)
func partialSums<T: GemmScalar>(_ n: Int, _ term: (Int) -> T) -> Double {
    var (s0, s1, s2, s3, s4, s5, s6, s7) = (T.zero, T.zero, T.zero, T.zero, T.zero, T.zero, T.zero, T.zero)
    var i = 0
    while i + 8 <= n {
        s0 += term(i); s1 += term(i + 1); s2 += term(i + 2); s3 += term(i + 3)
        s4 += term(i + 4); s5 += term(i + 5); s6 += term(i + 6); s7 += term(i + 7)
        i += 8
    }
    var tail = Double(0)
    while i < n { tail += Double(term(i)); i += 1 }
    return ((Double(s0) + Double(s1)) + (Double(s2) + Double(s3))) + ((Double(s4) + Double(s5)) + (Double(s6) + Double(s7))) + tail
}
