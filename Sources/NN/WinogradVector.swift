/// Float versions of Winograd's tile transforms (Winograd.swift holds the definitions): the same
/// operations on the same values in the same order, so the results are bit-identical to the
/// reference loops (WinogradTransformTests), but eight tiles at a time along a row of tiles.
///
/// Why: at 16–32 channels each transformed entry feeds only 2·C multiply–adds, so the transforms,
/// not the 16 sgemms, set the speed; the reference loops read every other column and ran almost
/// entirely in scalar remainders (rows of 4–14 tiles).
/// How: a tile's four input columns are the even/odd columns of the zero-padded image at k and k+1. The
/// input transform reads each tile row's four image rows straight from x, splits 16 pixels into even and
/// odd halves, and moves those one lane for the tiles' outer columns (transformInputTileRow; it had split
/// every image into a scratch copy first: 8.8–9.0 → 5.9–6.2 µs an image at 32@14×14, `bench winograd`, one
/// thread, 2026-12-08, EPYC Zen 4 with AVX2 only — with evenLanes/oddLanes below). The output transforms
/// interleave even and odd halves back into rows. A row's last vector may run up to 7 tiles past the
/// row: into the next row of the same plane (written after it) or into the plane's padding.
/// Rows of 1, 2 or 4 tiles (images up to 8 wide) go to WinogradAcrossRows.swift instead.
extension Winograd {
    typealias F8 = SIMD8<Float>
    typealias F16 = SIMD16<Float>
    static let lanes = 8

    @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> F16 { UnsafeRawPointer(p).loadUnaligned(as: F16.self) }
    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }
    @inline(__always) static func store(_ v: F16, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16.self) }

    /// The first `count` (≥ 1; 16 if more) entries at p, zero after them: a row's ragged end, read in
    /// pieces of 8, 4, 2 and 1 (never past the row, and no call to memcpy for a dozen floats). Transparent: as
    /// inline(__always) it stayed a call in F(4×4)'s input and both output-gradient transforms (objdump).
    @_transparent static func loadPrefix(_ p: UnsafePointer<Float>, _ count: Int) -> F16 {
        if count >= 16 { return load16(p) }
        if count >= 8 { return F16(lowHalf: load8(p), highHalf: loadPrefix8(p + 8, count - 8)) }
        return F16(lowHalf: loadPrefix8(p, count), highHalf: .zero)
    }

    @inline(__always) static func loadPrefix8(_ p: UnsafePointer<Float>, _ count: Int) -> F8 {   // count < 8
        @inline(__always) func prefix4(_ p: UnsafePointer<Float>, _ n: Int) -> SIMD4<Float> {      // n < 4
            SIMD4(n > 0 ? p[0] : 0, n > 1 ? p[1] : 0, n > 2 ? p[2] : 0, 0)
        }
        return count >= 4 ? F8(lowHalf: load4(p), highHalf: prefix4(p + 4, count - 4)) : F8(lowHalf: prefix4(p, count), highHalf: .zero)
    }

    /// Stores the first `count` (≥ 1; all 16 if more) lanes of v at p, in pieces of 8, 4, 2 and 1.
    @inline(__always) static func storePrefix(_ v: F16, _ count: Int, _ p: UnsafeMutablePointer<Float>) {
        if count >= 16 { return store(v, p) }
        var (rest, at) = (count, p)
        var eight = v.lowHalf
        if rest >= 8 { store(eight, at); eight = v.highHalf; rest -= 8; at += 8 }
        var four = eight.lowHalf
        if rest >= 4 { UnsafeMutableRawPointer(at).storeBytes(of: four, as: SIMD4<Float>.self); four = eight.highHalf; rest -= 4; at += 4 }
        var two = four.lowHalf
        if rest >= 2 { UnsafeMutableRawPointer(at).storeBytes(of: two, as: SIMD2<Float>.self); two = four.highHalf; rest -= 2; at += 2 }
        if rest == 1 { at[0] = two.x }
    }

    /// −v as the scalar code negates: the sign bit flipped (SIMD's prefix − is 0 − v, which turns −(+0) into +0).
    @inline(__always) static func negated(_ v: F8) -> F8 {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) ^ 0x8000_0000, to: F8.self)
    }

    /// Tiles of a row rounded up to whole vectors.
    @inline(__always) static func vectorTiles(_ tx: Int) -> Int { (tx + lanes - 1) / lanes * lanes }

    /// transformInput for Float.   x: [C, B, h, w] → V [16 planes of C × (nb·ty·tx)]
    static func transformInputVector(_ x: UnsafePointer<Float>, channels: Int, batch: Int, h: Int, w: Int,
                                     b0: Int, nb: Int, into v: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        if tx < lanes && lanes % tx == 0 {
            return transformInputAcrossRows(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: v)
        }
        let tileCount = nb * ty * tx
        let plane = planeStride(rows: channels, tiles: tileCount)
        for c in 0..<channels {
            for i in 0..<nb {
                let image = x + (c * batch + b0 + i) * h * w
                for tyi in 0..<ty {
                    transformInputTileRow(image, firstRow: 2 * tyi - 1, h: h, w: w, tx: tx,
                                          into: v + c * tileCount + (i * ty + tyi) * tx, plane: plane)
                }
            }
        }
    }

    /// One row of tiles (image rows firstRow ... firstRow+3, zero outside the image) into the 16 ξ planes,
    /// eight tiles a step. The 16 pixels from column 2q split into even columns (O[q+j] = x[2q+2j]) and odd
    /// (E[q+j+1] = x[2q+2j+1]); Bᵀ runs down the four rows on those vectors, and the two remaining columns
    /// of each tile, E[q+j] and O[q+j+1], are the same vectors moved one lane (with the pixels just before
    /// and after the 16, Bᵀ'd alike), so nothing is stored and reloaded. The same operations on the same
    /// values as the reference: bit-identical.   row: [w] ×4 → V[ξ] at tile offset, 8 tiles a step
    @inline(never)
    static func transformInputTileRow(_ image: UnsafePointer<Float>, firstRow: Int, h: Int, w: Int, tx: Int,
                                      into v: UnsafeMutablePointer<Float>, plane: Int) {
        for q in stride(from: 0, to: tx, by: lanes) {
            /// Row r's 16 pixels from column 2q (zero past the row) and the pixels at 2q−1 and 2q+16.
            @inline(__always) func pixels(_ r: Int) -> (F16, Float, Float) {
                let y = firstRow + r
                guard y >= 0 && y < h else { return (F16(), 0, 0) }
                let row = image + y * w
                return (loadPrefix(row + 2 * q, w - 2 * q), q > 0 ? row[2 * q - 1] : 0, 2 * q + 16 < w ? row[2 * q + 16] : 0)
            }
            let (d0, p0, n0) = pixels(0), (d1, p1, n1) = pixels(1), (d2, p2, n2) = pixels(2), (d3, p3, n3) = pixels(3)
            // Bᵀ down the rows, (a − c, b + c, c − b, b − d), on the even columns, the odd ones and the two neighbours.
            let (e0, e1, e2, e3) = (evenLanes(d0), evenLanes(d1), evenLanes(d2), evenLanes(d3))
            let (o0, o1, o2, o3) = (oddLanes(d0), oddLanes(d1), oddLanes(d2), oddLanes(d3))
            /// B across the tiles' columns (E[q+j], O[q+j], E[q+j+1], O[q+j+1]) of row r after Bᵀ into ξ planes 4r ... 4r+3.
            @inline(__always) func columns(_ r: Int, even: F8, odd: F8, before: Float, after: Float) {
                let (a, b, cc, e) = (shiftedUp(odd, entering: before), even, odd, shiftedDown(even, entering: after))
                let o = v + (r * 4) * plane + q
                store(a - cc, o); store(b + cc, o + plane); store(cc - b, o + 2 * plane); store(b - e, o + 3 * plane)
            }
            columns(0, even: e0 - e2, odd: o0 - o2, before: p0 - p2, after: n0 - n2)
            columns(1, even: e1 + e2, odd: o1 + o2, before: p1 + p2, after: n1 + n2)
            columns(2, even: e2 - e1, odd: o2 - o1, before: p2 - p1, after: n2 - n1)
            columns(3, even: e1 - e3, odd: o1 - o3, before: p1 - p3, after: n1 - n3)
        }
    }

    /// SIMD16's evenHalf and oddHalf as shuffles: the standard library's versions, inside a function this
    /// size, stay calls to a generic loop over the lanes (`objdump`).
    @inline(__always) static func evenLanes(_ v: F16) -> F8 { F8(v[0], v[2], v[4], v[6], v[8], v[10], v[12], v[14]) }
    @inline(__always) static func oddLanes(_ v: F16) -> F8 { F8(v[1], v[3], v[5], v[7], v[9], v[11], v[13], v[15]) }
    /// The even and odd entries of 32 consecutive ones, given as two halves (Winograd4's phases, StridedColumns).
    @inline(__always) static func halves(_ v: (F16, F16)) -> (even: F16, odd: F16) {
        (F16(lowHalf: evenLanes(v.0), highHalf: evenLanes(v.1)), F16(lowHalf: oddLanes(v.0), highHalf: oddLanes(v.1)))
    }

    /// [s, v0, …, v6]: the vector one lane up, s entering at lane 0.
    @inline(__always) static func shiftedUp(_ v: F8, entering s: Float) -> F8 { F8(s, v[0], v[1], v[2], v[3], v[4], v[5], v[6]) }
    /// [v1, …, v7, s]: the vector one lane down, s entering at lane 7.
    @inline(__always) static func shiftedDown(_ v: F8, entering s: Float) -> F8 { F8(v[1], v[2], v[3], v[4], v[5], v[6], v[7], s) }

    /// One image's rows into `split` (row y at padded row y+1): even[k] = x[y, 2k−1], odd[k] = x[y, 2k].
    /// Entries outside the image are never written with anything but zero (a row's last vector is
    /// zero-filled past the row).
    @inline(__always) static func splitColumns(_ src: UnsafePointer<Float>, h: Int, w: Int, kp: Int,
                                               into split: UnsafeMutablePointer<Float>) {
        for y in 0..<h {
            let row = src + y * w
            let even = split + (y + 1) * 2 * kp, odd = even + kp
            var q = 0
            while q < w {
                let v = loadPrefix(row + q, w - q)
                store(v.evenHalf, odd + q / 2); store(v.oddHalf, even + q / 2 + 1)
                q += 16
            }
        }
    }

    /// transformOutput for Float.   M [16 planes of O × (nb·ty·tx)] → y: [O, B, h, w]
    static func transformOutputVector(_ mm: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                      b0: Int, nb: Int, into y: UnsafeMutablePointer<Float>, epilogue: Epilogue<Float>? = nil) {
        let (ty, tx) = tiles(h, w)
        if tx < lanes && lanes % tx == 0 {
            return transformOutputAcrossRows(mm, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: y, epilogue: epilogue)
        }
        let tileCount = nb * ty * tx
        let plane = planeStride(rows: o, tiles: tileCount)
        for oc in 0..<o {
            for i in 0..<nb {
                let image = (oc * batch + b0 + i) * h * w
                let dst = y + image
                for tyi in 0..<ty {
                    let t = oc * tileCount + (i * ty + tyi) * tx
                    let out0 = dst + 2 * tyi * w, out1 = out0 + w        // output rows 2·tyi and 2·tyi+1 (if < h)
                    let lowerRow = 2 * tyi + 1 < h
                    var q = 0
                    while q < tx {
                        @inline(__always) func m(_ r: Int, _ j: Int) -> F8 { load8(mm + (r * 4 + j) * plane + t + q) }
                        // s = Aᵀ·m (2×4), then s·A (2×2), interleaved back into the two output rows; one
                        // output row at a time, so that its four vectors stay in registers.
                        let count = w - 2 * q                            // ≥ 1: the tiles cover the row
                        let a0 = m(0, 0) + m(1, 0) + m(2, 0), a1 = m(0, 1) + m(1, 1) + m(2, 1)
                        let a2 = m(0, 2) + m(1, 2) + m(2, 2), a3 = m(0, 3) + m(1, 3) + m(2, 3)
                        var row0 = F16()
                        row0.evenHalf = a0 + a1 + a2; row0.oddHalf = a1 - a2 - a3
                        storePrefix(row0, count, out0 + 2 * q)
                        if lowerRow {
                            let b0 = m(1, 0) - m(2, 0) - m(3, 0), b1 = m(1, 1) - m(2, 1) - m(3, 1)
                            let b2 = m(1, 2) - m(2, 2) - m(3, 2), b3 = m(1, 3) - m(2, 3) - m(3, 3)
                            var row1 = F16()
                            row1.evenHalf = b0 + b1 + b2; row1.oddHalf = b1 - b2 - b3
                            storePrefix(row1, count, out1 + 2 * q)
                        }
                        q += lanes
                    }
                }
                epilogue?.apply(y, channel: oc, image: image, count: h * w)   // while the image's plane is in L1
            }
        }
    }

    /// transformOutputGradient for Float.   dOut: [O, B, h, w] → Mg [16 planes of O × (nb·ty·tx)]
    static func transformOutputGradientVector(_ dy: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                              b0: Int, nb: Int, into mg: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        if tx < lanes && lanes % tx == 0 {
            return transformOutputGradientAcrossRows(dy, outChannels: o, batch: batch, h: h, w: w, b0: b0, nb: nb, into: mg)
        }
        let tileCount = nb * ty * tx
        let plane = planeStride(rows: o, tiles: tileCount)
        for oc in 0..<o {
            for i in 0..<nb {
                let src = dy + (oc * batch + b0 + i) * h * w
                for tyi in 0..<ty {
                    let upper = src + 2 * tyi * w, lower = upper + w       // dOut rows 2·tyi and 2·tyi+1 (zero if ≥ h)
                    let lowerRow = 2 * tyi + 1 < h
                    let t = oc * tileCount + (i * ty + tyi) * tx
                    var q = 0
                    while q < tx {
                        let count = w - 2 * q                              // ≥ 1; zero past the row
                        let top = loadPrefix(upper + 2 * q, count), bottom = lowerRow ? loadPrefix(lower + 2 * q, count) : F16()
                        let (a0, b0v, a1, b1) = (top.evenHalf, top.oddHalf, bottom.evenHalf, bottom.oddHalf)
                        // columns: c_i = [a, a+b, a−b, −b]; rows: [c0, c0+c1, c0−c1, −c1]
                        let c0 = (a0, a0 + b0v, a0 - b0v, negated(b0v)), c1 = (a1, a1 + b1, a1 - b1, negated(b1))
                        @inline(__always) func put(_ xi: Int, _ value: F8) { store(value, mg + xi * plane + t + q) }
                        put(0, c0.0); put(1, c0.1); put(2, c0.2); put(3, c0.3)
                        put(4, c0.0 + c1.0); put(5, c0.1 + c1.1); put(6, c0.2 + c1.2); put(7, c0.3 + c1.3)
                        put(8, c0.0 - c1.0); put(9, c0.1 - c1.1); put(10, c0.2 - c1.2); put(11, c0.3 - c1.3)
                        put(12, negated(c1.0)); put(13, negated(c1.1)); put(14, negated(c1.2)); put(15, negated(c1.3))
                        q += lanes
                    }
                }
            }
        }
    }
}
