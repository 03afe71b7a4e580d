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

    /// Loads every tensor `save` writes; a missing tensor or a wrong shape/dtype is an error naming the file.
    public func load(from file: TensorFile) throws {
        do {
            for p in parameters { p.value.set(try file.array(p.name, as: T.self, shape: p.value.shape)) }
            for b in buffers { b.value.set(try file.array(b.name, as: T.self, shape: b.value.shape)) }
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
