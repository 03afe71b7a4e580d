import StageKit

/// DEFLATE decompression (RFC 1951), written here because zlib is not one of the project's C libraries.
///
/// Huffman codes are decoded with a 10-bit lookup table (codes up to 10 bits in one step); the rare longer
/// codes fall back to canonical bit-by-bit decoding. The bit buffer is refilled once per symbol pair, which
/// holds enough bits for a length code, its extra bits, a distance code and its extra bits (≤ 48 bits).
struct InflateError: Error { let message: String }

/// A canonical Huffman code: counts per length and symbols sorted by (length, value), plus the fast table.
struct HuffmanCode {
    static let fastBits = 10
    var counts = [Int](repeating: 0, count: 16)      // [16] codes per length
    var symbols: [Int]                                 // [n] symbols in canonical order
    var fast: [UInt32]                                 // [1 << fastBits] symbol << 4 | length, 0 = slow path

    /// `lengths[s]` is the code length of symbol s (0 = unused).
    init(lengths: [Int], name: String) throws {
        symbols = []
        fast = [UInt32](repeating: 0, count: 1 << Self.fastBits)
        for l in lengths { counts[l] += 1 }
        counts[0] = 0
        var left = 1
        for len in 1...15 {
            left = left * 2 - counts[len]
            if left < 0 { throw InflateError(message: "over-subscribed \(name) code") }
        }
        var offsets = [Int](repeating: 0, count: 16)
        for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
        symbols = [Int](repeating: 0, count: offsets[15] + counts[15])
        for (s, l) in lengths.enumerated() where l > 0 {
            symbols[offsets[l]] = s
            offsets[l] += 1
        }
        // Fast table: canonical codes in order, bit-reversed because DEFLATE sends codes MSB first.
        var code = 0, index = 0
        for len in 1...15 {
            for _ in 0..<counts[len] {
                if len <= Self.fastBits {
                    var rev = 0
                    for b in 0..<len where code & (1 << b) != 0 { rev |= 1 << (len - 1 - b) }
                    let entry = UInt32(symbols[index]) << 4 | UInt32(len)
                    var j = rev
                    while j < (1 << Self.fastBits) { fast[j] = entry; j += 1 << len }
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
    }
}

/// Reads bits least-significant first from a byte buffer; past the end it feeds zero bytes and counts them,
/// so that truncation is detected once those zeros are actually consumed.
struct BitReader {
    let bytes: UnsafePointer<UInt8>
    let count: Int
    var pos: Int
    var bits: UInt64 = 0
    var available = 0
    var padding = 0

    init(_ bytes: UnsafePointer<UInt8>, count: Int, start: Int) {
        self.bytes = bytes
        self.count = count
        pos = start
    }

    @inline(__always) mutating func refill() throws {
        if pos + 8 <= count && available < 56 {
            bits |= UnsafeRawPointer(bytes + pos).loadUnaligned(as: UInt64.self).littleEndian << UInt64(available)
            let take = (63 - available) >> 3
            pos += take
            available += take * 8
            return
        }
        while available <= 56 {
            if pos < count { bits |= UInt64(bytes[pos]) << UInt64(available); pos += 1 } else { padding += 1 }
            available += 8
        }
        if padding > 8 { throw InflateError(message: "unexpected end of data") }
    }

    @inline(__always) mutating func take(_ n: Int) -> Int {
        let v = Int(bits & ((1 << UInt64(n)) - 1))
        bits >>= UInt64(n)
        available -= n
        return v
    }

    /// Bits consumed so far must lie within the input.
    func checkNotOverrun() throws {
        if padding * 8 > available { throw InflateError(message: "unexpected end of data") }
    }

    /// Drops the bits up to the next byte boundary and hands back whole unread bytes; returns the byte position.
    mutating func alignToByte() throws -> Int {
        try checkNotOverrun()
        _ = take(available & 7)
        let unread = available / 8 - padding
        pos -= unread
        bits = 0
        available = 0
        padding = 0
        return pos
    }

    @inline(__always) mutating func decode(_ h: HuffmanCode) throws -> Int {
        let e = h.fast[Int(bits & UInt64((1 << HuffmanCode.fastBits) - 1))]
        if e != 0 {
            _ = take(Int(e & 15))
            return Int(e >> 4)
        }
        // Slow path for codes longer than the table: walk the canonical code one bit at a time.
        var code = 0, first = 0, index = 0
        for len in 1...15 {
            code |= take(1)
            let n = h.counts[len]
            if code - first < n { return h.symbols[index + code - first] }
            index += n
            first = (first + n) << 1
            code <<= 1
        }
        throw InflateError(message: "invalid Huffman code")
    }
}

/// A growable output buffer (raw memory, so appends in the hot loop don't go through Array's checks).
/// It may start in memory it does not own (an Array's storage, so the common case needs no final copy);
/// growing moves it to memory it owns.
struct OutputBuffer {
    var base: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var count = 0
    var owned: Bool

    init(capacity: Int) {
        self.capacity = max(capacity, 1024)
        base = .allocate(capacity: self.capacity)
        owned = true
    }

    init(borrowing memory: UnsafeMutablePointer<UInt8>, capacity: Int) {
        base = memory
        self.capacity = capacity
        owned = false
    }

    @inline(__always) mutating func reserve(_ extra: Int) {
        if count + extra <= capacity { return }
        let newCapacity = max(capacity * 2, count + extra, 1024)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: base, count: count)
        if owned { base.deallocate() }
        base = bigger
        capacity = newCapacity
        owned = true
    }

    func toArray(from start: Int = 0) -> [UInt8] { Array(UnsafeBufferPointer(start: base + start, count: count - start)) }
    func free() { if owned { base.deallocate() } }
}

enum Inflate {
    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    static let fixed: (HuffmanCode, HuffmanCode) = {
        var lengths = [Int](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        return (try! HuffmanCode(lengths: lengths, name: "fixed literal/length"),
                try! HuffmanCode(lengths: [Int](repeating: 5, count: 30), name: "fixed distance"))
    }()

    /// Decompresses one DEFLATE stream starting at byte `start`, appending to `out`; returns the position of
    /// the first byte after the stream. Back-references may reach only into this stream's own output.
    static func inflate(_ bytes: UnsafePointer<UInt8>, count: Int, start: Int, into out: inout OutputBuffer) throws -> Int {
        var reader = BitReader(bytes, count: count, start: start)
        let streamStart = out.count
        while true {
            try reader.refill()
            let final = reader.take(1)
            let type = reader.take(2)
            switch type {
            case 0:
                var p = try reader.alignToByte()
                guard p + 4 <= count else { throw InflateError(message: "unexpected end of data in a stored block") }
                let len = Int(bytes[p]) | Int(bytes[p + 1]) << 8
                let nlen = Int(bytes[p + 2]) | Int(bytes[p + 3]) << 8
                guard len == (~nlen & 0xFFFF) else { throw InflateError(message: "stored block length check failed") }
                p += 4
                guard p + len <= count else { throw InflateError(message: "unexpected end of data in a stored block") }
                out.reserve(len)
                (out.base + out.count).update(from: bytes + p, count: len)
                out.count += len
                reader = BitReader(bytes, count: count, start: p + len)
            case 1:
                try decodeBlock(&reader, fixed.0, fixed.1, &out, streamStart)
            case 2:
                let (lit, dist) = try readDynamicCodes(&reader)
                try decodeBlock(&reader, lit, dist, &out, streamStart)
            default:
                throw InflateError(message: "invalid block type 3")
            }
            if final == 1 { return try reader.alignToByte() }
        }
    }

    static func readDynamicCodes(_ r: inout BitReader) throws -> (HuffmanCode, HuffmanCode) {
        try r.refill()
        let nlit = r.take(5) + 257, ndist = r.take(5) + 1, nclen = r.take(4) + 4
        guard nlit <= 286, ndist <= 30 else { throw InflateError(message: "too many length or distance codes") }
        var clen = [Int](repeating: 0, count: 19)
        for i in 0..<nclen {
            if i % 12 == 0 { try r.refill() }
            clen[codeLengthOrder[i]] = r.take(3)
        }
        let lengthCode = try HuffmanCode(lengths: clen, name: "code length")
        var lengths = [Int](repeating: 0, count: nlit + ndist)
        var i = 0
        while i < nlit + ndist {
            try r.refill()
            let sym = try r.decode(lengthCode)
            if sym < 16 { lengths[i] = sym; i += 1; continue }
            var repeatValue = 0, times = 0
            switch sym {
            case 16:
                guard i > 0 else { throw InflateError(message: "repeat of a code length with no previous length") }
                repeatValue = lengths[i - 1]; times = 3 + r.take(2)
            case 17: times = 3 + r.take(3)
            default: times = 11 + r.take(7)
            }
            guard i + times <= nlit + ndist else { throw InflateError(message: "code lengths overflow the table") }
            for _ in 0..<times { lengths[i] = repeatValue; i += 1 }
        }
        guard lengths[256] > 0 else { throw InflateError(message: "no end-of-block code") }
        return (try HuffmanCode(lengths: Array(lengths[0..<nlit]), name: "literal/length"),
                try HuffmanCode(lengths: Array(lengths[nlit...]), name: "distance"))
    }

    /// The hot loop: tables are read through raw pointers and a second literal is taken from the bits
    /// already loaded. Output space is reserved exactly (never ahead), so an exactly-sized buffer never grows.
    static func decodeBlock(_ r: inout BitReader, _ lit: HuffmanCode, _ dist: HuffmanCode,
                            _ out: inout OutputBuffer, _ streamStart: Int) throws {
        let mask = UInt64((1 << HuffmanCode.fastBits) - 1)
        try lit.fast.withUnsafeBufferPointer { litFast in
            try dist.fast.withUnsafeBufferPointer { distFast in
                try lengthBase.withUnsafeBufferPointer { lbase in
                    try lengthExtra.withUnsafeBufferPointer { lextra in
                        try distBase.withUnsafeBufferPointer { dbase in
                            try distExtra.withUnsafeBufferPointer { dextra in
                                while true {
                                    try r.refill()
                                    var sym: Int
                                    let e = litFast[Int(r.bits & mask)]
                                    if e != 0 {
                                        let len = Int(e & 15)
                                        r.bits >>= UInt64(len)
                                        r.available -= len
                                        sym = Int(e >> 4)
                                    } else {
                                        sym = try r.decode(lit)
                                    }
                                    if sym < 256 {
                                        if out.count == out.capacity { out.reserve(1) }
                                        out.base[out.count] = UInt8(truncatingIfNeeded: sym)
                                        out.count += 1
                                        // A second literal often fits in the bits already loaded.
                                        if r.available >= 15 && out.count < out.capacity {
                                            let e2 = litFast[Int(r.bits & mask)]
                                            if e2 != 0 && e2 >> 4 < 256 {
                                                let len = Int(e2 & 15)
                                                r.bits >>= UInt64(len)
                                                r.available -= len
                                                out.base[out.count] = UInt8(truncatingIfNeeded: e2 >> 4)
                                                out.count += 1
                                            }
                                        }
                                        continue
                                    }
                                    if sym == 256 { try r.checkNotOverrun(); return }
                                    let li = sym - 257
                                    guard li < 29 else { throw InflateError(message: "invalid length symbol \(sym)") }
                                    let length = lbase[li] + r.take(lextra[li])
                                    var ds: Int
                                    let d = distFast[Int(r.bits & mask)]
                                    if d != 0 {
                                        let len = Int(d & 15)
                                        r.bits >>= UInt64(len)
                                        r.available -= len
                                        ds = Int(d >> 4)
                                    } else {
                                        ds = try r.decode(dist)
                                    }
                                    guard ds < 30 else { throw InflateError(message: "invalid distance symbol \(ds)") }
                                    let distance = dbase[ds] + r.take(dextra[ds])
                                    guard distance <= out.count - streamStart else {
                                        throw InflateError(message: "distance \(distance) reaches before the start of the data")
                                    }
                                    if out.count + length > out.capacity { out.reserve(length) }
                                    let dst = out.base + out.count
                                    let src = dst - distance
                                    if distance >= length {
                                        dst.update(from: src, count: length)
                                    } else {
                                        for k in 0..<length { dst[k] = src[k] }
                                    }
                                    out.count += length
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
