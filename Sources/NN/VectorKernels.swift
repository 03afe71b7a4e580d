/// Element-wise and reduction kernels for the batch-norm and residual hot loops. The optimiser does not
/// vectorise these loops in their generic form, so Float gets explicit SIMD16 versions; other scalar
/// types (Double, used by the gradient checks) take the plain loops, which define the semantics.
enum VectorKernels {
    typealias V = SIMD16<Float>
    static let width = 16

    // (pointwiseMax is lowered element by element through the stack; masked replace is not.)
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
    /// dst[0 ..< count] = src[0 ..< count] for a short run, in pieces of 8, 4, 2 and 1 (nothing past count): not
    /// `update(from:count:)`, whose memmove call per row of a few floats cost 5 % of the small Winograd transforms'
    /// samples, and more than a fifth of RegisterGemm's products at 16 × 196 through its edge copies.
    @inline(__always) static func copyShort(_ src: UnsafePointer<Float>, _ count: Int, _ dst: UnsafeMutablePointer<Float>) {
        @inline(__always) func piece<P: SIMD>(_: P.Type, _ at: Int) where P.Scalar == Float {
            UnsafeMutableRawPointer(dst + at).storeBytes(of: UnsafeRawPointer(src + at).loadUnaligned(as: P.self), as: P.self)
        }
        var q = 0
        while count - q >= 8 { piece(SIMD8<Float>.self, q); q += 8 }
        if count - q >= 4 { piece(SIMD4<Float>.self, q); q += 4 }
        if count - q >= 2 { piece(SIMD2<Float>.self, q); q += 2 }
        if count - q == 1 { dst[q] = src[q] }
    }

    @inline(__always) static func float<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
    @inline(__always) static func float<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self) }

    /// (Σ x, Σ (x − m)²) over n elements.
    static func sumAndSquaredDeviation<T: GemmScalar>(_ x: UnsafePointer<T>, _ n: Int) -> (sum: Double, squares: Double) {
        if T.self == Float.self {
            let p = float(x)
            var acc = V.zero, i = 0
            while i + width <= n { acc += load(p + i); i += width }
            var s = Double(acc.sum())
            while i < n { s += Double(p[i]); i += 1 }
            let m = Float(s / Double(max(n, 1)))
            var q = V.zero; i = 0
            while i + width <= n { let d = load(p + i) - m; q += d * d; i += width }
            var sq = Double(q.sum())
            while i < n { let d = p[i] - m; sq += Double(d * d); i += 1 }
            return (s, sq)
        }
        let s = partialSums(n) { x[$0] }
        let m = T(s / Double(max(n, 1)))
        return (s, partialSums(n) { let d = x[$0] - m; return d * d })
    }

    /// y = x·scale + shift, then max(0, ·) when relu.
    static func affine<T: GemmScalar>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int, scale: T, shift: T, relu: Bool) {
        if T.self == Float.self {
            let (p, q) = (float(x), float(y))
            let (a, b) = (scale as! Float, shift as! Float)
            var i = 0
            if relu {
                while i + width <= n { let v = load(p + i) * a + b; store(v.replacing(with: 0, where: v .< 0), q + i); i += width }
                while i < n { q[i] = max(p[i] * a + b, 0); i += 1 }
            } else {
                while i + width <= n { store(load(p + i) * a + b, q + i); i += width }
                while i < n { q[i] = p[i] * a + b; i += 1 }
            }
            return
        }
        for i in 0..<n { let v = x[i] * scale + shift; y[i] = relu ? max(v, 0) : v }
    }

    /// y = max(x·scale + shift + r, 0): batch norm's output pass fused with a residual block's add and
    /// ReLU (the same roundings as the separate passes: affine, then the add, then max(·, 0)).
    static func affineAddReLU<T: GemmScalar>(_ x: UnsafePointer<T>, _ r: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int,
                                             scale: T, shift: T) {
        if T.self == Float.self {
            let (p, pr, q) = (float(x), float(r), float(y))
            let (a, b) = (scale as! Float, shift as! Float)
            var i = 0
            while i + width <= n { let v = (load(p + i) * a + b) + load(pr + i); store(v.replacing(with: 0, where: v .< 0), q + i); i += width }
            while i < n { q[i] = max((p[i] * a + b) + pr[i], 0); i += 1 }
            return
        }
        for i in 0..<n { y[i] = max((x[i] * scale + shift) + r[i], 0) }
    }

    /// (Σ g, Σ g·(x − m)) with g = dy, masked to 0 where y ≤ 0 when relu.
    static func gradientSums<T: GemmScalar>(_ dy: UnsafePointer<T>, _ y: UnsafePointer<T>, _ x: UnsafePointer<T>, _ n: Int,
                                            mean: T, relu: Bool) -> (Double, Double) {
        if T.self == Float.self {
            let (pd, py, px, m) = (float(dy), float(y), float(x), mean as! Float)
            var s = V.zero, sx = V.zero, i = 0
            while i + width <= n {
                var g = load(pd + i)
                if relu { g.replace(with: 0, where: load(py + i) .<= 0) }
                s += g; sx += g * (load(px + i) - m); i += width
            }
            var (a, b) = (Double(s.sum()), Double(sx.sum()))
            while i < n {
                let g = relu && py[i] <= 0 ? 0 : pd[i]
                a += Double(g); b += Double(g * (px[i] - m)); i += 1
            }
            return (a, b)
        }
        let a = partialSums(n) { relu && y[$0] <= 0 ? 0 : dy[$0] }
        let b = partialSums(n) { (relu && y[$0] <= 0 ? 0 : dy[$0]) * (x[$0] - mean) }
        return (a, b)
    }

    /// dx = k·g + x·a + c with g = dy masked by y > 0 when relu.
    static func gradientApply<T: GemmScalar>(_ dx: UnsafeMutablePointer<T>, _ dy: UnsafePointer<T>, _ y: UnsafePointer<T>,
                                             _ x: UnsafePointer<T>, _ n: Int, k: T, a: T, c: T, relu: Bool) {
        if T.self == Float.self {
            let (pdx, pd, py, px) = (float(dx), float(dy), float(y), float(x))
            let (kf, af, cf) = (k as! Float, a as! Float, c as! Float)
            var i = 0
            while i + width <= n {
                var g = load(pd + i)
                if relu { g.replace(with: 0, where: load(py + i) .<= 0) }
                store(g * kf + load(px + i) * af + cf, pdx + i); i += width
            }
            while i < n { let g = relu && py[i] <= 0 ? 0 : pd[i]; pdx[i] = g * kf + px[i] * af + cf; i += 1 }
            return
        }
        for i in 0..<n { let g = relu && y[i] <= 0 ? 0 : dy[i]; dx[i] = g * k + x[i] * a + c }
    }

    /// out = y > 0 ? dy : 0
    static func reluMask<T: GemmScalar>(_ dy: UnsafePointer<T>, _ y: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ range: Range<Int>) {
        if T.self == Float.self {
            let (pd, py, po) = (float(dy), float(y), float(out))
            var i = range.lowerBound
            while i + width <= range.upperBound {
                var g = load(pd + i); g.replace(with: 0, where: load(py + i) .<= 0); store(g, po + i); i += width
            }
            while i < range.upperBound { po[i] = py[i] > 0 ? pd[i] : 0; i += 1 }
            return
        }
        for i in range { out[i] = y[i] > 0 ? dy[i] : 0 }
    }

    /// a += b
    static func add<T: GemmScalar>(_ a: UnsafeMutablePointer<T>, _ b: UnsafePointer<T>, _ range: Range<Int>) {
        if T.self == Float.self {
            let (pa, pb) = (float(a), float(b))
            var i = range.lowerBound
            while i + width <= range.upperBound { store(load(pa + i) + load(pb + i), pa + i); i += width }
            while i < range.upperBound { pa[i] += pb[i]; i += 1 }
            return
        }
        for i in range { a[i] += b[i] }
    }
}
