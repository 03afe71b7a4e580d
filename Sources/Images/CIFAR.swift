import Foundation
import StageKit

/// CIFAR-10 / CIFAR-100 binary batches: fixed-length records of label byte(s) then 3072 pixel bytes
/// (1024 red, 1024 green, 1024 blue, each 32×32 row-major), already in C×H×W order.
/// Adding a variant: a case here with its record layout.
public enum CIFARKind: String, CaseIterable, Sendable {
    case cifar10, cifar100

    /// Label bytes before the pixels: CIFAR-10 has one, CIFAR-100 has coarse then fine.
    public var labelBytes: Int { self == .cifar10 ? 1 : 2 }
    public var recordLength: Int { labelBytes + 3 * 32 * 32 }
    public var name: String { self == .cifar10 ? "CIFAR-10" : "CIFAR-100" }
}

/// Which CIFAR-100 label to keep (CIFAR-10 has only one).
public enum CIFARLabel: String, CaseIterable, Sendable {
    case fine, coarse
}

extension ImageDataset {
    /// Concatenates the batches in the order given; `index` counts records across all of them.
    public static func fromCIFAR(batches: [String], kind: CIFARKind, label: CIFARLabel, subset: Subset) throws -> ImageDataset {
        guard !batches.isEmpty else { throw StageError("no CIFAR batch files given") }
        var records: [(file: Int, offset: Int)] = []
        var contents: [[UInt8]] = []
        for (f, path) in batches.enumerated() {
            try requireReadableFile(path)
            let data = try readFileBytes(path)
            guard data.count > 0, data.count % kind.recordLength == 0 else {
                let other: CIFARKind = kind == .cifar10 ? .cifar100 : .cifar10
                let hint = data.count > 0 && data.count % other.recordLength == 0 ? " (it fits \(other.name) records: use --kind \(other.rawValue))" : ""
                throw StageError(path, "size \(data.count) bytes is not a whole number of \(kind.name) records of \(kind.recordLength) bytes\(hint)")
            }
            contents.append(data)
            for r in 0..<(data.count / kind.recordLength) { records.append((f, r * kind.recordLength)) }
        }
        let keep = subset.positions(total: records.count)
        let plane = 3 * 32 * 32
        let labelOffset = kind == .cifar100 && label == .fine ? 1 : 0
        var pixels = [UInt8](repeating: 0, count: keep.count * plane)   // [N', 3, 32, 32]
        var labels = [Int64](repeating: 0, count: keep.count)            // [N']
        pixels.withUnsafeMutableBufferPointer { dst in
            for (j, p) in keep.enumerated() {
                let (f, offset) = records[p]
                contents[f].withUnsafeBufferPointer { src in
                    labels[j] = Int64(src[offset + labelOffset])
                    UnsafeMutableRawPointer(dst.baseAddress! + j * plane)
                        .copyMemory(from: src.baseAddress! + offset + kind.labelBytes, byteCount: plane)
                }
            }
        }
        let maxLabel = kind == .cifar10 ? 9 : (label == .fine ? 99 : 19)
        if let j = labels.firstIndex(where: { $0 > maxLabel }) {
            let (f, offset) = records[keep[j]]
            throw StageError(batches[f], "record \(offset / kind.recordLength) has label \(labels[j]), more than \(kind.name)'s \(maxLabel)")
        }
        return ImageDataset(images: pixels, channels: 3, height: 32, width: 32, labels: labels, index: keep.map(Int64.init),
                            classes: try classNames(besides: batches[0], kind: kind, label: label, count: maxLabel + 1))
    }

    /// The class names the official archives ship beside the batches (batches.meta.txt for CIFAR-10,
    /// fine_label_names.txt / coarse_label_names.txt for CIFAR-100), when present; one name per line.
    static func classNames(besides batch: String, kind: CIFARKind, label: CIFARLabel, count: Int) throws -> [String]? {
        let dir = URL(fileURLWithPath: batch).deletingLastPathComponent()
        let file = dir.appendingPathComponent(kind == .cifar10 ? "batches.meta.txt" : "\(label.rawValue)_label_names.txt").path
        guard let data = try? readFileBytes(file) else { return nil }
        let names = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == count else { throw StageError(file, "lists \(names.count) class names, expected \(count)") }
        return names
    }
}
