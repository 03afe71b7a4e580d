import CZstd
import Foundation

/// Builds a `.safetensors.zst` file: named tensors plus string metadata, written as one zstd frame
/// (content size and checksum recorded) to a temporary name and renamed into place.
///
/// Tensors are kept by reference (Swift arrays are copy-on-write) and streamed through the compressor,
/// so writing needs little memory beyond the tensors themselves.
public struct TensorFileWriter {
    struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let byteCount: Int
        let withBytes: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    }

    public var metadata: [String: String]
    public var compressionLevel: Int32 = 3
    private var entries: [Entry] = []
    private var names = Set<String>()

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds a tensor; `values.count` must equal the product of `shape`.
    public mutating func add<T: TensorElement>(_ name: String, _ values: [T], shape: [Int]) {
        precondition(!name.isEmpty && name != "__metadata__", "invalid tensor name '\(name)'")
        precondition(!names.contains(name), "duplicate tensor name '\(name)'")
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "tensor '\(name)': shape \(shape) does not match \(values.count) values")
        names.insert(name)
        entries.append(Entry(name: name, dtype: T.dtype, shape: shape, byteCount: values.count * T.dtype.byteSize,
                             withBytes: { body in try values.withUnsafeBytes { try body($0) } }))
    }

    public var tensorNames: [String] { entries.map(\.name) }

    /// Fault injection for the crash-safety tests: NS_FAULT_KILL_AFTER_TENSORS=n makes the process
    /// SIGKILL itself in the middle of a write, after n tensors have gone to the temporary file.
    static let killAfterTensors: Int? = ProcessInfo.processInfo.environment["NS_FAULT_KILL_AFTER_TENSORS"].flatMap { Int($0) }

    /// The safetensors header JSON (tensors in insertion order, metadata keys sorted), padded to 8 bytes.
    func headerJSON() -> [UInt8] {
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            json += "}"
            if !entries.isEmpty { json += "," }
        }
        var offset = 0
        json += entries.map { e in
            defer { offset += e.byteCount }
            let shape = e.shape.map(String.init).joined(separator: ",")
            return "\(jsonString(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.byteCount)]}"
        }.joined(separator: ",")
        json += "}"
        var bytes = Array(json.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        return bytes
    }

    /// Writes the file atomically. Creates the parent folder if needed.
    public func write(to path: String) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let base = URL(fileURLWithPath: path).lastPathComponent
        TensorFileWriter.sweepStaleTemporaries(dir: dir, base: base)
        let tmp = "\(dir)/.\(base).tmp-\(getpid())"
        guard let file = fopen(tmp, "wb") else {
            throw TensorFileError(path, "cannot create output file: \(String(cString: strerror(errno)))")
        }
        var ok = false
        defer {
            if !ok { fclose(file); unlink(tmp) }
        }
        let header = headerJSON()
        var prefix = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { prefix[i] = UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(i))) }
        let total = 8 + header.count + entries.reduce(0) { $0 + $1.byteCount }

        let stream = try ZstdWriteStream(file: file, path: path, pledgedSize: total, level: compressionLevel)
        try prefix.withUnsafeBytes { try stream.feed($0) }
        try header.withUnsafeBytes { try stream.feed($0) }
        for (i, e) in entries.enumerated() {
            if i == TensorFileWriter.killAfterTensors { fflush(file); kill(getpid(), SIGKILL) }
            try e.withBytes { try stream.feed($0) }
        }
        try stream.finish()
        guard fflush(file) == 0, fsync(fileno(file)) == 0 else {
            throw TensorFileError(path, "cannot write output file: \(String(cString: strerror(errno)))")
        }
        fclose(file)
        ok = true
        if rename(tmp, path) != 0 {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw TensorFileError(path, "cannot rename temporary file into place: \(why)")
        }
    }
}

extension TensorFileWriter {
    /// Removes temporary files of earlier writers of the same target that were killed mid-write
    /// (their process is gone), so an interrupted stage leaves nothing behind once rerun.
    static func sweepStaleTemporaries(dir: String, base: String) {
        let prefix = ".\(base).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { unlink("\(dir)/\(name)") }
        }
    }
}

/// Streams bytes through one zstd frame into a FILE*.
final class ZstdWriteStream {
    let cctx: OpaquePointer
    let file: UnsafeMutablePointer<FILE>
    let path: String
    var out: [UInt8]

    init(file: UnsafeMutablePointer<FILE>, path: String, pledgedSize: Int, level: Int32) throws {
        guard let c = ZSTD_createCCtx() else { throw TensorFileError(path, "cannot create zstd compressor") }
        cctx = c
        self.file = file
        self.path = path
        out = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1))
        try check(ZSTD_CCtx_setPledgedSrcSize(cctx, UInt64(pledgedSize)))
    }

    deinit { ZSTD_freeCCtx(cctx) }

    private func check(_ code: Int) throws {
        if ZSTD_isError(code) != 0 { throw TensorFileError(path, "zstd: \(String(cString: ZSTD_getErrorName(code)))") }
    }

    func feed(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try pump(&input, ZSTD_e_continue)
        }
    }

    func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try pump(&input, ZSTD_e_end) != 0 {}
    }

    @discardableResult
    private func pump(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        let count = out.count
        return try out.withUnsafeMutableBytes { buf -> Int in
            var output = ZSTD_outBuffer(dst: buf.baseAddress, size: count, pos: 0)
            let remaining = ZSTD_compressStream2(cctx, &output, &input, mode)
            try check(remaining)
            if output.pos > 0 && fwrite(buf.baseAddress, 1, output.pos, file) != output.pos {
                throw TensorFileError(path, "cannot write output file: \(String(cString: strerror(errno)))")
            }
            return remaining
        }
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
