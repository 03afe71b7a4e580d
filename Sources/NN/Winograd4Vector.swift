/// Float versions of F(4×4, 3×3)'s tile transforms (Winograd4.swift holds the definitions and the
/// 1-D transforms both use), eight tiles at a time along a row of tiles.
/// How: a tile's six input columns are the four phases of the zero-padded row (column 4k − 1 + j for
/// phase j) at k and the first two at k + 1, so each image is first split into its four phases; after
/// that every step is a contiguous vector. Output rows are the four transformed columns interleaved
/// (two levels of even/odd halves). A row's last vector may run up to 7 tiles past the row: into the
/// next row of the same plane (written after it) or into the plane's padding, as in WinogradVector.swift.
extension Winograd4 {
    typealias F8 = SIMD8<Float>
    typealias F16 = SIMD16<Float>
    static let lanes = 8

    @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }

    /// The first `count` (≥ 1) of 32 entries at p as two halves, zero after them (transparent, as Winograd.loadPrefix).
    @_transparent static func loadPrefix32(_ p: UnsafePointer<Float>, _ count: Int) -> (F16, F16) {
        count > 16 ? (Winograd.loadPrefix(p, 16), Winograd.loadPrefix(p + 16, count - 16)) : (Winograd.loadPrefix(p, count), F16())
    }

    /// The four phases of 32 consecutive entries (given as two halves): entries 4n, 4n+1, 4n+2, 4n+3.
    /// Only SIMD16 → SIMD8 shuffles: SIMD32's even/odd halves are not specialised (a call per lane), and
    /// SIMD16's stay generic calls inside the larger transforms (Winograd.evenLanes).
    @inline(__always) static func phases(_ v: (F16, F16)) -> (F8, F8, F8, F8) {
        let (even, odd) = Winograd.halves(v)
        return (Winograd.evenLanes(even), Winograd.evenLanes(odd), Winograd.oddLanes(even), Winograd.oddLanes(odd))
    }

    /// The inverse of `phases`: 32 entries, stored from p (the first `count`, ≥ 1; all if more).
    @inline(__always) static func storeInterleaved(_ a: F8, _ b: F8, _ c: F8, _ d: F8, _ count: Int, _ p: UnsafeMutablePointer<Float>) {
        var (even, odd) = (F16(), F16())                  // entries 2n and 2n+1
        even.evenHalf = a; even.oddHalf = c; odd.evenHalf = b; odd.oddHalf = d
        var (low, high) = (F16(), F16())
        low.evenHalf = even.lowHalf; low.oddHalf = odd.lowHalf
        Winograd.storePrefix(low, min(count, 16), p)
        if count > 16 {
            high.evenHalf = even.highHalf; high.oddHalf = odd.highHalf
            Winograd.storePrefix(high, count - 16, p + 16)
        }
    }

    /// transformWeights for Float: kernels ic ..< ic + 8 of output channel `oc` in the lanes, for every whole
    /// group of eight; returns the first input channel it left to the scalar loop. The same operations in the
    /// same order as weightColumn (one lane is one kernel's scalar computation), so U is bit-identical.
    static func transformWeightsVector(_ g: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int, outChannel oc: Int,
                                       into u: UnsafeMutablePointer<Float>) -> Int {
        let (quarter, sixth, twentyFourth) = (Float(1) / 4, Float(1) / 6, Float(1) / 24)
        @inline(__always) func column(_ g0: F8, _ g1: F8, _ g2: F8) -> (F8, F8, F8, F8, F8, F8) {   // G·(g0, g1, g2), as weightColumn
            (g0 * quarter, (g0 + g1 + g2) * -sixth, (g0 - g1 + g2) * -sixth,
             (g0 + g1 * 2 + g2 * 4) * twentyFourth, (g0 - g1 * 2 + g2 * 4) * twentyFourth, g2)
        }
        var ic = 0
        while ic + lanes <= c {
            let k = g + (oc * c + ic) * 9                   // eight kernels of 9 taps, one after another
            @inline(__always) func tap(_ j: Int) -> F8 { F8(k[j], k[9 + j], k[18 + j], k[27 + j], k[36 + j], k[45 + j], k[54 + j], k[63 + j]) }
            let columns = (column(tap(0), tap(3), tap(6)), column(tap(1), tap(4), tap(7)), column(tap(2), tap(5), tap(8)))
            for row in 0..<6 {
                let r = column(element(columns.0, row), element(columns.1, row), element(columns.2, row))   // that row times Gᵀ
                let base = u + (row * 6 * o + oc) * c + ic, plane = o * c
                store(r.0, base); store(r.1, base + plane); store(r.2, base + 2 * plane)
                store(r.3, base + 3 * plane); store(r.4, base + 4 * plane); store(r.5, base + 5 * plane)
            }
            ic += lanes
        }
        return ic
    }

    /// transformInput for Float.   x: [C, B, h, w] → V [36 planes of C × (nb·ty·tx)]
    static func transformInputVector(_ x: UnsafePointer<Float>, channels: Int, batch: Int, h: Int, w: Int,
                                     b0: Int, nb: Int, into v: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: channels, tiles: tileCount)
        // Entries per phase of a padded row, k = 0 ..< kp: what the tiles read (one past the last vector of
        // tiles) and what splitPhases writes; a padded row's four phases, rounded up to whole vectors, are
        // `stride` apart. (At 28 wide: 9 entries a phase and 5 vectors a row, where 8 + 8 made 8 vectors.)
        let kp = max(Winograd.vectorTiles(tx) + 1, (w - 1) / 32 * 8 + lanes + 1)
        let stride = (4 * kp + lanes - 1) / lanes * lanes
        let paddedRows = 4 * ty + 2                   // image rows −1 ... 4·ty
        let scratchCount = (paddedRows + 6) * stride
        withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { scratch in
            let split = scratch.baseAddress!          // [paddedRows, 4 phases, kp] (rows `stride` apart): phase j, k = column 4k − 1 + j
            let rows = split + paddedRows * stride    // [6 (Bᵀ rows), 4 phases, kp], the same strides
            split.initialize(repeating: 0, count: scratchCount)   // the padding stays zero for every image
            for c in 0..<channels {
                for i in 0..<nb {
                    splitPhases(x + (c * batch + b0 + i) * h * w, h: h, w: w, kp: kp, stride: stride, into: split)
                    for tyi in 0..<ty {
                        // Bᵀ down the six padded rows 4·tyi ... 4·tyi+5, all four phases at once.
                        inputColumnsDown(split + (4 * tyi) * stride, rowsApart: stride, count: stride, into: rows, rowsApart: stride)
                        // B across each tile's columns (P0[k], P1[k], P2[k], P3[k], P0[k+1], P1[k+1]) into planes 6r ... 6r+5.
                        let t0 = c * tileCount + (i * ty + tyi) * tx
                        for r in 0..<6 {
                            let p0 = rows + r * stride, p1 = p0 + kp, p2 = p1 + kp, p3 = p2 + kp
                            let o0 = v + (6 * r) * plane + t0
                            var q = 0
                            while q < tx {
                                let t = inputColumn(load8(p0 + q), load8(p1 + q), load8(p2 + q), load8(p3 + q),
                                                    load8(p0 + q + 1), load8(p1 + q + 1))
                                store(t.0, o0 + q); store(t.1, o0 + plane + q); store(t.2, o0 + 2 * plane + q)
                                store(t.3, o0 + 3 * plane + q); store(t.4, o0 + 4 * plane + q); store(t.5, o0 + 5 * plane + q)
                                q += lanes
                            }
                        }
                    }
                }
            }
        }
    }

    /// Bᵀ down six rows of `count` entries (a whole number of vectors), `from` apart at src, into six rows `to`
    /// apart at dst: the input transform's first step, a column per lane (also Winograd4Gathered.swift's).
    @inline(__always) static func inputColumnsDown(_ src: UnsafePointer<Float>, rowsApart from: Int, count: Int,
                                                   into dst: UnsafeMutablePointer<Float>, rowsApart to: Int) {
        var k = 0
        while k < count {
            let t = inputColumn(load8(src + k), load8(src + from + k), load8(src + 2 * from + k),
                                load8(src + 3 * from + k), load8(src + 4 * from + k), load8(src + 5 * from + k))
            store(t.0, dst + k); store(t.1, dst + to + k); store(t.2, dst + 2 * to + k)
            store(t.3, dst + 3 * to + k); store(t.4, dst + 4 * to + k); store(t.5, dst + 5 * to + k)
            k += lanes
        }
    }

    /// One image's rows into `split` (row y at padded row y+1): phase j at k holds x[y, 4k − 1 + j].
    /// Entries outside the image are never written with anything but zero.
    @inline(__always) static func splitPhases(_ src: UnsafePointer<Float>, h: Int, w: Int, kp: Int, stride: Int,
                                              into split: UnsafeMutablePointer<Float>) {
        for y in 0..<h {
            let row = src + y * w
            let p0 = split + (y + 1) * stride, p1 = p0 + kp, p2 = p1 + kp, p3 = p2 + kp
            var q = 0
            while q < w {
                let (a, b, c, d) = phases(loadPrefix32(row + q, w - q))   // columns q + 4n + 0 … 3
                store(a, p1 + q / 4); store(b, p2 + q / 4); store(c, p3 + q / 4); store(d, p0 + q / 4 + 1)
                q += 32
            }
        }
    }

    /// transformOutput for Float.   M [36 planes of O × (nb·ty·tx)] → y: [O, B, h, w]
    /// Aᵀ·m down each of the six columns once (24 vectors, kept in a scratch in L1: more than the
    /// registers hold, and reloading m per output row would read it four times), then A across each row.
    static func transformOutputVector(_ mm: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                      b0: Int, nb: Int, into y: UnsafeMutablePointer<Float>, epilogue: Winograd.Epilogue<Float>? = nil) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: o, tiles: tileCount)
        withUnsafeTemporaryAllocation(of: F8.self, capacity: 24) { scratch in
            let s = scratch.baseAddress!                                  // [6 columns j, 4 rows r] of Aᵀ·m
            for oc in 0..<o {
                for i in 0..<nb {
                    let image = (oc * batch + b0 + i) * h * w
                    for tyi in 0..<ty {
                        let t0 = oc * tileCount + (i * ty + tyi) * tx
                        let rows = min(4, h - 4 * tyi)                        // output rows of this tile row inside the image
                        var q = 0
                        while q < tx {
                            let count = w - 4 * q                            // ≥ 1: the tiles cover the row
                            let m = mm + t0 + q
                            for j in 0..<6 {
                                let column = outputColumn(load8(m + j * plane), load8(m + (6 + j) * plane), load8(m + (12 + j) * plane),
                                                          load8(m + (18 + j) * plane), load8(m + (24 + j) * plane), load8(m + (30 + j) * plane))
                                (s[4 * j], s[4 * j + 1], s[4 * j + 2], s[4 * j + 3]) = column
                            }
                            for r in 0..<rows {
                                let out = outputColumn(s[r], s[4 + r], s[8 + r], s[12 + r], s[16 + r], s[20 + r])
                                storeInterleaved(out.0, out.1, out.2, out.3, count, y + image + (4 * tyi + r) * w + 4 * q)
                            }
                            q += lanes
                        }
                    }
                    epilogue?.apply(y, channel: oc, image: image, count: h * w)   // while the image's plane is in L1
                }
            }
        }
    }

    /// A across row y of a dOut plane [h, w] (zero below the image) for the 8 tiles from column x, `count` (≥ 1)
    /// entries left in the row. Transparent: as an inline(__always) local function three of its four uses stayed calls.
    @_transparent static func gradientAcross(_ src: UnsafePointer<Float>, row y: Int, h: Int, w: Int, column x: Int,
                                             count: Int) -> (F8, F8, F8, F8, F8, F8) {
        let (a, b, c, d) = y < h ? phases(loadPrefix32(src + y * w + x, count)) : (F8(), F8(), F8(), F8())
        return gradientColumn(a, b, c, d)
    }

    /// transformOutputGradient for Float.   dOut: [O, B, h, w] → Mg [36 planes of O × (nb·ty·tx)]
    /// Out of line: inlined into the generic transformOutputGradient, its prefix loads and even/odd halves
    /// stayed calls to generic standard-library code (56 of them, `objdump`; 9.3–9.5 → 6.2–6.3 µs an image
    /// at 16@28×28 with evenLanes/oddLanes, `bench winograd`, one thread).
    @inline(never)
    static func transformOutputGradientVector(_ dy: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                              b0: Int, nb: Int, into mg: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: o, tiles: tileCount)
        for oc in 0..<o {
            for i in 0..<nb {
                let src = dy + (oc * batch + b0 + i) * h * w
                for tyi in 0..<ty {
                    let t0 = oc * tileCount + (i * ty + tyi) * tx
                    for q in stride(from: 0, to: tx, by: lanes) {
                        let count = w - 4 * q                              // ≥ 1; zero past the row
                        // A across each of the four dOut rows (zero below the image)
                        let (y0, x0) = (4 * tyi, 4 * q)
                        let (c0, c1, c2, c3) = (gradientAcross(src, row: y0, h: h, w: w, column: x0, count: count),
                                                gradientAcross(src, row: y0 + 1, h: h, w: w, column: x0, count: count),
                                                gradientAcross(src, row: y0 + 2, h: h, w: w, column: x0, count: count),
                                                gradientAcross(src, row: y0 + 3, h: h, w: w, column: x0, count: count))
                        // then down each of the six columns
                        for j in 0..<6 {
                            let col = gradientColumn(element(c0, j), element(c1, j), element(c2, j), element(c3, j))
                            let out = mg + j * plane + t0 + q
                            store(col.0, out); store(col.1, out + 6 * plane); store(col.2, out + 12 * plane)
                            store(col.3, out + 18 * plane); store(col.4, out + 24 * plane); store(col.5, out + 30 * plane)
                        }
                    }
                }
            }
        }
    }
}
