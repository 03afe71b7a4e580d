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

    static func stats(_ file: TensorFile, _ t: TensorInfo) throws -> (min: Double, max: Double, mean: Double)? {
        let values: [Double]
        switch t.dtype {
        case .f16, .bf16, .f32, .f64: values = try file.floats(t.name).map(Double.init)
        case .u8, .i32, .i64: values = try file.integers(t.name).map(Double.init)
        }
        var lo = Double.infinity, hi = -Double.infinity, sum = 0.0
        for v in values { lo = Swift.min(lo, v); hi = Swift.max(hi, v); sum += v }
        return (lo, hi, sum / Double(values.count))
    }
}
