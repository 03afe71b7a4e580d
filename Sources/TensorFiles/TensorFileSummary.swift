import Foundation

/// The text `inspect` prints for one file: tensors with statistics, then metadata.
public enum TensorFileSummary {
    public static func describe(_ path: String, statistics: Bool = true) throws -> String {
        let file = try TensorFile.read(path)
        var lines = ["\(path)", "  zstd checksum: \(file.checksum.rawValue), uncompressed \(file.uncompressedSize) bytes, \(file.tensors.count) tensors"]
        let width = file.tensors.map(\.name.count).max() ?? 4
        for t in file.tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            var line = "  " + t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + t.dtype.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0) + " " + shape
            if statistics, t.count > 0, let s = try stats(file, t) {
                line += String(format: "  min %.6g  max %.6g  mean %.6g", s.min, s.max, s.mean)
            }
            lines.append(line)
        }
        if !file.metadata.isEmpty {
            lines.append("  metadata:")
            for k in file.metadata.keys.sorted() { lines.append("    \(k): \(file.metadata[k]!)") }
        }
        return lines.joined(separator: "\n")
    }

    /// min/max/mean read straight from the tensor's bytes, so statistics need no copy of the data
    /// (a copy widened to Double would need 8× a u8 tensor's size).
    static func stats(_ file: TensorFile, _ t: TensorInfo) throws -> (min: Double, max: Double, mean: Double)? {
        let raw = file.rawBytes(t)
        func scan<T>(_: T.Type, _ value: (T) -> Double) -> (Double, Double, Double) {
            var lo = Double.infinity, hi = -Double.infinity, sum = 0.0
            let n = t.count
            for i in 0..<n {
                let v = value(raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
                lo = Swift.min(lo, v); hi = Swift.max(hi, v); sum += v
            }
            return (lo, hi, sum / Double(n))
        }
        switch t.dtype {
        case .u8: return scan(UInt8.self) { Double($0) }
        case .i32: return scan(Int32.self) { Double(Int32(littleEndian: $0)) }
        case .i64: return scan(Int64.self) { Double(Int64(littleEndian: $0)) }
        case .f16: return scan(UInt16.self) { Double(Float16(bitPattern: UInt16(littleEndian: $0))) }
        case .bf16: return scan(UInt16.self) { Double(BFloat16(bits: UInt16(littleEndian: $0)).float) }
        case .f32: return scan(UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
        case .f64: return scan(UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) }
        }
    }
}
