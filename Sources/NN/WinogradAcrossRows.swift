/// Winograd F(2×2, 3×3)'s Float transforms for rows of 1, 2 or 4 tiles (images up to 8 wide: layers 3
/// and 4 of a 28- or 32-pixel ResNet), where a vector along one row of tiles (WinogradVector.swift) would
/// leave half to seven eighths of its lanes empty. Here a vector holds 8/tx consecutive rows of tiles —
/// t is (image, tile row, tile column), so they are adjacent in V and M — of one image or, below 8×8, of
/// several; the arithmetic is the row-wise version's, value for value (WinogradTransformTests, bit for bit).
/// Measured (`bench winograd`, the binaries before and after alternating): the input transform at 4×4
/// 9.2–10.5 → 5.2–5.5 µs per image (128 channels), at 7×7 9.5–9.7 → 7.5–8.0 (64 channels); the output
/// transform's share of the 28×28 layer's in the same run, 4×4 0.54–0.79 → 0.39–0.49, 7×7 0.54–0.81 → 0.48–0.56.
/// The output-gradient transform likewise.
extension Winograd {
    /// transformInputVector for rows of 1, 2 or 4 tiles (images up to 8 wide), where a vector along one row
    /// would leave half or more of its lanes empty: here a vector holds 8/tx consecutive rows of tiles (of
    /// one image or, below 8×8, of several), gathered by short loads from the split columns of every image
    /// of the chunk; then the same Bᵀ down the rows and B across the columns, value for value.
    static func transformInputAcrossRows(_ x: UnsafePointer<Float>, channels: Int, batch: Int, h: Int, w: Int,
                                         b0: Int, nb: Int, into v: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx, tileRows = nb * ty
        let plane = planeStride(rows: channels, tiles: tileCount)
        let kp = vectorTiles(tx) + lanes              // even/odd entries per padded row (splitColumns' layout)
        let imageStride = 2 * (2 * ty + 2) * kp       // one image's split: [padded rows, 2 (even, odd), kp]
        let scratchCount = nb * imageStride + 8 * kp + 16 * lanes
        withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { scratch in
            let split = scratch.baseAddress!                         // [nb images] of splits
            let zeroRow = split + nb * imageStride                    // [4 rows, 2, kp] zeros: tile rows past the chunk
            let t = zeroRow + 8 * kp                                  // [4 rows r, 4 columns j] vectors: Bᵀ·d
            split.initialize(repeating: 0, count: scratchCount)       // the padding stays zero for every channel
            for c in 0..<channels {
                for i in 0..<nb { splitColumns(x + (c * batch + b0 + i) * h * w, h: h, w: w, kp: kp, into: split + i * imageStride) }
                var g0 = 0                                            // first tile row (over the chunk's images) of the vector
                var tileRow = (image: 0, row: 0)                      // (g0 / ty, g0 % ty), kept without dividing
                while g0 < tileRows {
                    // Padded row 2·tyi of each of the vector's 8/tx tile rows (row r is r·2·kp further; even columns,
                    // then odd at +kp); zeros past the chunk.
                    var rows = (zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow)
                    var next = tileRow
                    withUnsafeMutableBytes(of: &rows) { raw in
                        let p = raw.bindMemory(to: UnsafeMutablePointer<Float>.self)
                        for k in 0..<min(lanes / tx, tileRows - g0) {
                            p[k] = split + next.image * imageStride + 2 * next.row * 2 * kp
                            next.row += 1
                            if next.row == ty { next = (next.image + 1, 0) }
                        }
                    }
                    tileRow = next
                    /// Entry (r, j) of the 8 tiles' 4×4 patches: j = 0, 1, 2, 3 is even[q], odd[q], even[q+1], odd[q+1].
                    @inline(__always) func patch(_ r: Int, _ j: Int) -> F8 {
                        let offset = r * 2 * kp + (j % 2) * kp + j / 2
                        @inline(__always) func at(_ p: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> { UnsafePointer(p + offset) }
                        switch tx {
                        case 4: return F8(lowHalf: load4(at(rows.0)), highHalf: load4(at(rows.1)))
                        case 2: return F8(lowHalf: SIMD4(lowHalf: load2(at(rows.0)), highHalf: load2(at(rows.1))),
                                          highHalf: SIMD4(lowHalf: load2(at(rows.2)), highHalf: load2(at(rows.3))))
                        default: return F8(at(rows.0)[0], at(rows.1)[0], at(rows.2)[0], at(rows.3)[0],
                                           at(rows.4)[0], at(rows.5)[0], at(rows.6)[0], at(rows.7)[0])
                        }
                    }
                    for j in 0..<4 {                                  // Bᵀ down the four rows of column j
                        let (a, b, cc, e) = (patch(0, j), patch(1, j), patch(2, j), patch(3, j))
                        store(a - cc, t + j * lanes); store(b + cc, t + (4 + j) * lanes)
                        store(cc - b, t + (8 + j) * lanes); store(b - e, t + (12 + j) * lanes)
                    }
                    let out = v + c * tileCount + g0 * tx             // 8 tiles; past the chunk: the next channel's (written later) or padding
                    for r in 0..<4 {                                  // B across the columns into the ξ planes 4r ... 4r+3
                        let (a, b, cc, e) = (load8(t + 4 * r * lanes), load8(t + (4 * r + 1) * lanes),
                                             load8(t + (4 * r + 2) * lanes), load8(t + (4 * r + 3) * lanes))
                        store(a - cc, out + 4 * r * plane); store(b + cc, out + (4 * r + 1) * plane)
                        store(cc - b, out + (4 * r + 2) * plane); store(b - e, out + (4 * r + 3) * plane)
                    }
                    g0 += lanes / tx
                }
            }
        }
    }

    /// Four or two unaligned entries (also loadPrefix8's).
    @inline(__always) static func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }
    @inline(__always) static func load2(_ p: UnsafePointer<Float>) -> SIMD2<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD2<Float>.self) }

    /// transformOutputVector for rows of 1, 2 or 4 tiles: Aᵀ·m·A on 8 tiles at once, then each of the
    /// vector's rows of tiles interleaved into its (up to) two output rows; an image's epilogue runs as soon
    /// as its last row of tiles is written.
    static func transformOutputAcrossRows(_ mm: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                          b0: Int, nb: Int, into y: UnsafeMutablePointer<Float>, epilogue: Epilogue<Float>?) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx, tileRows = nb * ty
        let plane = planeStride(rows: o, tiles: tileCount)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * lanes) { scratch in
            let s = scratch.baseAddress!                      // [upper even, upper odd, lower even, lower odd] × 8 tiles
            for oc in 0..<o {
                var g = 0, tileRow = (image: 0, row: 0)       // tile row over the chunk, as (g / ty, g % ty)
                while g < tileRows {
                    @inline(__always) func m(_ r: Int, _ j: Int) -> F8 { load8(mm + (r * 4 + j) * plane + oc * tileCount + g * tx) }
                    let a0 = m(0, 0) + m(1, 0) + m(2, 0), a1 = m(0, 1) + m(1, 1) + m(2, 1)
                    let a2 = m(0, 2) + m(1, 2) + m(2, 2), a3 = m(0, 3) + m(1, 3) + m(2, 3)
                    store(a0 + a1 + a2, s); store(a1 - a2 - a3, s + lanes)
                    let c0 = m(1, 0) - m(2, 0) - m(3, 0), c1 = m(1, 1) - m(2, 1) - m(3, 1)
                    let c2 = m(1, 2) - m(2, 2) - m(3, 2), c3 = m(1, 3) - m(2, 3) - m(3, 3)
                    store(c0 + c1 + c2, s + 2 * lanes); store(c1 - c2 - c3, s + 3 * lanes)
                    for k in 0..<min(lanes / tx, tileRows - g) {
                        let image = (oc * batch + b0 + tileRow.image) * h * w
                        for half in 0..<2 where 2 * tileRow.row + half < h {     // output rows 2·tyi and 2·tyi + 1
                            let even = s + 2 * half * lanes + k * tx, odd = even + lanes
                            storeInterleaved(even, odd, tx, count: w, into: y + image + (2 * tileRow.row + half) * w)
                        }
                        tileRow.row += 1
                        if tileRow.row == ty {                                   // the image's plane is complete
                            epilogue?.apply(y, channel: oc, image: image, count: h * w)
                            tileRow = (tileRow.image + 1, 0)
                        }
                    }
                    g += lanes / tx
                }
            }
        }
    }

    /// transformOutputGradientVector for rows of 1, 2 or 4 tiles: each of the vector's rows of tiles reads its
    /// two dOut rows (zero below the image), split into even and odd columns side by side, then A·dY·Aᵀ on
    /// 8 tiles at once.
    static func transformOutputGradientAcrossRows(_ dy: UnsafePointer<Float>, outChannels o: Int, batch: Int, h: Int, w: Int,
                                                  b0: Int, nb: Int, into mg: UnsafeMutablePointer<Float>) {
        let (ty, tx) = tiles(h, w)
        let tileCount = nb * ty * tx, tileRows = nb * ty
        let plane = planeStride(rows: o, tiles: tileCount)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * lanes) { scratch in
            let s = scratch.baseAddress!                      // [upper even, upper odd, lower even, lower odd] × 8 tiles
            for oc in 0..<o {
                var g = 0, tileRow = (image: 0, row: 0)       // tile row over the chunk, as (g / ty, g % ty)
                while g < tileRows {
                    s.initialize(repeating: 0, count: 4 * lanes)                 // past the chunk and below the image: zero
                    for k in 0..<min(lanes / tx, tileRows - g) {
                        let src = dy + (oc * batch + b0 + tileRow.image) * h * w
                        for half in 0..<2 where 2 * tileRow.row + half < h {     // dOut rows 2·tyi and 2·tyi + 1
                            let row = loadPrefix(src + (2 * tileRow.row + half) * w, w).lowHalf   // w ≤ 8; zero past it
                            storeSplit(row, tx, even: s + 2 * half * lanes + k * tx, odd: s + (2 * half + 1) * lanes + k * tx)
                        }
                        tileRow.row += 1
                        if tileRow.row == ty { tileRow = (tileRow.image + 1, 0) }
                    }
                    let (a0, b0v, a1, b1) = (load8(s), load8(s + lanes), load8(s + 2 * lanes), load8(s + 3 * lanes))
                    // columns: c_i = [a, a+b, a−b, −b]; rows: [c0, c0+c1, c0−c1, −c1] (as transformOutputGradientVector)
                    let c0 = (a0, a0 + b0v, a0 - b0v, negated(b0v)), c1 = (a1, a1 + b1, a1 - b1, negated(b1))
                    let out = mg + oc * tileCount + g * tx            // 8 tiles; past the chunk: the next channel's or padding
                    @inline(__always) func put(_ xi: Int, _ value: F8) { store(value, out + xi * plane) }
                    put(0, c0.0); put(1, c0.1); put(2, c0.2); put(3, c0.3)
                    put(4, c0.0 + c1.0); put(5, c0.1 + c1.1); put(6, c0.2 + c1.2); put(7, c0.3 + c1.3)
                    put(8, c0.0 - c1.0); put(9, c0.1 - c1.1); put(10, c0.2 - c1.2); put(11, c0.3 - c1.3)
                    put(12, negated(c1.0)); put(13, negated(c1.1)); put(14, negated(c1.2)); put(15, negated(c1.3))
                    g += lanes / tx
                }
            }
        }
    }

    /// A dOut row's first 2·tx columns as `tx` even (2q) and `tx` odd (2q + 1) entries.
    @inline(__always) static func storeSplit(_ row: F8, _ tx: Int, even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>) {
        switch tx {
        case 4:
            UnsafeMutableRawPointer(even).storeBytes(of: row.evenHalf, as: SIMD4<Float>.self)
            UnsafeMutableRawPointer(odd).storeBytes(of: row.oddHalf, as: SIMD4<Float>.self)
        case 2:
            UnsafeMutableRawPointer(even).storeBytes(of: row.lowHalf.evenHalf, as: SIMD2<Float>.self)
            UnsafeMutableRawPointer(odd).storeBytes(of: row.lowHalf.oddHalf, as: SIMD2<Float>.self)
        default: even[0] = row[0]; odd[0] = row[1]
        }
    }

    /// even[0], odd[0], even[1], odd[1], … for `tx` (1, 2 or 4) pairs, the first `count` (≥ 1) stored at p.
    @inline(__always) static func storeInterleaved(_ even: UnsafePointer<Float>, _ odd: UnsafePointer<Float>, _ tx: Int, count: Int,
                                                   into p: UnsafeMutablePointer<Float>) {
        var row = F8()
        switch tx {
        case 4: row.evenHalf = load4(even); row.oddHalf = load4(odd)
        case 2: var four = SIMD4<Float>(); four.evenHalf = load2(even); four.oddHalf = load2(odd); row.lowHalf = four
        default: row[0] = even[0]; row[1] = odd[0]
        }
        storePrefix(F16(lowHalf: row, highHalf: .zero), count, p)
    }
}
