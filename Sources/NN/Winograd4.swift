import StageKit

/// 3×3, stride-1, padding-1 convolution by Winograd's F(4×4, 3×3) (Lavin & Gray 2016): the same
/// scheme as F(2×2, 3×3) in Winograd.swift, with 4×4 output tiles from 6×6 input patches, so 36
/// matrix products M[ξ] = U[ξ]·V[ξ] of a quarter of the tiles: 36·O·C multiply–adds per 16 outputs
/// instead of 64 (F(2×2)) or 144 (direct), and the transformed input is 2.25× the input instead of 4×.
/// The price is rounding: the transforms scale by up to 8 (and G by 1/24), so results agree with the
/// direct convolution to about 1e-5 relative in Float instead of 1e-6 (ConvolutionTests bound both).
///   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
///   G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1],
///   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
/// Each 1-D transform below is written once, generic over `WinogradLane`: the reference loops here run
/// it on scalars (Double for the gradient checks), the Float versions on eight tiles at a time (Winograd4Vector.swift
/// along a row of tiles, Winograd4Gathered.swift across images at most two tiles wide), so they are bit-identical
/// by construction (WinogradTransformTests checks it).
/// ξ = 6·row + column of the transformed tile; planes are laid out as in Winograd.swift.
public enum Winograd4: WinogradTiling {
    public static let planes = 36

    @inline(__always) public static func tiles(_ h: Int, _ w: Int) -> (Int, Int) { ((h + 3) / 4, (w + 3) / 4) }

    // ---- the 1-D transforms: Bᵀ·d (6 → 6), Aᵀ·m (6 → 4), A·y (4 → 6, the adjoint of Aᵀ) ----

    @inline(__always) static func inputColumn<V: WinogradLane>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V)
        -> (V, V, V, V, V, V) {
        let a = d4 - d2.times(4), b = d3 - d1.times(4)
        let c = d4 - d2, e = (d3 - d1).times(2)
        return (d0.times(4) - d2.times(5) + d4, a + b, a - b, c + e, c - e, d1.times(4) - d3.times(5) + d5)
    }

    @inline(__always) static func outputColumn<V: WinogradLane>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V)
        -> (V, V, V, V) {
        let a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4
        return (m0 + a + c, b + d.times(2), a + c.times(4), b + d.times(8) + m5)
    }

    @inline(__always) static func gradientColumn<V: WinogradLane>(_ y0: V, _ y1: V, _ y2: V, _ y3: V) -> (V, V, V, V, V, V) {
        let p = y0 + y2, q = y1 + y3
        let p2 = y0 + y2.times(4), q2 = (y1 + y3.times(4)).times(2)
        return (y0, p + q, p - q, p2 + q2, p2 - q2, y3)
    }

    // ---- weights: U = G·g·Gᵀ and its adjoint dW += Gᵀ·dU·G (scalar only) ----

    /// G·(g0, g1, g2).
    @inline(__always) static func weightColumn<T: GemmScalar>(_ g0: T, _ g1: T, _ g2: T) -> (T, T, T, T, T, T) {
        let (quarter, sixth, twentyFourth) = (T(1) / 4, T(1) / 6, T(1) / 24)
        return (g0 * quarter, (g0 + g1 + g2) * -sixth, (g0 - g1 + g2) * -sixth,
                (g0 + g1 * 2 + g2 * 4) * twentyFourth, (g0 - g1 * 2 + g2 * 4) * twentyFourth, g2)
    }

    /// Gᵀ·(u0 … u5).
    @inline(__always) static func weightGradientColumn<T: GemmScalar>(_ u: (T, T, T, T, T, T)) -> (T, T, T) {
        let (quarter, sixth, twelfth, twentyFourth) = (T(1) / 4, T(1) / 6, T(1) / 12, T(1) / 24)
        return (u.0 * quarter - (u.1 + u.2) * sixth + (u.3 + u.4) * twentyFourth,
                (u.2 - u.1) * sixth + (u.3 - u.4) * twelfth,
                (u.3 + u.4) * sixth - (u.1 + u.2) * sixth + u.5)
    }

    /// U[ξ, o, c] = (G·g·Gᵀ)[ξ] for the kernels g = weights[o, c, ·, ·].   weights: [O, C, 3, 3]
    public static func transformWeights<T: GemmScalar>(_ g: UnsafePointer<T>, outChannels o: Int, inChannels c: Int,
                                                       into u: UnsafeMutablePointer<T>) {
        parallelFor(o, threads: Winograd.weightThreads(o * c)) { oc in
            var ic = 0
            if T.self == Float.self {                       // eight kernels at a time (Winograd4Vector.swift), the rest below
                ic = transformWeightsVector(VectorKernels.float(g), outChannels: o, inChannels: c, outChannel: oc, into: VectorKernels.float(u))
            }
            for ic in ic..<c {
                let k = g + (oc * c + ic) * 9
                // G·g, one column at a time (tuples, not arrays: this runs on every forward pass)
                let columns = (weightColumn(k[0], k[3], k[6]), weightColumn(k[1], k[4], k[7]), weightColumn(k[2], k[5], k[8]))
                func t(_ row: Int, _ j: Int) -> T { element(j == 0 ? columns.0 : (j == 1 ? columns.1 : columns.2), row) }
                for row in 0..<6 {
                    let r = weightColumn(t(row, 0), t(row, 1), t(row, 2))                     // that row times Gᵀ
                    let base = u + (row * 6 * o + oc) * c + ic, plane = o * c
                    (base[0], base[plane], base[2 * plane], base[3 * plane], base[4 * plane], base[5 * plane]) = r
                }
            }
        }
    }

    /// dW[o, c, ·, ·] += Gᵀ·dU[·, o, c]·G.   dU: [36, O, C], dW: [O, C, 3, 3]
    public static func addWeightGradient<T: GemmScalar>(_ du: UnsafePointer<T>, outChannels o: Int, inChannels c: Int,
                                                        into dw: UnsafeMutablePointer<T>) {
        let plane = o * c
        for oc in 0..<o {
            for ic in 0..<c {
                let u = du + oc * c + ic
                func at(_ r: Int, _ j: Int) -> T { u[(6 * r + j) * plane] }
                // e = Gᵀ·dU (3×6), one column at a time; then each row of e times G (3 values)
                func column(_ j: Int) -> (T, T, T) { weightGradientColumn((at(0, j), at(1, j), at(2, j), at(3, j), at(4, j), at(5, j))) }
                let e = (column(0), column(1), column(2), column(3), column(4), column(5))   // tuples: no allocation per kernel
                let g = dw + (oc * c + ic) * 9
                for r in 0..<3 {
                    func er(_ j: Int) -> T {
                        let ej = element((e.0, e.1, e.2, e.3, e.4, e.5), j)
                        return r == 0 ? ej.0 : (r == 1 ? ej.1 : ej.2)
                    }
                    let row = weightGradientColumn((er(0), er(1), er(2), er(3), er(4), er(5)))
                    g[r * 3] += row.0; g[r * 3 + 1] += row.1; g[r * 3 + 2] += row.2
                }
            }
        }
    }

    @inline(__always) static func element<T>(_ t: (T, T, T, T, T, T), _ i: Int) -> T {
        switch i { case 0: t.0; case 1: t.1; case 2: t.2; case 3: t.3; case 4: t.4; default: t.5 }
    }
    @inline(__always) static func element<T>(_ t: (T, T, T, T), _ i: Int) -> T {
        switch i { case 0: t.0; case 1: t.1; case 2: t.2; default: t.3 }
    }

    // ---- the tile transforms (Float takes the vector versions) ----

    public static func transformInput<T: GemmScalar>(_ x: UnsafePointer<T>, channels: Int, batch: Int, h: Int, w: Int,
                                                     b0: Int, nb: Int, into v: UnsafeMutablePointer<T>) {
        if T.self == Float.self, gathers(h, w) {
            return transformInputGathered(VectorKernels.float(x), channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                          into: VectorKernels.float(v))
        }
        if T.self == Float.self {
            return transformInputVector(VectorKernels.float(x), channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                        into: VectorKernels.float(v))
        }
        transformInputReference(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: v)
    }

    /// V[ξ, c, t] for images b0..<b0+nb of x [C, B, h, w]: per tile row, Bᵀ down the six zero-padded
    /// input rows, then B across each tile's six columns.
    public static func transformInputReference<T: GemmScalar>(_ x: UnsafePointer<T>, channels: Int, batch: Int, h: Int, w: Int,
                                                              b0: Int, nb: Int, into v: UnsafeMutablePointer<T>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: channels, tiles: tileCount)
        let wp = 4 * tx + 2                          // padded row: x = −1 ..< 4·tx + 1
        var rows = [T](repeating: 0, count: 6 * wp)  // the six rows after Bᵀ
        let zeros = [T](repeating: 0, count: w)
        for c in 0..<channels {
            for i in 0..<nb {
                let src = x + (c * batch + b0 + i) * h * w
                for tyi in 0..<ty {
                    func input(_ r: Int, _ q: Int) -> T {
                        let yy = 4 * tyi - 1 + r
                        return yy >= 0 && yy < h ? src[yy * w + q] : zeros[q]
                    }
                    for r in 0..<6 { for q in 0..<wp { rows[r * wp + q] = 0 } }
                    for q in 0..<w {
                        let t = inputColumn(input(0, q), input(1, q), input(2, q), input(3, q), input(4, q), input(5, q))
                        for r in 0..<6 { rows[r * wp + q + 1] = element(t, r) }
                    }
                    let t0 = c * tileCount + (i * ty + tyi) * tx
                    for r in 0..<6 {
                        for txi in 0..<tx {
                            let d = rows[(r * wp + 4 * txi)...]
                            let s = d.startIndex
                            let t = inputColumn(d[s], d[s + 1], d[s + 2], d[s + 3], d[s + 4], d[s + 5])
                            for j in 0..<6 { v[(6 * r + j) * plane + t0 + txi] = element(t, j) }
                        }
                    }
                }
            }
        }
    }

    public static func transformOutput<T: GemmScalar>(_ mm: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                      b0: Int, nb: Int, into y: UnsafeMutablePointer<T>,
                                                      epilogue: Winograd.Epilogue<T>? = nil) {
        if T.self == Float.self, gathers(h, w) {
            return transformOutputGathered(VectorKernels.float(mm), outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                           into: VectorKernels.float(y), epilogue: epilogue.map { $0.float })
        }
        if T.self == Float.self {
            return transformOutputVector(VectorKernels.float(mm), outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                         into: VectorKernels.float(y), epilogue: epilogue.map { $0.float })
        }
        transformOutputReference(mm, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: y, epilogue: epilogue)
    }

    /// y[o, b0+i, ·, ·] from M[ξ, o, t] (Aᵀ·m·A per tile), cropped to h×w, each image's plane through `epilogue`.
    public static func transformOutputReference<T: GemmScalar>(_ mm: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                               b0: Int, nb: Int, into y: UnsafeMutablePointer<T>,
                                                               epilogue: Winograd.Epilogue<T>? = nil) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: o, tiles: tileCount)
        for oc in 0..<o {
            for i in 0..<nb {
                let image = (oc * batch + b0 + i) * h * w
                for tyi in 0..<ty {
                    let t0 = oc * tileCount + (i * ty + tyi) * tx
                    for q in 0..<tx {
                        func m(_ r: Int, _ j: Int) -> T { mm[(6 * r + j) * plane + t0 + q] }
                        // s = Aᵀ·m (4×6), one column at a time; then each row of s times A (4 outputs)
                        let s = (0..<6).map { j in outputColumn(m(0, j), m(1, j), m(2, j), m(3, j), m(4, j), m(5, j)) }
                        for r in 0..<4 where 4 * tyi + r < h {
                            let out = outputColumn(element(s[0], r), element(s[1], r), element(s[2], r),
                                                   element(s[3], r), element(s[4], r), element(s[5], r))
                            for j in 0..<4 where 4 * q + j < w { y[image + (4 * tyi + r) * w + 4 * q + j] = element(out, j) }
                        }
                    }
                }
                epilogue?.apply(y, channel: oc, image: image, count: h * w)
            }
        }
    }

    public static func transformOutputGradient<T: GemmScalar>(_ dy: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                              b0: Int, nb: Int, into mg: UnsafeMutablePointer<T>) {
        if T.self == Float.self, gathers(h, w) {
            return transformOutputGradientGathered(VectorKernels.float(dy), outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                                   into: VectorKernels.float(mg))
        }
        if T.self == Float.self {
            return transformOutputGradientVector(VectorKernels.float(dy), outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                                 into: VectorKernels.float(mg))
        }
        transformOutputGradientReference(dy, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: mg)
    }

    /// Mg[ξ, o, t] = (A·dY·Aᵀ)[ξ] for each 4×4 tile dY of dOut [O, B, h, w] (zero beyond the image):
    /// A across each of the tile's four rows, then down each of the six columns.
    public static func transformOutputGradientReference<T: GemmScalar>(_ dy: UnsafePointer<T>, outChannels o: Int, batch: Int,
                                                                       h: Int, w: Int, b0: Int, nb: Int,
                                                                       into mg: UnsafeMutablePointer<T>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: o, tiles: tileCount)
        for oc in 0..<o {
            for i in 0..<nb {
                let src = dy + (oc * batch + b0 + i) * h * w
                for tyi in 0..<ty {
                    let t0 = oc * tileCount + (i * ty + tyi) * tx
                    for q in 0..<tx {
                        func d(_ r: Int, _ j: Int) -> T {
                            let (yy, xx) = (4 * tyi + r, 4 * q + j)
                            return yy < h && xx < w ? src[yy * w + xx] : 0
                        }
                        let c = (0..<4).map { r in gradientColumn(d(r, 0), d(r, 1), d(r, 2), d(r, 3)) }
                        for j in 0..<6 {
                            let col = gradientColumn(element(c[0], j), element(c[1], j), element(c[2], j), element(c[3], j))
                            for r in 0..<6 { mg[(6 * r + j) * plane + t0 + q] = element(col, r) }
                        }
                    }
                }
            }
        }
    }
}

/// The arithmetic of the tile transforms, for scalars (the reference loops) and for SIMD8<Float> (the
/// vector versions): one definition of each transform serves both.
public protocol WinogradLane {
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    /// self·k for a small constant k (exact in Float and Double).
    func times(_ k: Float) -> Self
}

extension Float: WinogradLane { @inline(__always) public func times(_ k: Float) -> Float { self * k } }
extension Double: WinogradLane { @inline(__always) public func times(_ k: Float) -> Double { self * Double(k) } }
extension SIMD8: WinogradLane where Scalar == Float { @inline(__always) public func times(_ k: Float) -> Self { self * k } }
