/// Float versions of F(4×4, 3×3)'s tile transforms for small images (at most two tiles a row: 8 wide
/// and less, the 7×7 and 4×4 stages), eight consecutive tiles at a time whichever images they belong to.
/// Winograd4Vector.swift vectorises along one row of tiles, which leaves six or seven of its eight lanes
/// empty here. Tile t of a chunk is V's column t in every plane, so eight consecutive tiles are one
/// contiguous vector of each plane; what changes is how their pixels are fetched: each channel's images
/// are copied once into zero-padded planes (the input then runs Bᵀ down their rows), every tile's patch is
/// a fixed window, and one 8×8 transpose turns a row of eight tiles' windows into the lanes of eight
/// column vectors (the output's and output gradient's transposes go the other way). The arithmetic is the
/// same generic 1-D transforms in the same order as the reference loops, so the results are
/// bit-identical to them (WinogradTransformTests). Lanes past the chunk's last tile compute junk that
/// lands in the next row of the same plane (written after it) or in the plane's padding. Images of one
/// tile (4×4) or two by two (5 to 8 wide) take their input transform without the padded copy, eight whole
/// images at a time (`wholeImageInputs`).
extension Winograd4 {
    /// Whether the gathered transforms serve an h×w image.
    @inline(__always) static func gathers(_ h: Int, _ w: Int) -> Bool { tiles(h, w).1 <= gatheredTilesPerRow }
    /// At 14×14 (four tiles a row) the row-vector transforms held their own (`bench winograd`, 2026-12-07: F(4×4)'s
    /// step 1.04× F(2×2)'s with them, 1.08× gathered), so F(2×2) stays there and the gathered ones stop at two.
    static let gatheredTilesPerRow = 2

    /// Off: the 4×4 and two-by-two-tile images' input transforms through the padded copies as the rest
    /// (`bench engine --ab --padded-small-inputs`, B only; the values are the same).
    nonisolated(unsafe) public static var wholeImageInputs = true

    typealias Rows8 = (F8, F8, F8, F8, F8, F8, F8, F8)

    /// rows[k][l] → result[l][k]: three unzips of the 64 entries (each moves the index's lowest bit to the top).
    @inline(never) static func transpose(_ rows: Rows8) -> Rows8 {
        @inline(__always) func unzip(_ a: F8, _ b: F8) -> (F8, F8) { let v = F16(lowHalf: a, highHalf: b); return (v.evenHalf, v.oddHalf) }
        var v = rows
        for _ in 0..<3 {
            let (e0, o0) = unzip(v.0, v.1), (e1, o1) = unzip(v.2, v.3), (e2, o2) = unzip(v.4, v.5), (e3, o3) = unzip(v.6, v.7)
            v = (e0, e1, e2, e3, o0, o1, o2, o3)
        }
        return v
    }

    /// The chunk's images of one channel, each into a zero-bordered plane of `planeSize` with rows `stride`
    /// apart and the image from `offset`. Each row goes as vectors of eight, zero past the image's w columns:
    /// what they write past the row is zero, into the border or into a later row (written after it), so the
    /// border stays zero from the caller's fill and the buffer needs 8 spare entries at its end.
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

    /// Where tile t's window starts (tiles past the chunk repeat its last one): image planes `planeSize` apart,
    /// rows of tiles `tileRow` apart within one.
    @inline(__always) static func windowStarts(_ starts: UnsafeMutablePointer<Int>, tileCount: Int, ty: Int, tx: Int,
                                               planeSize: Int, tileRow: Int) {
        for t in 0..<(tileCount + 7) / 8 * 8 {
            let s = min(t, tileCount - 1), i = s / (ty * tx), tyi = s / tx % ty, txi = s % tx
            starts[t] = i * planeSize + tyi * tileRow + 4 * txi
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
    /// Per channel: the images into zero-padded planes; Bᵀ down the six padded rows of every row of tiles, all
    /// columns at once (vectors along the row, as the reference's first step); then per eight tiles, each of
    /// the six transformed rows of their windows transposed into lanes and B across it.
    static func transformInputGathered(_ x: UnsafePointer<Float>, channels: Int, batch: Int, h: Int, w: Int,
                                       b0: Int, nb: Int, into v: UnsafeMutablePointer<Float>) {
        if wholeImageInputs, h == 4, w == 4 { return transformInputFourByFour(x, channels: channels, batch: batch, b0: b0, nb: nb, into: v) }
        if wholeImageInputs, tiles(h, w) == (2, 2) { return transformInputTwoByTwo(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: v) }
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: channels, tiles: tileCount)
        let stride = 4 * tx + 2, planeSize = (4 * ty + 2) * stride     // padded image: rows and columns −1 ... 4·t
        let rowStride = (stride + lanes - 1) / lanes * lanes            // a padded row's whole vectors
        let groups = (tileCount + 7) / 8
        let padCount = nb * planeSize + 2 * lanes                         // + copyPadded's and Bᵀ's last vectors past the end
        let rowsCount = nb * ty * 6 * rowStride                           // [nb, ty, 6 rows after Bᵀ, rowStride]
        withUnsafeTemporaryAllocation(of: Float.self, capacity: padCount + rowsCount) { buffer in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: groups * 8) { startBuffer in
                let (pad, rows, starts) = (buffer.baseAddress!, buffer.baseAddress! + padCount, startBuffer.baseAddress!)
                pad.initialize(repeating: 0, count: padCount)
                windowStarts(starts, tileCount: tileCount, ty: ty, tx: tx, planeSize: ty * 6 * rowStride, tileRow: 6 * rowStride)
                for c in 0..<channels {
                    copyPadded(x + (c * batch + b0) * h * w, nb: nb, h: h, w: w, into: pad, planeSize: planeSize, stride: stride,
                               offset: stride + 1)
                    // Bᵀ down padded rows 4·tyi ... 4·tyi + 5 (lanes past a row's end compute junk no window reads)
                    for i in 0..<nb {
                        for tyi in 0..<ty {
                            inputColumnsDown(pad + i * planeSize + 4 * tyi * stride, rowsApart: stride, count: rowStride,
                                             into: rows + (i * ty + tyi) * 6 * rowStride, rowsApart: rowStride)
                        }
                    }
                    for g in 0..<groups {
                        // row r of the eight windows, entry j in lane j of vector j; B across it into planes 6r ... 6r + 5
                        let s = starts + 8 * g, out = v + c * tileCount + 8 * g
                        for r in 0..<6 {
                            let d = gather(rows, s, r * rowStride)
                            let t = inputColumn(d.0, d.1, d.2, d.3, d.4, d.5)
                            let o0 = out + 6 * r * plane
                            store(t.0, o0); store(t.1, o0 + plane); store(t.2, o0 + 2 * plane)
                            store(t.3, o0 + 3 * plane); store(t.4, o0 + 4 * plane); store(t.5, o0 + 5 * plane)
                        }
                    }
                }
            }
        }
    }

    /// transformInput for 4×4 images (one tile each: the last stage of a 28×28 or 32×32 input). Eight consecutive
    /// images of one channel are 128 contiguous floats: two 8×8 transposes put each of their 16 pixels in the lanes
    /// of one vector, and the two transforms run on those with the zero border as literal zeros (the reference's
    /// padded entries are zeros too, so the results are the same bit for bit). No padded copy, whose 8-wide row
    /// stores overlap and are reloaded at once across their seams: the fastest of 20 passes over 256 images
    /// (2026-12-07, Zen 3, one thread) took 4.4 µs an image at 128 channels against 7.2 through the copy, and
    /// transformInputTwoByTwo 6.7 against 10.0 at 64@7×7, 39 against 46 at 256@8×8.
    @inline(never) static func transformInputFourByFour(_ x: UnsafePointer<Float>, channels: Int, batch: Int, b0: Int, nb: Int,
                                         into v: UnsafeMutablePointer<Float>) {
        let plane = Winograd.planeStride(rows: channels, tiles: nb)
        let zero = F8()
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * 16) { tailBuffer in
            let tail = tailBuffer.baseAddress!                   // a last group of fewer than eight images, beside zeros
            for c in 0..<channels {
                let images = x + (c * batch + b0) * 16             // [nb, 4, 4]
                var g = 0
                while g < nb {
                    var p = images + 16 * g
                    if nb - g < 8 {                                // never read past the chunk (or the tensor)
                        tail.initialize(repeating: 0, count: 8 * 16)
                        tail.update(from: p, count: (nb - g) * 16)
                        p = UnsafePointer(tail)
                    }
                    // lo.k, lane l: pixel k (rows 0 and 1) of image g + l; hi.k: pixel 8 + k (rows 2 and 3)
                    let lo = transpose((load8(p), load8(p + 16), load8(p + 32), load8(p + 48),
                                        load8(p + 64), load8(p + 80), load8(p + 96), load8(p + 112)))
                    let hi = transpose((load8(p + 8), load8(p + 24), load8(p + 40), load8(p + 56),
                                        load8(p + 72), load8(p + 88), load8(p + 104), load8(p + 120)))
                    // Bᵀ down padded columns 1 ... 4 (rows −1 and 4 zero; columns 0 and 5 are zero after it too)
                    let d1 = inputColumn(zero, lo.0, lo.4, hi.0, hi.4, zero), d2 = inputColumn(zero, lo.1, lo.5, hi.1, hi.5, zero)
                    let d3 = inputColumn(zero, lo.2, lo.6, hi.2, hi.6, zero), d4 = inputColumn(zero, lo.3, lo.7, hi.3, hi.7, zero)
                    let out = v + c * nb + g
                    /// B across transformed row r into planes 6r ... 6r + 5.
                    @inline(__always) func row(_ r: Int) {
                        let t = inputColumn(zero, element(d1, r), element(d2, r), element(d3, r), element(d4, r), zero)
                        let o0 = out + 6 * r * plane
                        store(t.0, o0); store(t.1, o0 + plane); store(t.2, o0 + 2 * plane)
                        store(t.3, o0 + 3 * plane); store(t.4, o0 + 4 * plane); store(t.5, o0 + 5 * plane)
                    }
                    row(0); row(1); row(2); row(3); row(4); row(5)
                    g += 8
                }
            }
        }
    }

    /// transformInput for images of two tiles by two (5 to 8 wide and high: the 7×7 stage of a 28×28 input, the 8×8
    /// one of 32×32), eight images at a time: each image row of the eight is loaded whole and transposed, so
    /// pixels[y + 1][x + 1], lane l, is pixel (y, x) of image g + l inside a zero border (the reference's padding);
    /// then, per row of tiles, Bᵀ down every padded column and B across each tile's six, as the reference does,
    /// and each plane's four vectors (one per tile of the images) interleaved into the images' 32 columns.
    @inline(never) static func transformInputTwoByTwo(_ x: UnsafePointer<Float>, channels: Int, batch: Int, h: Int, w: Int, b0: Int, nb: Int,
                                       into v: UnsafeMutablePointer<Float>) {
        let tileCount = nb * 4
        let plane = Winograd.planeStride(rows: channels, tiles: tileCount)
        withUnsafeTemporaryAllocation(of: F8.self, capacity: 10 * 10 + 6 * 10 + 36 * 4) { scratch in
            // pixels [10, 10] (zero border), down [6, 10] (one row of tiles after Bᵀ), planes [36, 4] (a plane's four tiles)
            let (pixels, down, planes) = (scratch.baseAddress!, scratch.baseAddress! + 100, scratch.baseAddress! + 160)
            pixels.initialize(repeating: F8(), count: 100)
            // Each loaded row's lanes from w on (the next row's first pixels) cleared bitwise, so the pixels right of the
            // image are +0 as in the reference and all eight go in at constant places.
            let inRow = unsafeBitCast(SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .< SIMD8<Int32>(repeating: Int32(w)), to: SIMD8<UInt32>.self)
            for c in 0..<channels {
                let images = x + (c * batch + b0) * h * w
                var g = 0
                while g < nb {
                    let count = min(8, nb - g)
                    for y in 0..<h {
                        /// Row y of image g + l: eight floats from it, but never past the group's last image.
                        @inline(__always) func row(_ l: Int) -> F8 {
                            let p = images + ((g + l) * h + y) * w
                            if l < count - 1 || (l == count - 1 && (y < h - 1 || w == 8)) {
                                return unsafeBitCast(unsafeBitCast(load8(p), to: SIMD8<UInt32>.self) & inRow, to: F8.self)
                            }
                            return l < count ? Winograd.loadPrefix8(p, w) : F8()
                        }
                        let t = transpose((row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)))
                        let p = pixels + (y + 1) * 10 + 1
                        (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]) = t
                    }
                    for tyi in 0..<2 {
                        for q in 0..<10 {                // Bᵀ down padded column q of padded rows 4·tyi ... 4·tyi + 5
                            let p = pixels + 4 * tyi * 10 + q
                            let t = inputColumn(p[0], p[10], p[20], p[30], p[40], p[50])
                            (down[q], down[10 + q], down[20 + q], down[30 + q], down[40 + q], down[50 + q]) = t
                        }
                        for txi in 0..<2 {
                            for r in 0..<6 {
                                let d = down + r * 10 + 4 * txi
                                let t = inputColumn(d[0], d[1], d[2], d[3], d[4], d[5])
                                let at = planes + 6 * r * 4 + 2 * tyi + txi
                                (at[0], at[4], at[8], at[12], at[16], at[20]) = t
                            }
                        }
                    }
                    let out = v + c * tileCount + 4 * g
                    for xi in 0..<36 {
                        let t = planes + 4 * xi
                        storeInterleaved(t[0], t[1], t[2], t[3], 4 * count, out + xi * plane)
                    }
                    g += 8
                }
            }
        }
    }

    /// transformOutput for small images.   M [36 planes of O × (nb·ty·tx)] → y: [O, B, h, w]
    /// Per eight tiles: Aᵀ down each column and A across each row with a tile in each lane, then two 8×8
    /// transposes give each tile's four rows, stored whole: straight into y when the tiles cover the image
    /// exactly (4×4, 8×8), else into a padded copy that is cropped into y once the channel is done.
    static func transformOutputGathered(_ mm: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                        b0: Int, nb: Int, into y: UnsafeMutablePointer<Float>, epilogue: Winograd.Epilogue<Float>?) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx
        let plane = Winograd.planeStride(rows: o, tiles: tileCount)
        let exact = h == 4 * ty && w == 4 * tx
        let (stride, planeSize) = (4 * tx, 16 * ty * tx)               // the padded copy: [nb, 4·ty, 4·tx]
        withUnsafeTemporaryAllocation(of: Float.self, capacity: exact ? 0 : nb * planeSize) { padBuffer in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: (tileCount + 7) / 8 * 8) { startBuffer in
                let starts = startBuffer.baseAddress!                 // tile t's first output in an image-sized plane of `stride`
                windowStarts(starts, tileCount: tileCount, ty: ty, tx: tx, planeSize: planeSize, tileRow: 4 * stride)
                for oc in 0..<o {
                    let image0 = (oc * batch + b0) * h * w
                    let out = exact ? y + image0 : padBuffer.baseAddress!
                    var t0 = 0
                    while t0 < tileCount {
                        // Aᵀ down each of the six columns, then A across each of the four rows: r.j, lane l = tile t0 + l.
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
                            let p = out + starts[t0 + l]
                            let (a, b) = (entry(upper, l), entry(lower, l))
                            store4(a.lowHalf, p); store4(a.highHalf, p + stride); store4(b.lowHalf, p + 2 * stride); store4(b.highHalf, p + 3 * stride)
                        }
                        t0 += 8
                    }
                    if !exact {                                       // the h×w corner of each padded image into y
                        for i in 0..<nb {
                            for yy in 0..<h { VectorKernels.copyShort(out + i * planeSize + yy * stride, w, y + image0 + (i * h + yy) * w) }
                        }
                    }
                    if let epilogue {                                 // the channel's images, while they are in cache
                        for i in 0..<nb { epilogue.apply(y, channel: oc, image: image0 + i * h * w, count: h * w) }
                    }
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
                windowStarts(starts, tileCount: tileCount, ty: ty, tx: tx, planeSize: planeSize, tileRow: 4 * stride)
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

    @inline(__always) static func entry(_ v: Rows8, _ k: Int) -> F8 {
        switch k { case 0: v.0; case 1: v.1; case 2: v.2; case 3: v.3; case 4: v.4; case 5: v.5; case 6: v.6; default: v.7 }
    }
}
