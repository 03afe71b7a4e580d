import Foundation
import StageKit

/// IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed: a 4-byte magic 00 00 <type> <ndim>, then
/// ndim big-endian UInt32 sizes, then the data. Only unsigned-byte data (type 0x08) occurs in these sets.
public struct IDXArray {
    public let dims: [Int]
    public let data: [UInt8]

    /// Reads and checks an IDX file; `expectedRank` is 3 for images, 1 for labels.
    public static func read(_ path: String, expectedRank: Int) throws -> IDXArray {
        try requireReadableFile(path)
        // The compressed bytes are dropped as soon as they are inflated.
        var bytes: [UInt8] = try {
            let raw = try readFileBytes(path)
            return try raw.withUnsafeBytes { b in
                b.count >= 2 && b[0] == 0x1F && b[1] == 0x8B ? try Gzip.decompress(b, path: path, limit: Gzip.limit(compressed: b.count)) : [UInt8](b)
            }
        }()
        guard bytes.count >= 4 else { throw StageError(path, "not an IDX file: only \(bytes.count) bytes") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw StageError(path, String(format: "not an IDX file (magic %02X %02X %02X %02X, expected 00 00 08 %02X)",
                                          bytes[0], bytes[1], bytes[2], bytes[3], expectedRank))
        }
        guard bytes[2] == 0x08 else { throw StageError(path, String(format: "IDX data type 0x%02X is not unsigned bytes (0x08)", bytes[2])) }
        let rank = Int(bytes[3])
        guard rank == expectedRank else {
            throw StageError(path, "IDX file has \(rank) dimensions, expected \(expectedRank) (\(expectedRank == 3 ? "images" : "labels"))")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else { throw StageError(path, "IDX header truncated") }
        var dims: [Int] = []
        var count = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let n = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(n)
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw StageError(path, "IDX header sizes \(dims) are impossibly large") }
            count = product
        }
        let payload = bytes.count - headerSize
        guard payload == count else {
            let shape = dims.map(String.init).joined(separator: "×")
            throw StageError(path, "IDX size mismatch: header says \(shape) = \(count) bytes of data, file has \(payload)")
        }
        bytes.removeFirst(headerSize)
        return IDXArray(dims: dims, data: bytes)
    }
}

extension ImageDataset {
    /// An IDX image file [N, H, W] with its IDX label file [N] → a 1-channel dataset.
    public static func fromIDX(images imagesPath: String, labels labelsPath: String, subset: Subset) throws -> ImageDataset {
        let images = try IDXArray.read(imagesPath, expectedRank: 3)
        let labels = try IDXArray.read(labelsPath, expectedRank: 1)
        let n = images.dims[0], h = images.dims[1], w = images.dims[2]
        guard labels.dims[0] == n else {
            throw StageError(labelsPath, "has \(labels.dims[0]) labels but \(imagesPath) has \(n) images")
        }
        let keep = subset.positions(total: n)
        let plane = h * w
        if keep.count == n {   // everything: hand over the parsed bytes without another copy
            return ImageDataset(images: images.data, channels: 1, height: h, width: w,
                                labels: labels.data.map(Int64.init), index: keep.map(Int64.init))
        }
        var pixels = [UInt8](repeating: 0, count: keep.count * plane)   // [N', 1, H, W]
        pixels.withUnsafeMutableBufferPointer { dst in
            images.data.withUnsafeBufferPointer { src in
                for (j, p) in keep.enumerated() {
                    UnsafeMutableRawPointer(dst.baseAddress! + j * plane)
                        .copyMemory(from: src.baseAddress! + p * plane, byteCount: plane)
                }
            }
        }
        return ImageDataset(images: pixels, channels: 1, height: h, width: w,
                            labels: keep.map { Int64(labels.data[$0]) }, index: keep.map(Int64.init))
    }
}
