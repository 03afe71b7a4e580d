import CZstd
import Foundation

/// Where one tensor lives inside a file's data section.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let begin: Int
    public let end: Int
    public var count: Int { shape.reduce(1, *) }
}

/// Whether the zstd frame carried a content checksum (verified while decompressing when present).
public enum ChecksumStatus: String, Sendable { case verified, absent }

/// A `.safetensors.zst` file, read and fully validated. The decompressed bytes are held once;
/// typed accessors copy one tensor out, so reading needs at most about twice the uncompressed size.
public final class TensorFile: @unchecked Sendable {
    public let path: String
    public let metadata: [String: String]
    public let tensors: [TensorInfo]          // in data order
    public let checksum: ChecksumStatus
    public let uncompressedSize: Int
    private let buffer: UnsafeMutableRawBufferPointer
    private let dataStart: Int
    private let byName: [String: Int]

    /// Maximum safetensors header, as in the reference implementation.
    public static let maxHeaderBytes = 100_000_000

    init(path: String, metadata: [String: String], tensors: [TensorInfo], checksum: ChecksumStatus,
         buffer: UnsafeMutableRawBufferPointer, dataStart: Int) {
        self.path = path
        self.metadata = metadata
        self.tensors = tensors
        self.checksum = checksum
        self.buffer = buffer
        self.dataStart = dataStart
        uncompressedSize = buffer.count
        byName = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    deinit { buffer.deallocate() }

    public var names: [String] { tensors.map(\.name) }

    public func has(_ name: String) -> Bool { byName[name] != nil }

    public func info(_ name: String) throws -> TensorInfo {
        guard let i = byName[name] else {
            throw TensorFileError(path, "has no tensor '\(name)' (it has: \(names.joined(separator: ", ")))")
        }
        return tensors[i]
    }

    /// The tensor `name` as `[T]`; the dtype must match exactly, and the shape when `shape` is given
    /// (a -1 in `shape` matches any size).
    public func array<T: TensorElement>(_ name: String, as _: T.Type = T.self, shape: [Int]? = nil) throws -> [T] {
        let t = try info(name)
        guard t.dtype == T.dtype else {
            throw TensorFileError(path, "tensor '\(name)' has dtype \(t.dtype.rawValue), expected \(T.dtype.rawValue)")
        }
        if let shape { try requireShape(t, shape) }
        return rawBytes(t).withMemoryRebound(to: UInt8.self) { src in
            [T](unsafeUninitializedCapacity: t.count) { dst, n in
                UnsafeMutableRawBufferPointer(dst).copyMemory(from: UnsafeRawBufferPointer(src))
                n = t.count
            }
        }
    }

    /// Any floating dtype (f16, bf16, f32, f64) widened or narrowed to Float.
    public func floats(_ name: String, shape: [Int]? = nil) throws -> [Float] {
        let t = try info(name)
        if let shape { try requireShape(t, shape) }
        switch t.dtype {
        case .f32: return try array(name, as: Float.self)
        case .f16: return try array(name, as: Float16.self).map(Float.init)
        case .bf16: return try array(name, as: BFloat16.self).map(\.float)
        case .f64: return try array(name, as: Double.self).map(Float.init)
        default: throw TensorFileError(path, "tensor '\(name)' has dtype \(t.dtype.rawValue), expected a floating type")
        }
    }

    /// Integer tensors (u8, i32, i64) as Int64.
    public func integers(_ name: String, shape: [Int]? = nil) throws -> [Int64] {
        let t = try info(name)
        if let shape { try requireShape(t, shape) }
        switch t.dtype {
        case .i64: return try array(name, as: Int64.self)
        case .i32: return try array(name, as: Int32.self).map(Int64.init)
        case .u8: return try array(name, as: UInt8.self).map(Int64.init)
        default: throw TensorFileError(path, "tensor '\(name)' has dtype \(t.dtype.rawValue), expected an integer type")
        }
    }

    /// The raw little-endian bytes of a tensor (valid while this object lives).
    public func rawBytes(_ t: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[(dataStart + t.begin)..<(dataStart + t.end)])
    }

    private func requireShape(_ t: TensorInfo, _ shape: [Int]) throws {
        let ok = shape.count == t.shape.count && zip(shape, t.shape).allSatisfy { $0 == -1 || $0 == $1 }
        if !ok {
            let want = shape.map { $0 == -1 ? "*" : String($0) }.joined(separator: "×")
            throw TensorFileError(path, "tensor '\(t.name)' has shape \(t.shape.map(String.init).joined(separator: "×")), expected \(want)")
        }
    }

    /// Reads and validates a file. Every fault is a `TensorFileError` naming the file.
    public static func read(_ path: String) throws -> TensorFile {
        let bytes = try decompress(path)
        do {
            return try parse(path: path, bytes: bytes.buffer, checksum: bytes.checksum)
        } catch {
            bytes.buffer.deallocate()
            throw error
        }
    }

    /// Reads only the metadata (still decompressing, hence validating, the whole frame).
    public static func metadata(_ path: String) throws -> [String: String] { try read(path).metadata }

    /// Most bytes a file may decompress to: 256 MiB, or 32× its compressed size when that is more (real
    /// tensors compress 1–6×; only a crafted frame claims more), never more than this machine's memory —
    /// so a file under 10 MB decodes to at most 320 MB. NS_MAX_DECOMPRESSED_BYTES=N replaces the rule.
    public static func decompressedLimit(compressed: Int) -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["NS_MAX_DECOMPRESSED_BYTES"], let v = UInt64(text) { return v }
        let (scaled, overflow) = UInt64(compressed).multipliedReportingOverflow(by: 32)
        return min(ProcessInfo.processInfo.physicalMemory, max(256 << 20, overflow ? .max : scaled))
    }
}

// MARK: - Decompression and parsing

extension TensorFile {
    static func decompress(_ path: String) throws -> (buffer: UnsafeMutableRawBufferPointer, checksum: ChecksumStatus) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw TensorFileError(path, "no such file") }
        if isDir.boolValue { throw TensorFileError(path, "is a folder, expected a .safetensors.zst file") }
        // Too short to hold a frame: refused from its size (Foundation's reader leaks on an empty file).
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size < 4 {
            throw TensorFileError(path, "file too short to be a zstd frame (\(size) bytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw TensorFileError(path, "cannot read file") }
        if data.count < 4 { throw TensorFileError(path, "file too short to be a zstd frame (\(data.count) bytes)") }
        return try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            let magic = src.loadUnaligned(as: UInt32.self).littleEndian
            guard magic == 0xFD2F_B528 else {
                if src.count >= 8 && src[7] == 0 && src[6] == 0 {
                    throw TensorFileError(path, "not zstd-compressed (looks like a plain .safetensors file; compress it with `zstd`)")
                }
                throw TensorFileError(path, String(format: "not a zstd frame (magic 0x%08X)", magic))
            }
            let frameSize = ZSTD_findFrameCompressedSize(src.baseAddress, src.count)
            if ZSTD_isError(frameSize) != 0 {
                throw TensorFileError(path, "truncated or corrupt zstd frame (\(String(cString: ZSTD_getErrorName(frameSize))))")
            }
            if frameSize != src.count {
                throw TensorFileError(path, "trailing garbage: \(src.count - frameSize) bytes after the zstd frame")
            }
            let content = ZSTD_getFrameContentSize(src.baseAddress, src.count)
            if content == ZSTD_CONTENTSIZE_ERROR { throw TensorFileError(path, "corrupt zstd frame header") }
            if content == ZSTD_CONTENTSIZE_UNKNOWN {
                throw TensorFileError(path, "zstd frame does not record its content size (write it with the size, e.g. ZstdCompressor().compress)")
            }
            let limit = TensorFile.decompressedLimit(compressed: src.count)
            if content > limit {
                throw TensorFileError(path, "zstd frame claims \(content) bytes, over the limit of \(limit) for a \(src.count)-byte file (NS_MAX_DECOMPRESSED_BYTES raises it)")
            }
            // Frame header descriptor: bit 2 is the content-checksum flag.
            let checksum: ChecksumStatus = (src[4] & 0x04) != 0 ? .verified : .absent
            let size = Int(content)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
            let got = ZSTD_decompress(buffer.baseAddress, size, src.baseAddress, src.count)
            if ZSTD_isError(got) != 0 {
                buffer.deallocate()
                let name = String(cString: ZSTD_getErrorName(got))
                let what = name.lowercased().contains("checksum") ? "checksum mismatch (the file was altered or damaged)" : "corrupt zstd data (\(name))"
                throw TensorFileError(path, what)
            }
            if got != size {
                buffer.deallocate()
                throw TensorFileError(path, "zstd frame decompressed to \(got) bytes, header said \(size)")
            }
            return (UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]), checksum)
        }
    }

    static func parse(path: String, bytes: UnsafeMutableRawBufferPointer, checksum: ChecksumStatus) throws -> TensorFile {
        func fail(_ m: String) -> TensorFileError { TensorFileError(path, m) }
        guard bytes.count >= 8 else { throw fail("not a safetensors file: \(bytes.count) bytes, need at least 8") }
        let headerLen = UInt64(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(as: UInt64.self))
        guard headerLen >= 2 else { throw fail("safetensors header length \(headerLen) is too small") }
        guard headerLen <= UInt64(maxHeaderBytes) else { throw fail("safetensors header length \(headerLen) exceeds the limit of \(maxHeaderBytes) bytes") }
        guard headerLen <= UInt64(bytes.count - 8) else {
            throw fail("safetensors header length \(headerLen) exceeds the file's \(bytes.count - 8) remaining bytes")
        }
        let dataStart = 8 + Int(headerLen)
        let headerData = Data(bytes[8..<dataStart])
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: headerData, options: [.fragmentsAllowed]) }
        catch { throw fail("safetensors header is not valid JSON") }
        guard let dict = object as? [String: Any] else { throw fail("safetensors header is not a JSON object") }

        var metadata: [String: String] = [:]
        var infos: [TensorInfo] = []
        let dataSize = bytes.count - dataStart
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not a JSON object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("entry for tensor '\(name)' is not a JSON object") }
            guard let dtypeName = entry["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype string") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)' has unsupported dtype '\(dtypeName)' (supported: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let shapeAny = entry["shape"] as? [Any] else { throw fail("tensor '\(name)' has no shape list") }
            var shape: [Int] = []
            var count = 1
            for d in shapeAny {
                guard let n = jsonInt(d), n >= 0 else {
                    throw fail("tensor '\(name)' has an invalid dimension \(jsonText(d)) in its shape (need a non-negative integer)")
                }
                shape.append(n)
                let (p, o) = count.multipliedReportingOverflow(by: n)
                guard !o else { throw fail("tensor '\(name)' shape \(shape) overflows") }
                count = p
            }
            guard let offs = entry["data_offsets"] as? [Any], offs.count == 2,
                  let begin = jsonInt(offs[0]), let end = jsonInt(offs[1]) else {
                throw fail("tensor '\(name)' has no valid data_offsets [begin, end]")
            }
            guard begin >= 0, end >= begin else { throw fail("tensor '\(name)' has data_offsets [\(begin), \(end)] out of order") }
            guard end <= dataSize else {
                throw fail("tensor '\(name)' data_offsets [\(begin), \(end)] run past the data section (\(dataSize) bytes)")
            }
            let (bytesNeeded, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o, bytesNeeded == end - begin else {
                throw fail("tensor '\(name)': shape \(shape) × \(dtype.rawValue) needs \(o ? "too many" : String(bytesNeeded)) bytes but data_offsets span \(end - begin)")
            }
            infos.append(TensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        // The data section must be covered exactly, tensor after tensor, without gaps or overlaps.
        infos.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        for t in infos {
            if t.begin < cursor { throw fail("tensor '\(t.name)' overlaps the previous tensor (offset \(t.begin) < \(cursor))") }
            if t.begin > cursor { throw fail("gap in the data section before tensor '\(t.name)' (offset \(t.begin), expected \(cursor))") }
            cursor = t.end
        }
        if cursor != dataSize { throw fail("data section has \(dataSize - cursor) bytes not covered by any tensor") }
        return TensorFile(path: path, metadata: metadata, tensors: infos, checksum: checksum, buffer: bytes, dataStart: dataStart)
    }
}

/// A JSON value as it was written, for error messages.
private func jsonText(_ v: Any) -> String {
    if let n = v as? NSNumber {
        switch String(cString: n.objCType) {
        case "c", "B": return n.boolValue ? "true" : "false"
        case "d", "f": return "\(n.doubleValue)"
        default: return "\(n.int64Value)"
        }
    }
    if let s = v as? String { return "\"\(s)\"" }
    return "\(v)"
}

/// JSON numbers arrive as NSNumber; accept only integers (not floats like 3e2, not booleans, which
/// Foundation reports with objCType "c").
private func jsonInt(_ v: Any) -> Int? {
    guard let n = v as? NSNumber else { return nil }
    switch String(cString: n.objCType) {
    case "i", "s", "l", "q", "I", "S", "L", "Q": return n.intValue
    default: return nil
    }
}
