/// Float versions of F(4×4, 3×3)'s tile transforms for small images (at most two tiles a row: 8 wide
/// and less, the 7×7 and 4×4 stages), eight consecutive tiles at a time whichever images they belong to.
/// Winograd4Vector.swift vectorises along one row of tiles, which leaves six or seven of its eight lanes
/// empty here. Tile t of a chunk is V's column t in every plane, so eight consecutive tiles are one
/// contiguous vector of each plane; what changes is how their pixels are fetched: each channel's images
/// are copied once into zero-padded planes, every tile's patch is then a fixed window, and one 8×8
/// transpose turns eight tiles' rows into the lanes of eight column vectors. The arithmetic is the
/// same generic 1-D transforms in the same order as the reference loops, so the results are
/// bit-identical to them (WinogradTransformTests). Lanes past the chunk's last tile compute junk that
/// lands in the next row of the same plane (written after it) or in the plane's padding.
extension Winograd4 {
    /// Whether the gathered transforms serve an h×w image.
    @inline(__always) static func gathers(_ h: Int, _ w: Int) -> Bool { tiles(h, w).1 <= gatheredTilesPerRow }
    static let gatheredTilesPerRow = 2   // at 14×14 (four tiles) the row-vector transforms were faster: input 8.7 against 18.4 µs an image

    typealias Rows8 = (F8, F8, F8, F8, F8, F8, F8, F8)

    /// rows[k][l] → result[l][k]: three unzips of the 64 entries (each moves the index's lowest bit to the top).
    @inline(__always) static func transpose(_ rows: Rows8) -> Rows8 {
        @inline(__always) func unzip(_ a: F8, _ b: F8) -> (F8, F8) { let v = F16(lowHalf: a, highHalf: b); return (v.evenHalf, v.oddHalf) }
        var v = rows
        for _ in 0..<3 {
            let (e0, o0) = unzip(v.0, v.1), (e1, o1) = unzip(v.2, v.3), (e2, o2) = unzip(v.4, v.5), (e3, o3) = unzip(v.6, v.7)
            v = (e0, e1, e2, e3, o0, o1, o2, o3)
        }
        return v
    }

    /// The chunk's images of one channel, each into a zero-bordered plane of `planeSize` with rows `stride`
    /// apart and the image from `offset`. Each row goes as one vector of eight, zero past the image's w ≤ 8
    /// columns: what it writes past the row is zero, into the border or into a later row (written after it),
    /// so the border stays zero from the caller's fill and the buffer needs 8 spare entries at its end.
    @inline(__always) static func copyPadded(_ src: UnsafePointer<Float>, nb: Int, h: Int, w: Int, into pad: UnsafeMutablePointer<Float>,
                                             planeSize: Int, stride: Int, offset: Int) {
        for i in 0..<nb {
            for y in 0..<h {
                let (row, dst) = (src + (i * h + y) * w, pad + i * planeSize + offset + y * stride)
                var q = 0
                while q < w { store(w - q >= 8 ? load8(row + q) : Winograd.loadPrefix8(row + q, w - q), dst + q); q += 8 }
            }
        }
    }

    /// Where tile t's window starts in the padded planes (tiles past the chunk repeat its last one).
    @inline(__always) static func windowStarts(_ starts: UnsafeMutablePointer<Int>, tileCount: Int, ty: Int, tx: Int,
                                               planeSize: Int, stride: Int) {
        for t in 0..<(tileCount + 7) / 8 * 8 {
            let s = min(t, tileCount - 1), i = s / (ty * tx), tyi = s / tx % ty, txi = s % tx
            starts[t] = i * planeSize + 4 * tyi * stride + 4 * txi
        }
    }

    /// Lane l of result k: entry k of the eight floats at starts[l] + offset (one vector per tile, transposed).
    @inline(__always) static func gather(_ pad: UnsafePointer<Float>, _ starts: UnsafePointer<Int>, _ offset: Int) -> Rows8 {
        transpose((load8(pad + starts[0] + offset), load8(pad + starts[1] + offset), load8(pad + starts[2] + offset),
                   load8(pad + starts[3] + offset), load8(pad + starts[4] + offset), load8(pad + starts[5] + offset),
                   load8(pad + starts[6] + offset), load8(pad + starts[7] + offset)))
    }

    /// Lane l of result k: entry k % 4 of row k / 4 of a 4-wide window at starts[l] + offset, rows `stride` apart.
    @inline(__always) static func gatherTwoRows(_ pad: UnsafePointer<Float>, _ starts: UnsafePointer<Int>, _ offset: Int, _ stride: Int) -> Rows8 {
        @inline(__always) func rows(_ l: Int) -> F8 {
            let p = pad + starts[l] + offset
            return F8(lowHalf: Winograd.load4(p), highHalf: Winograd.load4(p + stride))
        }
        return transpose((rows(0), rows(1), rows(2), rows(3), rows(4), rows(5), rows(6), rows(7)))
    }

    /// transformInput for small images.   x: [C, B, h, w] → V [36 planes of C × (nb·ty·tx)]
    static func transformInputGathered(_ x: UnsafePointer<Float>, channels: Int, batch: Int, h: Int, w: Int,
                                       b0: Int, nb: Int, into v: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: channels, tiles: tileCount)
        let stride = 4 * tx + 2, planeSize = (4 * ty + 2) * stride     // padded image: rows and columns −1 ... 4·t
        let groups = (tileCount + 7) / 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: nb * planeSize + 8) { padBuffer in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: groups * 8) { startBuffer in
                let (pad, starts) = (padBuffer.baseAddress!, startBuffer.baseAddress!)
                pad.initialize(repeating: 0, count: nb * planeSize + 8)       // [nb, 4·ty + 2, stride] (+ 8: copyPadded's and a window's last vector)
                windowStarts(starts, tileCount: tileCount, ty: ty, tx: tx, planeSize: planeSize, stride: stride)
                for c in 0..<channels {
                    copyPadded(x + (c * batch + b0) * h * w, nb: nb, h: h, w: w, into: pad, planeSize: planeSize, stride: stride,
                               offset: stride + 1)
                    for g in 0..<groups {
                        // d.r: the six rows of the eight windows, entry j of each in lane j; Bᵀ down each column j,
                        // then B across each row r into planes 6r ... 6r + 5.
                        let s = starts + 8 * g
                        let d = (gather(pad, s, 0), gather(pad, s, stride), gather(pad, s, 2 * stride),
                                 gather(pad, s, 3 * stride), gather(pad, s, 4 * stride), gather(pad, s, 5 * stride))
                        @inline(__always) func column(_ j: Int) -> (F8, F8, F8, F8, F8, F8) {
                            inputColumn(entry(d.0, j), entry(d.1, j), entry(d.2, j), entry(d.3, j), entry(d.4, j), entry(d.5, j))
                        }
                        let cols = (column(0), column(1), column(2), column(3), column(4), column(5))
                        let out = v + c * tileCount + 8 * g
                        for r in 0..<6 {
                            let t = inputColumn(element(cols.0, r), element(cols.1, r), element(cols.2, r),
                                                element(cols.3, r), element(cols.4, r), element(cols.5, r))
                            let o0 = out + 6 * r * plane
                            store(t.0, o0); store(t.1, o0 + plane); store(t.2, o0 + 2 * plane)
                            store(t.3, o0 + 3 * plane); store(t.4, o0 + 4 * plane); store(t.5, o0 + 5 * plane)
                        }
                    }
                }
            }
        }
    }

    /// transformOutput for small images.   M [36 planes of O × (nb·ty·tx)] → y: [O, B, h, w]
    static func transformOutputGathered(_ mm: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                        b0: Int, nb: Int, into y: UnsafeMutablePointer<Float>, epilogue: Winograd.Epilogue<Float>?) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: o, tiles: tileCount)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * tileCount) { table in
            let (at, rows, cols) = (table.baseAddress!, table.baseAddress! + tileCount, table.baseAddress! + 2 * tileCount)
            for t in 0..<tileCount {                              // tile t: where its output starts, and how much is inside the image
                let i = t / (ty * tx), tyi = t / tx % ty, txi = t % tx
                (at[t], rows[t], cols[t]) = (i * h * w + 4 * tyi * w + 4 * txi, min(4, h - 4 * tyi), min(4, w - 4 * txi))
            }
            for oc in 0..<o {
                let image0 = (oc * batch + b0) * h * w
                var t0 = 0
                while t0 < tileCount {
                    // Aᵀ down each of the six columns, then A across each of the four rows: out.r.j, lane l = tile t0 + l.
                    let m = mm + oc * tileCount + t0
                    @inline(__always) func column(_ j: Int) -> (F8, F8, F8, F8) {
                        outputColumn(load8(m + j * plane), load8(m + (6 + j) * plane), load8(m + (12 + j) * plane),
                                     load8(m + (18 + j) * plane), load8(m + (24 + j) * plane), load8(m + (30 + j) * plane))
                    }
                    let s = (column(0), column(1), column(2), column(3), column(4), column(5))
                    @inline(__always) func row(_ r: Int) -> (F8, F8, F8, F8) {
                        outputColumn(element(s.0, r), element(s.1, r), element(s.2, r), element(s.3, r), element(s.4, r), element(s.5, r))
                    }
                    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3))
                    // per tile: rows 0 and 1 as one vector, rows 2 and 3 as another
                    let upper = transpose((r0.0, r0.1, r0.2, r0.3, r1.0, r1.1, r1.2, r1.3))
                    let lower = transpose((r2.0, r2.1, r2.2, r2.3, r3.0, r3.1, r3.2, r3.3))
                    for l in 0..<min(8, tileCount - t0) {
                        let t = t0 + l, p = y + image0 + at[t]
                        let (a, b) = (entry(upper, l), entry(lower, l))
                        let halves = (a.lowHalf, a.highHalf, b.lowHalf, b.highHalf)
                        if rows[t] == 4 && cols[t] == 4 {
                            store4(halves.0, p); store4(halves.1, p + w)
                            store4(halves.2, p + 2 * w); store4(halves.3, p + 3 * w)
                        } else {
                            for r in 0..<rows[t] { storePrefix4(element(halves, r), cols[t], p + r * w) }
                        }
                    }
                    t0 += 8
                }
                if let epilogue {                                 // the channel's images, while they are in cache
                    for i in 0..<nb { epilogue.apply(y, channel: oc, image: image0 + i * h * w, count: h * w) }
                }
            }
        }
    }

    /// transformOutputGradient for small images.   dOut: [O, B, h, w] → Mg [36 planes of O × (nb·ty·tx)]
    static func transformOutputGradientGathered(_ dy: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                b0: Int, nb: Int, into mg: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: o, tiles: tileCount)
        let stride = 4 * tx, planeSize = 4 * ty * stride               // the image, zero below and right of it
        let groups = (tileCount + 7) / 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: nb * planeSize + 8) { padBuffer in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: groups * 8) { startBuffer in
                let (pad, starts) = (padBuffer.baseAddress!, startBuffer.baseAddress!)
                pad.initialize(repeating: 0, count: nb * planeSize + 8)       // [nb, 4·ty, stride] (+ 8: copyPadded's last vector)
                windowStarts(starts, tileCount: tileCount, ty: ty, tx: tx, planeSize: planeSize, stride: stride)
                for oc in 0..<o {
                    copyPadded(dy + (oc * batch + b0) * h * w, nb: nb, h: h, w: w, into: pad, planeSize: planeSize, stride: stride, offset: 0)
                    for g in 0..<groups {
                        // d01.k: row k / 4, entry k % 4 of the eight 4×4 tiles (d23: rows 2 and 3); A across each
                        // row, then down each of the six columns j into planes j, 6 + j, ..., 30 + j.
                        let s = starts + 8 * g
                        let (d01, d23) = (gatherTwoRows(pad, s, 0, stride), gatherTwoRows(pad, s, 2 * stride, stride))
                        let c0 = gradientColumn(d01.0, d01.1, d01.2, d01.3), c1 = gradientColumn(d01.4, d01.5, d01.6, d01.7)
                        let c2 = gradientColumn(d23.0, d23.1, d23.2, d23.3), c3 = gradientColumn(d23.4, d23.5, d23.6, d23.7)
                        let out = mg + oc * tileCount + 8 * g
                        for j in 0..<6 {
                            let col = gradientColumn(element(c0, j), element(c1, j), element(c2, j), element(c3, j))
                            let o0 = out + j * plane
                            store(col.0, o0); store(col.1, o0 + 6 * plane); store(col.2, o0 + 12 * plane)
                            store(col.3, o0 + 18 * plane); store(col.4, o0 + 24 * plane); store(col.5, o0 + 30 * plane)
                        }
                    }
                }
            }
        }
    }

    @inline(__always) static func store4(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
    }

    /// The first `count` (1 ... 4) lanes of v at p.
    @inline(__always) static func storePrefix4(_ v: SIMD4<Float>, _ count: Int, _ p: UnsafeMutablePointer<Float>) {
        switch count {
        case 4: store4(v, p)
        case 3: UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: SIMD2<Float>.self); p[2] = v.z
        case 2: UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: SIMD2<Float>.self)
        default: p[0] = v.x
        }
    }

    @inline(__always) static func entry(_ v: Rows8, _ k: Int) -> F8 {
        switch k { case 0: v.0; case 1: v.1; case 2: v.2; case 3: v.3; case 4: v.4; case 5: v.5; case 6: v.6; default: v.7 }
    }
}
