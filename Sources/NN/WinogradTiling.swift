/// What a Winograd tiling gives the convolution (WinogradConvolution.swift): its tile transforms and
/// sizes. F(2×2, 3×3) is `Winograd` (Winograd.swift), F(4×4, 3×3) is `Winograd4` (Winograd4.swift);
/// the chunked forward and weight gradient below are written once for both.
/// A new tiling: one file with an enum conforming to this protocol, one case in ConvolutionAlgorithm,
/// and its rows in WinogradTransformTests and ConvolutionTests.
public protocol WinogradTiling {
    /// Transformed tile entries: (m + 2)², the ξ planes of V, M and U.
    static var planes: Int { get }
    /// Tile rows and columns covering an h×w output.
    static func tiles(_ h: Int, _ w: Int) -> (Int, Int)
    /// U[ξ, o, c] for weights [O, C, 3, 3].
    static func transformWeights<T: GemmScalar>(_ g: UnsafePointer<T>, outChannels o: Int, inChannels c: Int,
                                                into u: UnsafeMutablePointer<T>)
    /// V[ξ, c, t] for images b0..<b0+nb of x [C, B, h, w].
    static func transformInput<T: GemmScalar>(_ x: UnsafePointer<T>, channels: Int, batch: Int, h: Int, w: Int,
                                              b0: Int, nb: Int, into v: UnsafeMutablePointer<T>)
    /// y[O, b0 ..< b0+nb, h, w] from M[ξ, o, t], each image's plane through `epilogue`.
    static func transformOutput<T: GemmScalar>(_ mm: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                               b0: Int, nb: Int, into y: UnsafeMutablePointer<T>, epilogue: Winograd.Epilogue<T>?)
    /// Mg[ξ, o, t]: the adjoint of the output transform applied to dOut [O, B, h, w].
    static func transformOutputGradient<T: GemmScalar>(_ dy: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                       b0: Int, nb: Int, into mg: UnsafeMutablePointer<T>)
    /// dW[O, C, 3, 3] += the adjoint of the weight transform applied to dU [ξ, O, C].
    static func addWeightGradient<T: GemmScalar>(_ du: UnsafePointer<T>, outChannels o: Int, inChannels c: Int,
                                                 into dw: UnsafeMutablePointer<T>)
}

extension WinogradTiling {
    /// Images per chunk: the workspaces V [ξ, C, tiles] and M [ξ, O, tiles] near `maxColElements`,
    /// but at least `minColumns` tiles so each of the sgemms keeps an efficient width.
    public static func imagesPerChunk(batch: Int, tilesPerImage: Int, inChannels c: Int, outChannels o: Int) -> Int {
        let byLimit = NNRuntime.maxColElements / max(1, planes * (c + o) * tilesPerImage)
        let byColumns = (NNRuntime.minColumns + tilesPerImage - 1) / tilesPerImage
        return max(1, min(batch, max(byLimit, byColumns)))
    }

    /// y[O, B, h, w] for images lo..<hi of x[C, B, h, w], given U [ξ, O, C]; single-threaded (one worker).
    static func convolve<T: GemmScalar>(_ x: UnsafePointer<T>, inChannels c: Int, batch: Int, h: Int, w: Int,
                                        u: UnsafePointer<T>, outChannels o: Int, images: Range<Int>, chunk: Int,
                                        v: UnsafeMutablePointer<T>, m: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>,
                                        epilogue: Winograd.Epilogue<T>?, registerProducts: Bool) {
        let (ty, tx) = tiles(h, w)
        var b0 = images.lowerBound
        while b0 < images.upperBound {
            let nb = min(chunk, images.upperBound - b0)
            let n = nb * ty * tx
            let (vPlane, mPlane) = (Winograd.planeStride(rows: c, tiles: n), Winograd.planeStride(rows: o, tiles: n))
            transformInput(x, channels: c, batch: batch, h: h, w: w, b0: b0, nb: nb, into: v)
            products(u, v, vPlane: vPlane, into: m, mPlane: mPlane, o: o, c: c, n: n, registerProducts: registerProducts)
            transformOutput(m, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: y, epilogue: epilogue)
            b0 += nb
        }
    }

    /// M[ξ] = U[ξ]·V[ξ] for every plane ξ (by RegisterGemm when asked and built for it, else sgemm).
    /// U: [ξ, O, C], V: [ξ, C, n] planes vPlane apart, M: [ξ, O, n] mPlane apart
    @inline(__always)
    public static func products<T: GemmScalar>(_ u: UnsafePointer<T>, _ v: UnsafePointer<T>, vPlane: Int, into m: UnsafeMutablePointer<T>,
                                        mPlane: Int, o: Int, c: Int, n: Int, registerProducts: Bool) {
        if registerProducts, T.self == Float.self, RegisterGemm.available {
            let (uf, vf, mf) = (VectorKernels.float(u), VectorKernels.float(v), VectorKernels.float(m))
            for xi in 0..<planes { RegisterGemm.multiply(o, n, c, uf + xi * o * c, c, vf + xi * vPlane, n, mf + xi * mPlane, n) }
        } else {
            for xi in 0..<planes { T.gemm(false, false, o, n, c, 1, u + xi * o * c, c, v + xi * vPlane, n, 0, m + xi * mPlane, n) }
        }
    }

    /// dU[ξ, o, c] (+)= Σ_t Mg[ξ, o, t]·V[ξ, c, t] over images lo..<hi; beta 0 on the first chunk.
    static func accumulateWeightGradient<T: GemmScalar>(_ x: UnsafePointer<T>, _ dy: UnsafePointer<T>, inChannels c: Int,
                                                        outChannels o: Int, batch: Int, h: Int, w: Int, images: Range<Int>,
                                                        chunk: Int, v: UnsafeMutablePointer<T>, m: UnsafeMutablePointer<T>,
                                                        du: UnsafeMutablePointer<T>) {
        let (ty, tx) = tiles(h, w)
        var b0 = images.lowerBound
        var first = true
        while b0 < images.upperBound {
            let nb = min(chunk, images.upperBound - b0)
            let n = nb * ty * tx
            transformInput(x, channels: c, batch: batch, h: h, w: w, b0: b0, nb: nb, into: v)
            transformOutputGradient(dy, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: m)
            let (vPlane, mPlane) = (Winograd.planeStride(rows: c, tiles: n), Winograd.planeStride(rows: o, tiles: n))
            weightGradientProducts(m, mPlane: mPlane, v, vPlane: vPlane, o: o, c: c, n: n, into: du, accumulate: !first)
            first = false
            b0 += nb
        }
    }

    /// dU[ξ] (+)= Mg[ξ]·V[ξ]ᵀ for every plane ξ: sums over a chunk's n tiles (sgemm: a dot-product register
    /// kernel measured no faster, `bench winograd`'s dU column, 2026-12-07).
    /// Mg: [ξ, O, n] planes mPlane apart, V: [ξ, C, n] planes vPlane apart, dU: [ξ, O, C]
    @inline(__always)
    public static func weightGradientProducts<T: GemmScalar>(_ m: UnsafePointer<T>, mPlane: Int, _ v: UnsafePointer<T>, vPlane: Int,
                                                             o: Int, c: Int, n: Int, into du: UnsafeMutablePointer<T>, accumulate: Bool) {
        for xi in 0..<planes {
            T.gemm(false, true, o, c, n, 1, m + xi * mPlane, n, v + xi * vPlane, n, accumulate ? 1 : 0, du + xi * o * c, c)
        }
    }
}
