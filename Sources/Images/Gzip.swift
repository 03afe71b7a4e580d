import StageKit

/// The gzip container (RFC 1952) around DEFLATE: header fields checked, CRC-32 and length verified,
/// concatenated members joined (as `gunzip` does).
public enum Gzip {
    /// True when the bytes start with the gzip magic 1F 8B.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// Decompresses a whole gzip file; every fault is a `StageError` naming `path`.
    public static func decompress(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try decompress($0, path: path) }
    }

    /// The same from raw memory. The output is inflated straight into the returned array's storage when the
    /// trailer's length field predicts its size (one member under 4 GiB), so no copy is needed at the end.
    public static func decompress(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        let n = bytes.count
        guard n > 0 else { throw StageError(path, "not a gzip file (empty)") }
        let p = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // The last member's ISIZE (length mod 2^32), capped by DEFLATE's best ratio (~1032:1) so that a
        // damaged trailer cannot make us reserve gigabytes.
        let isize = n >= 4 ? Int(UInt32(p[n - 4]) | UInt32(p[n - 3]) << 8 | UInt32(p[n - 2]) << 16 | UInt32(p[n - 1]) << 24) : 0
        let guess = max(1, min(isize, n * 1032 + 1024))
        var grown: [UInt8]?
        let direct = try [UInt8](unsafeUninitializedCapacity: guess) { storage, initialized in
            var out = OutputBuffer(borrowing: storage.baseAddress!, capacity: storage.count)
            defer { out.free() }
            var pos = 0
            repeat {
                pos = try member(p, n, pos, &out, path: path)
            } while pos < n
            if out.owned { grown = out.toArray() } else { initialized = out.count }
        }
        return grown ?? direct
    }

    /// One gzip member at `pos`; returns the position after its trailer.
    static func member(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int, _ out: inout OutputBuffer, path: String) throws -> Int {
        func fail(_ what: String) -> StageError { StageError(path, "corrupt gzip file: \(what)") }
        var pos = start
        guard n - pos >= 18 else { throw fail(start == 0 ? "too short (\(n) bytes)" : "\(n - pos) bytes of trailing garbage") }
        guard p[pos] == 0x1F, p[pos + 1] == 0x8B else {
            throw start == 0 ? StageError(path, "not a gzip file (magic \(hex(p[0])) \(hex(p[1])))")
                             : fail("\(n - pos) bytes of trailing garbage after the compressed data")
        }
        guard p[pos + 2] == 8 else { throw fail("unknown compression method \(p[pos + 2])") }
        let flags = p[pos + 3]
        guard flags & 0xE0 == 0 else { throw fail("reserved header flags set") }
        pos += 10
        if flags & 0x04 != 0 {                                         // FEXTRA: 2-byte length, then data
            guard pos + 2 <= n else { throw fail("truncated header") }
            pos += 2 + (Int(p[pos]) | Int(p[pos + 1]) << 8)
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {      // FNAME, FCOMMENT: zero-terminated
            while pos < n && p[pos] != 0 { pos += 1 }
            pos += 1
        }
        if flags & 0x02 != 0 { pos += 2 }                              // FHCRC
        guard pos <= n else { throw fail("truncated header") }
        let first = out.count
        do {
            pos = try Inflate.inflate(p, count: n, start: pos, into: &out)
        } catch let e as InflateError {
            throw fail(e.message)
        }
        guard pos + 8 <= n else { throw fail("truncated (missing the CRC-32 and length trailer)") }
        let crc = CRC32.checksum(UnsafeBufferPointer(start: out.base + first, count: out.count - first))
        let storedCRC = UInt32(p[pos]) | UInt32(p[pos + 1]) << 8 | UInt32(p[pos + 2]) << 16 | UInt32(p[pos + 3]) << 24
        let storedSize = UInt32(p[pos + 4]) | UInt32(p[pos + 5]) << 8 | UInt32(p[pos + 6]) << 16 | UInt32(p[pos + 7]) << 24
        guard crc == storedCRC else { throw fail("CRC-32 mismatch (the file is damaged)") }
        guard storedSize == UInt32(truncatingIfNeeded: out.count - first) else { throw fail("length mismatch in the trailer") }
        return pos + 8
    }

    static func hex(_ b: UInt8) -> String { String(b, radix: 16, uppercase: true).count == 1 ? "0" + String(b, radix: 16, uppercase: true) : String(b, radix: 16, uppercase: true) }
}

/// CRC-32 (IEEE 802.3, reflected, as gzip uses), slicing by 8 bytes at a time.
public enum CRC32 {
    static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xFF)] }
        }
        return t
    }()
    static let flat: [UInt32] = tables.flatMap { $0 }   // [8 × 256]

    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        guard let base = bytes.baseAddress else { return 0 }
        let n = bytes.count
        flat.withUnsafeBufferPointer { t in
            var i = 0
            while i + 8 <= n {
                let lo = UnsafeRawPointer(base + i).loadUnaligned(as: UInt32.self).littleEndian ^ c
                let hi = UnsafeRawPointer(base + i + 4).loadUnaligned(as: UInt32.self).littleEndian
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(base[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBufferPointer { checksum($0) } }
}
