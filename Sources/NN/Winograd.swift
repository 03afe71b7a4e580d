import StageKit

/// 3×3, stride-1, padding-1 convolution by Winograd's F(2×2, 3×3) (Lavin & Gray 2016), used by Conv2d
/// for its forward pass, its input gradient (through the flipped kernel) and its weight gradient
/// (the adjoint of each transform: dU = Σ_tiles (A·dY·Aᵀ) ⊙ (Bᵀ·d·B), dW = Gᵀ·dU·G).
///
/// Each 2×2 output tile is Aᵀ[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]A for the 4×4 input patch d around it, so the
/// convolution becomes 16 independent matrix products M[ξ] = U[ξ]·V[ξ] (ξ = position in the 4×4
/// transformed tile): 16·O·C·tiles multiply–adds instead of 36·O·C·tiles (2.25× fewer), and the
/// transformed input is 4× the input instead of im2col's 9×.
///   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
///   Aᵀ = [1 1 1 0; 0 1 −1 −1].
/// The tile transforms here are the generic definitions (Double for the gradient checks); Float takes
/// the SIMD versions in WinogradVector.swift, which are bit-identical to them (WinogradTransformTests).
/// Each of the 16 ξ planes of V and M is `planeStride` apart: its rows × tiles entries, then
/// `planePadding` spare ones that a vector may run into past a plane's last row of tiles.
public enum Winograd: WinogradTiling {
    public static let planes = 16

    /// Spare entries after each ξ plane (≥ one vector of the Float transforms minus one).
    public static let planePadding = 16

    /// Distance between ξ planes of a [16, rows, tiles] workspace.
    @inline(__always) public static func planeStride(rows: Int, tiles: Int) -> Int { rows * tiles + planePadding }

    /// Threads for a weight transform of `kernels` 3×3 kernels: every forward pass runs one on the thread
    /// that drives the step, and at 64–128 channels it is too big (≈ 2 % of a w16 step) to leave the other
    /// cores idle; below 1024 kernels the hand-off costs more than it saves. Kernels are independent, so
    /// the result is the same at any thread count.
    @inline(__always) static func weightThreads(_ kernels: Int) -> Int { kernels >= 1024 ? NNRuntime.threads : 1 }

    /// U[ξ, o, c] = (G·g·Gᵀ)[ξ] for the kernels g = weights[o, c, ·, ·].   weights: [O, C, 3, 3]
    public static func transformWeights<T: GemmScalar>(_ g: UnsafePointer<T>, outChannels o: Int, inChannels c: Int,
                                                into u: UnsafeMutablePointer<T>) {
        let half = T(1) / 2
        parallelFor(o, threads: Winograd.weightThreads(o * c)) { oc in
            for ic in 0..<c {
                let k = g + (oc * c + ic) * 9
                // t = G·g (4×3), one column at a time; then each row of t times Gᵀ (4 values)
                for row in 0..<4 {
                    func tRow(_ col: Int) -> T {
                        let (g0, g1, g2) = (k[col], k[3 + col], k[6 + col])
                        switch row {
                        case 0: return g0
                        case 1: return (g0 + g1 + g2) * half
                        case 2: return (g0 - g1 + g2) * half
                        default: return g2
                        }
                    }
                    let (a, b, cc) = (tRow(0), tRow(1), tRow(2))
                    let base = u + (row * 4 * o + oc) * c + ic
                    base[0] = a
                    base[o * c] = (a + b + cc) * half
                    base[2 * o * c] = (a - b + cc) * half
                    base[3 * o * c] = cc
                }
            }
        }
    }

    /// Tiles per image for an h×w output.
    @inline(__always) public static func tiles(_ h: Int, _ w: Int) -> (Int, Int) { ((h + 1) / 2, (w + 1) / 2) }

    /// V[ξ, c, t] for images b0..<b0+nb of x [C, B, h, w]; t = (image − b0, tile row, tile column).
    /// Per tile row: Bᵀ applied down the four zero-padded input rows at once (contiguous, vectorises),
    /// then B across each tile's four columns, writing the four ξ planes of that row of tiles.
    public static func transformInput<T: GemmScalar>(_ x: UnsafePointer<T>, channels: Int, batch: Int, h: Int, w: Int,
                                                     b0: Int, nb: Int, into v: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            return transformInputVector(VectorKernels.float(x), channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                        into: VectorKernels.float(v))
        }
        transformInputReference(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: v)
    }

    public static func transformInputReference<T: GemmScalar>(_ x: UnsafePointer<T>, channels: Int, batch: Int, h: Int, w: Int,
                                                              b0: Int, nb: Int, into v: UnsafeMutablePointer<T>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = planeStride(rows: channels, tiles: tileCount)
        let wp = 2 * tx + 2                          // padded row: x = −1 ..< 2·tx + 1
        withUnsafeTemporaryAllocation(of: T.self, capacity: 4 * wp + w) { scratch in
            let rows = scratch.baseAddress!          // [4, wp] rows after Bᵀ, then a zero row [w]
            let zeros = rows + 4 * wp
            zeros.initialize(repeating: 0, count: w)
            for c in 0..<channels {
                for i in 0..<nb {
                    let src = x + (c * batch + b0 + i) * h * w
                    for tyi in 0..<ty {
                        let y0 = 2 * tyi - 1
                        // Input rows y0..y0+3 (the zero row outside the image), padded to wp with zeros.
                        @inline(__always) func row(_ r: Int) -> UnsafePointer<T> {
                            let yy = y0 + r
                            return yy >= 0 && yy < h ? src + yy * w : UnsafePointer(zeros)
                        }
                        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3))
                        let t0 = rows, t1 = rows + wp, t2 = rows + 2 * wp, t3 = rows + 3 * wp
                        t0[0] = 0; t1[0] = 0; t2[0] = 0; t3[0] = 0
                        for q in (w + 1)..<wp { t0[q] = 0; t1[q] = 0; t2[q] = 0; t3[q] = 0 }
                        for q in 0..<w {
                            let a = r0[q], b = r1[q], cc = r2[q], e = r3[q]
                            t0[q + 1] = a - cc; t1[q + 1] = b + cc; t2[q + 1] = cc - b; t3[q + 1] = b - e
                        }
                        let t = c * tileCount + (i * ty + tyi) * tx
                        for r in 0..<4 {
                            let tr = rows + r * wp
                            let o0 = v + (r * 4) * plane + t, o1 = o0 + plane, o2 = o1 + plane, o3 = o2 + plane
                            for txi in 0..<tx {
                                let a = tr[2 * txi], b = tr[2 * txi + 1], cc = tr[2 * txi + 2], e = tr[2 * txi + 3]
                                o0[txi] = a - cc; o1[txi] = b + cc; o2[txi] = cc - b; o3[txi] = b - e
                            }
                        }
                    }
                }
            }
        }
    }

    /// y[o, b0+i, ·, ·] from M[ξ, o, t] (Aᵀ·m·A per tile), cropped to h×w.   y: [O, B, h, w]
    /// `epilogue`: an eval-mode batch norm's affine (+ residual add + ReLU), run on each image's plane of y
    /// right after it is written, while it is still in cache (not in a pass of its own over all of y).
    public static func transformOutput<T: GemmScalar>(_ mm: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                      b0: Int, nb: Int, into y: UnsafeMutablePointer<T>, epilogue: Epilogue<T>? = nil) {
        if T.self == Float.self {
            return transformOutputVector(VectorKernels.float(mm), outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                         into: VectorKernels.float(y), epilogue: epilogue.map { $0.float })
        }
        transformOutputReference(mm, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: y, epilogue: epilogue)
    }

    /// y = v·scale[o] + shift[o], then + residual[o, b, ·, ·] and max(·, 0) (a residual implies the ReLU):
    /// BatchNorm2d's output pass by the same kernels, applied to each image's plane as soon as it is
    /// written (still in cache), so the fused result is identical.
    public struct Epilogue<T: GemmScalar> {
        public var scale: UnsafePointer<T>, shift: UnsafePointer<T>   // [O]
        public var residual: UnsafePointer<T>?                         // [O, B, h, w], as y
        public var relu: Bool

        public init(scale: UnsafePointer<T>, shift: UnsafePointer<T>, residual: UnsafePointer<T>?, relu: Bool) {
            precondition(residual == nil || relu, "Winograd.Epilogue: a residual add comes with the ReLU")
            (self.scale, self.shift, self.residual, self.relu) = (scale, shift, residual, relu)
        }

        var float: Epilogue<Float> {
            Epilogue<Float>(scale: VectorKernels.float(scale), shift: VectorKernels.float(shift),
                            residual: residual.map { VectorKernels.float($0) }, relu: relu)
        }

        /// y[image ..< image + count] (all of channel `o`) in place.
        @inline(__always) func apply(_ y: UnsafeMutablePointer<T>, channel o: Int, image: Int, count: Int) {
            if let residual {
                VectorKernels.affineAddReLU(y + image, residual + image, y + image, count, scale: scale[o], shift: shift[o])
            } else {
                VectorKernels.affine(y + image, y + image, count, scale: scale[o], shift: shift[o], relu: relu)
            }
        }
    }

    public static func transformOutputReference<T: GemmScalar>(_ mm: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                               b0: Int, nb: Int, into y: UnsafeMutablePointer<T>,
                                                               epilogue: Epilogue<T>? = nil) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = planeStride(rows: o, tiles: tileCount)
        withUnsafeTemporaryAllocation(of: T.self, capacity: 4 * tx) { scratch in
            let out0 = scratch.baseAddress!, out1 = out0 + 2 * tx   // one row of tiles: 2 rows × 2·tx
            for oc in 0..<o {
                for i in 0..<nb {
                    let image = (oc * batch + b0 + i) * h * w
                    let dst = y + image
                    for tyi in 0..<ty {
                        let t = oc * tileCount + (i * ty + tyi) * tx
                        @inline(__always) func m(_ r: Int, _ j: Int) -> UnsafePointer<T> { mm + (r * 4 + j) * plane + t }
                        let (m00, m01, m02, m03) = (m(0, 0), m(0, 1), m(0, 2), m(0, 3))
                        let (m10, m11, m12, m13) = (m(1, 0), m(1, 1), m(1, 2), m(1, 3))
                        let (m20, m21, m22, m23) = (m(2, 0), m(2, 1), m(2, 2), m(2, 3))
                        let (m30, m31, m32, m33) = (m(3, 0), m(3, 1), m(3, 2), m(3, 3))
                        for q in 0..<tx {
                            // s = Aᵀ·m (2×4), then s·A (2×2)
                            let a0 = m00[q] + m10[q] + m20[q], a1 = m01[q] + m11[q] + m21[q]
                            let a2 = m02[q] + m12[q] + m22[q], a3 = m03[q] + m13[q] + m23[q]
                            let b0 = m10[q] - m20[q] - m30[q], b1 = m11[q] - m21[q] - m31[q]
                            let b2 = m12[q] - m22[q] - m32[q], b3 = m13[q] - m23[q] - m33[q]
                            out0[2 * q] = a0 + a1 + a2; out0[2 * q + 1] = a1 - a2 - a3
                            out1[2 * q] = b0 + b1 + b2; out1[2 * q + 1] = b1 - b2 - b3
                        }
                        let oy = 2 * tyi
                        (dst + oy * w).update(from: out0, count: w)
                        if oy + 1 < h { (dst + (oy + 1) * w).update(from: out1, count: w) }
                    }
                    epilogue?.apply(y, channel: oc, image: image, count: h * w)
                }
            }
        }
    }
}

extension Winograd {
    /// Mg[ξ, o, t] = (A·dY·Aᵀ)[ξ] for each 2×2 tile dY of dOut [O, B, h, w] (zero beyond the image):
    /// the adjoint of the output transform, for the weight gradient.   A = (Aᵀ)ᵀ, rows [1 0; 1 1; 1 −1; 0 −1].
    public static func transformOutputGradient<T: GemmScalar>(_ dy: UnsafePointer<T>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                              b0: Int, nb: Int, into mg: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            return transformOutputGradientVector(VectorKernels.float(dy), outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                                 into: VectorKernels.float(mg))
        }
        transformOutputGradientReference(dy, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: mg)
    }

    public static func transformOutputGradientReference<T: GemmScalar>(_ dy: UnsafePointer<T>, outChannels o: Int, batch: Int,
                                                                       h: Int, w: Int, b0: Int, nb: Int,
                                                                       into mg: UnsafeMutablePointer<T>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = planeStride(rows: o, tiles: tileCount)
        withUnsafeTemporaryAllocation(of: T.self, capacity: 4 * tx) { scratch in
            let row0 = scratch.baseAddress!, row1 = row0 + 2 * tx     // two dOut rows, zero-padded to 2·tx
            for oc in 0..<o {
                for i in 0..<nb {
                    let src = dy + (oc * batch + b0 + i) * h * w
                    for tyi in 0..<ty {
                        let oy = 2 * tyi
                        row0.update(from: src + oy * w, count: w)
                        if oy + 1 < h { row1.update(from: src + (oy + 1) * w, count: w) }
                        else { row1.update(repeating: 0, count: w) }
                        if 2 * tx > w { row0[w] = 0; row1[w] = 0 }
                        let t = oc * tileCount + (i * ty + tyi) * tx
                        @inline(__always) func m(_ xi: Int) -> UnsafeMutablePointer<T> { mg + xi * plane + t }
                        for q in 0..<tx {
                            let (a0, b0v, a1, b1) = (row0[2 * q], row0[2 * q + 1], row1[2 * q], row1[2 * q + 1])
                            // columns: c_i = [a, a+b, a−b, −b]; rows: [c0, c0+c1, c0−c1, −c1]
                            let c0 = (a0, a0 + b0v, a0 - b0v, -b0v), c1 = (a1, a1 + b1, a1 - b1, -b1)
                            m(0)[q] = c0.0; m(1)[q] = c0.1; m(2)[q] = c0.2; m(3)[q] = c0.3
                            m(4)[q] = c0.0 + c1.0; m(5)[q] = c0.1 + c1.1; m(6)[q] = c0.2 + c1.2; m(7)[q] = c0.3 + c1.3
                            m(8)[q] = c0.0 - c1.0; m(9)[q] = c0.1 - c1.1; m(10)[q] = c0.2 - c1.2; m(11)[q] = c0.3 - c1.3
                            m(12)[q] = -c1.0; m(13)[q] = -c1.1; m(14)[q] = -c1.2; m(15)[q] = -c1.3
                        }
                    }
                }
            }
        }
    }

    /// dW[o, c, ·, ·] += Gᵀ·dU[·, o, c]·G (the adjoint of the weight transform).   dW: [O, C, 3, 3]
    public static func addWeightGradient<T: GemmScalar>(_ du: UnsafePointer<T>, outChannels o: Int, inChannels c: Int,
                                                 into dw: UnsafeMutablePointer<T>) {
        let half = T(1) / 2
        let plane = o * c
        for oc in 0..<o {
            for ic in 0..<c {
                let u = du + oc * c + ic
                let g = dw + (oc * c + ic) * 9
                // e = Gᵀ·dU (3×4), Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]; then e·G (3×3)
                for r in 0..<3 {
                    func e(_ q: Int) -> T {
                        let (u0, u1, u2, u3) = (u[q * plane], u[(4 + q) * plane], u[(8 + q) * plane], u[(12 + q) * plane])
                        switch r {
                        case 0: return u0 + (u1 + u2) * half
                        case 1: return (u1 - u2) * half
                        default: return (u1 + u2) * half + u3
                        }
                    }
                    let (e0, e1, e2, e3) = (e(0), e(1), e(2), e(3))
                    g[r * 3] += e0 + (e1 + e2) * half
                    g[r * 3 + 1] += (e1 - e2) * half
                    g[r * 3 + 2] += (e1 + e2) * half + e3
                }
            }
        }
    }
}
