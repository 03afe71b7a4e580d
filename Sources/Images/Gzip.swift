import CZlib
import StageKit

/// gzip files (RFC 1952) through zlib: header, CRC-32 and length checked by zlib, concatenated members
/// joined (as `gunzip` does), and the output bounded while it is produced, so a small file that
/// inflates to gigabytes (a "zip bomb") fails before it takes the memory.
public enum Gzip {
    /// The most bytes one file may inflate to (Fashion-MNIST's largest is 47 MB, 1.8× its .gz).
    public static let outputLimit = 1 << 30

    /// The limit for a file of `compressed` bytes: 256 MiB, or 32× its size when that is more, at most
    /// `outputLimit` — so a small zip bomb stops early.
    public static func limit(compressed: Int) -> Int { min(outputLimit, max(256 << 20, compressed.multipliedReportingOverflow(by: 32).overflow ? .max : compressed * 32)) }

    /// True when the bytes start with the gzip magic 1F 8B.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// Decompresses a whole gzip file; every fault is a `StageError` naming `path`.
    public static func decompress(_ bytes: [UInt8], path: String, limit: Int? = nil) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try decompress($0, path: path, limit: limit ?? Gzip.limit(compressed: bytes.count)) }
    }

    public static func decompress(_ bytes: UnsafeRawBufferPointer, path: String, limit: Int) throws -> [UInt8] {
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw StageError(path, "not a gzip file (empty)") }
        guard n >= 2, base[0] == 0x1F, base[1] == 0x8B else {
            throw StageError(path, "not a gzip file (magic \(hex(base[0])) \(n > 1 ? hex(base[1]) : "--"))")
        }
        func fail(_ what: String) -> StageError { StageError(path, "corrupt gzip file: \(what)") }
        if n >= 3 && base[2] != 8 { throw fail("unknown compression method \(base[2])") }

        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw StageError(path, "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, n * 4))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var consumed = 0                                        // input bytes handed to zlib so far
        var memberHasOutput = false
        while true {
            if stream.avail_in == 0 && consumed < n {           // feed at most 4 GiB at a time (avail_in is 32-bit)
                let take = min(n - consumed, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: base + consumed)
                stream.avail_in = UInt32(take)
                consumed += take
            }
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { c -> (Int32, Int) in
                stream.next_out = c.baseAddress
                stream.avail_out = UInt32(c.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                return (status, c.count - Int(stream.avail_out))
            }
            if produced > 0 {
                guard out.count + produced <= limit else {
                    throw StageError(path, "inflates to more than \(limit >> 20) MiB (the gzip limit); is it really an image file?")
                }
                out.append(contentsOf: chunk[0..<produced])
                memberHasOutput = true
            }
            switch status {
            case Z_STREAM_END:
                let left = Int(stream.avail_in) + (n - consumed)
                if left == 0 { return out }
                let next = stream.next_in!
                guard left >= 2, next[0] == 0x1F, next[1] == 0x8B else {
                    throw fail("\(left) bytes of trailing garbage after the compressed data")
                }
                inflateReset(&stream)                           // the next member of a concatenated file
                memberHasOutput = false
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0 && consumed == n:
                throw fail(memberHasOutput ? "truncated (the data or its CRC-32 and length trailer is missing)" : "truncated header")
            case Z_BUF_ERROR:
                continue
            case Z_DATA_ERROR:
                let why = stream.msg.map { String(cString: $0) } ?? "invalid data"
                throw fail(why == "incorrect data check" ? "CRC-32 mismatch (the file is damaged)"
                           : why == "incorrect length check" ? "length mismatch in the trailer" : why)
            case Z_MEM_ERROR:
                throw StageError(path, "out of memory while inflating")
            default:
                throw fail("zlib status \(status)")
            }
        }
    }

    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }
}

/// CRC-32 (IEEE 802.3, as gzip uses), from zlib.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        var c: uLong = crc32(0, nil, 0)
        var offset = 0
        while offset < bytes.count {                            // zlib takes 32-bit lengths
            let take = min(bytes.count - offset, Int(UInt32.max))
            c = crc32(c, base + offset, uInt(take))
            offset += take
        }
        return UInt32(truncatingIfNeeded: c)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBufferPointer { checksum($0) } }
}
