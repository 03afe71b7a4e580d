/// Float versions of im2col and col2im (Im2colConvolution.swift holds the definitions) for the stride-2
/// layers every ResNet stage opens with: 3×3 with padding 1, and the 1×1 shortcut with padding 0.
///
/// Why: the reference loops gather `row[ox · 2]` one float at a time (scatter-add in col2im); perf had
/// im2col at 5.1 % and col2im at 2.3 % of a width-16 SimCLR epoch on Zen 4 (AVX2 only), ≈ 3 cycles an element;
/// these now take 3.8 % and 1.6 % (2026-12-08): what is left is mostly reading the input from memory and storing col.
/// How: input column 2·ox − 1 + kx is an odd column for kx = 0 and 2 and an even one for kx = 1, so each
/// image row is loaded once per (oy, ky), split into its even and odd halves (16 output columns at a time),
/// and the three col rows are those halves, kx = 0's moved one lane (the odd column before the block entering).
/// col2im is the same read backwards: the halves of an image row take the three gradient rows (kx = 0's moved
/// the other way), then are interleaved back. It adds the contributions of each (ky, kx) in the reference's
/// order (ky, then kx, each onto the sum so far), so both are bit-identical to it (StridedColumnsTests).
public enum StridedColumns {
    typealias F8 = SIMD8<Float>
    typealias F16 = SIMD16<Float>

    /// Whether a k×k, stride-s, padding-p convolution has these kernels.
    public static func covers(kernel k: Int, stride s: Int, padding p: Int) -> Bool {
        s == 2 && ((k == 3 && p == 1) || (k == 1 && p == 0))
    }

    /// col[(c, ky, kx), (i, oy, ox)] = x[c, b0 + i, 2·oy − p + ky, 2·ox − p + kx] (0 outside the image).
    @inline(never)
    public static func im2col(_ src: UnsafePointer<Float>, channels: Int, batch b: Int, h: Int, w: Int, kernel k: Int,
                              b0: Int, nb: Int, ho: Int, wo: Int, into dst: UnsafeMutablePointer<Float>) {
        let p = k / 2, rowLength = nb * ho * wo                        // col: [channels·k·k, rowLength]
        for c in 0..<channels {
            for i in 0..<nb {
                let plane = src + (c * b + b0 + i) * h * w              // [h, w]
                for ky in 0..<k {
                    let rows = dst + (c * k + ky) * k * rowLength + i * ho * wo   // kx's row at + kx·rowLength
                    for oy in 0..<ho {
                        let iy = 2 * oy - p + ky, out = rows + oy * wo
                        guard iy >= 0 && iy < h else {
                            for kx in 0..<k { (out + kx * rowLength).update(repeating: 0, count: wo) }
                            continue
                        }
                        let line = plane + iy * w
                        var ox0 = 0
                        while ox0 < wo {
                            let n = min(16, wo - ox0)
                            let (even, odd) = Winograd.halves(Winograd4.loadPrefix32(line + 2 * ox0, min(32, w - 2 * ox0)))
                            if k == 1 {
                                Winograd.storePrefix(even, n, out + ox0)
                            } else {
                                let before: Float = ox0 > 0 ? line[2 * ox0 - 1] : 0
                                Winograd.storePrefix(shiftedUp(odd, entering: before), n, out + ox0)
                                Winograd.storePrefix(even, n, out + rowLength + ox0)
                                Winograd.storePrefix(odd, n, out + 2 * rowLength + ox0)
                            }
                            ox0 += 16
                        }
                    }
                }
            }
        }
    }

    /// dx[c, b0 + i] = Σ over (ky, kx) of the col gradient's entries that im2col took from each pixel, for
    /// images b0..<b0+nb of dst [channels, batch, h, w] (their planes are overwritten).
    @inline(never)
    public static func col2im(from src: UnsafePointer<Float>, channels: Int, batch b: Int, h: Int, w: Int, kernel k: Int,
                              b0: Int, nb: Int, ho: Int, wo: Int, into dst: UnsafeMutablePointer<Float>) {
        let p = k / 2, rowLength = nb * ho * wo                        // src: [channels·k·k, rowLength]
        for c in 0..<channels {
            for i in 0..<nb {
                let plane = dst + (c * b + b0 + i) * h * w              // [h, w]
                plane.update(repeating: 0, count: h * w)
                for ky in 0..<k {
                    let rows = src + (c * k + ky) * k * rowLength + i * ho * wo
                    for oy in 0..<ho {
                        let iy = 2 * oy - p + ky
                        guard iy >= 0 && iy < h else { continue }
                        let (line, g) = (plane + iy * w, rows + oy * wo)
                        var ox0 = 0
                        while ox0 < wo {
                            let n = min(16, wo - ox0), m = min(32, w - 2 * ox0)
                            var (even, odd) = Winograd.halves(Winograd4.loadPrefix32(line + 2 * ox0, m))
                            if k == 1 {
                                even += Winograd.loadPrefix(g + ox0, n)
                            } else {
                                // odd column 2·(ox0 + j) + 1 takes kx = 0 from output ox0 + j + 1, then kx = 2 from ox0 + j.
                                let after: Float = ox0 + 16 < wo ? g[ox0 + 16] : 0
                                odd += shiftedDown(Winograd.loadPrefix(g + ox0, n), entering: after)
                                even += Winograd.loadPrefix(g + rowLength + ox0, n)
                                odd += Winograd.loadPrefix(g + 2 * rowLength + ox0, n)
                            }
                            storeInterleaved(even, odd, count: m, line + 2 * ox0)
                            ox0 += 16
                        }
                    }
                }
            }
        }
    }

    /// The first `count` (≥ 1) of even[0], odd[0], even[1], odd[1], … at p.
    @inline(__always) static func storeInterleaved(_ even: F16, _ odd: F16, count: Int, _ p: UnsafeMutablePointer<Float>) {
        Winograd.storePrefix(interleaved(even.lowHalf, odd.lowHalf), count, p)
        if count > 16 { Winograd.storePrefix(interleaved(even.highHalf, odd.highHalf), count - 16, p + 16) }
    }

    @inline(__always) static func interleaved(_ a: F8, _ b: F8) -> F16 {
        F16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    }

    /// [s, v0, …, v14]: v one lane up, s entering at lane 0.
    @inline(__always) static func shiftedUp(_ v: F16, entering s: Float) -> F16 {
        F16(lowHalf: Winograd.shiftedUp(v.lowHalf, entering: s), highHalf: Winograd.shiftedUp(v.highHalf, entering: v[7]))
    }

    /// [v1, …, v15, s]: v one lane down, s entering at lane 15.
    @inline(__always) static func shiftedDown(_ v: F16, entering s: Float) -> F16 {
        F16(lowHalf: Winograd.shiftedDown(v.lowHalf, entering: v[8]), highHalf: Winograd.shiftedDown(v.highHalf, entering: s))
    }
}
