import Foundation
import StageKit
import TensorFiles

/// Saving and loading an encoder's weights and BN statistics with PyTorch-style names and layouts
/// (conv weights O×I×kH×kW, `bn1.running_mean`, `bn1.num_batches_tracked` i64, `layer1.0.downsample.0.weight`,
/// `head.0.weight`, …), each name carrying the encoder's prefix. Values are stored in the encoder's
/// own precision (f32 for Float).
extension Encoder where T: TensorElement {
    public var stateNames: [String] {
        parameters.map(\.name) + buffers.map(\.name) + backbone.norms.map(\.batchesTrackedName)
    }

    public func save(into writer: inout TensorFileWriter) {
        for p in parameters { writer.add(p.name, p.value.array, shape: p.value.shape) }
        for b in buffers { writer.add(b.name, b.value.array, shape: b.value.shape) }
        for n in backbone.norms { writer.add(n.batchesTrackedName, [n.batchesTracked], shape: []) }
    }

    /// Loads every tensor `save` writes; a missing tensor, a wrong shape/dtype or a non-finite value
    /// (a diverged or corrupted run) is an error naming the file and the tensor.
    public func load(from file: TensorFile) throws {
        func finite(_ name: String, _ values: [T], _ shape: [Int]) throws -> [T] {
            try requireFinite(values, tensor: name, in: file.path, rowLength: shape.dropFirst().reduce(1, *))
            return values
        }
        do {
            for p in parameters { p.value.set(try finite(p.name, try file.array(p.name, as: T.self, shape: p.value.shape), p.value.shape)) }
            for b in buffers { b.value.set(try finite(b.name, try file.array(b.name, as: T.self, shape: b.value.shape), b.value.shape)) }
            for n in backbone.norms { n.batchesTracked = try file.array(n.batchesTrackedName, as: Int64.self, shape: [])[0] }
        } catch let e as TensorFileError {
            throw StageError(e.path, e.message)
        }
    }
}

extension BatchNorm2d {
    public var batchesTrackedName: String {
        String(gamma.name.dropLast("weight".count)) + "num_batches_tracked"
    }
}
