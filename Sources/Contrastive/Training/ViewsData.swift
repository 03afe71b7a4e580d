import Foundation
import StageKit
import TensorFiles

/// One epoch's views, loaded and checked against the views-file contract.
public struct ViewsData {
    public let path: String
    public let view1: [UInt8]        // [N, C1, H, W]
    public let view2: [UInt8]        // [N, C2, H, W]
    public let shape1: [Int]         // [N, C1, H, W]
    public let shape2: [Int]         // [N, C2, H, W]
    public let labels: [Int64]       // [N]
    public let index: [Int64]        // [N]
    public let epoch: Int?           // from metadata, when recorded

    public var count: Int { shape1[0] }

    public static func load(_ path: String) throws -> ViewsData {
        try requireReadableFile(path)
        do {
            let f = try TensorFile.read(path)
            for name in ["view1", "view2", "index", "labels"] where !f.has(name) {
                throw StageError(path, "not a views file: no tensor '\(name)' (make it with the augment stage)")
            }
            let i1 = try f.info("view1"), i2 = try f.info("view2")
            guard i1.shape.count == 4, i2.shape.count == 4 else {
                throw StageError(path, "view1/view2 must be [N, C, H, W] (got \(i1.shape) and \(i2.shape))")
            }
            let n = i1.shape[0]
            guard n > 0, i2.shape[0] == n, i1.shape[2] == i2.shape[2], i1.shape[3] == i2.shape[3] else {
                throw StageError(path, "view1 \(i1.shape) and view2 \(i2.shape) disagree in N, H or W")
            }
            let v1 = try f.array("view1", as: UInt8.self)
            let v2 = try f.array("view2", as: UInt8.self)
            let labels = try f.integers("labels", shape: [n])
            let index = try f.integers("index", shape: [n])
            return ViewsData(path: path, view1: v1, view2: v2, shape1: i1.shape, shape2: i2.shape, labels: labels,
                             index: index, epoch: f.metadata["epoch"].flatMap { Int($0) })
        } catch let e as TensorFileError {
            throw StageError(e.path, e.message)
        }
    }

    /// Per-channel mean and standard deviation of a view (pixel/255), over every image.
    public static func channelStatistics(_ pixels: [UInt8], shape: [Int]) -> (mean: [Double], std: [Double]) {
        let (n, c, plane) = (shape[0], shape[1], shape[2] * shape[3])
        var mean = [Double](), std = [Double]()
        pixels.withUnsafeBufferPointer { p in
            for ch in 0..<c {
                var hist = [Int](repeating: 0, count: 256)
                for i in 0..<n {
                    let base = (i * c + ch) * plane
                    for j in 0..<plane { hist[Int(p[base + j])] += 1 }
                }
                let total = Double(n * plane)
                var s = 0.0, s2 = 0.0
                for v in 0..<256 { let x = Double(v) / 255; s += Double(hist[v]) * x; s2 += Double(hist[v]) * x * x }
                let m = s / total
                mean.append(m)
                std.append(max((s2 / total - m * m).squareRoot(), 1e-3))
            }
        }
        return (mean, std)
    }
}
