import Foundation
import NN
import StageKit
import TensorFiles

/// A ResNet encoder in eval mode (BN running statistics) as a `FeatureEncoder`: backbone = the pooled
/// feature [n, 8w], projection = the head's L2-normalised output [n, 128].
public final class NetworkEncoder: FeatureEncoder {
    public let encoder: Encoder<Float>
    let mean: [Double], std: [Double]
    let input = Tensor<Float>()             // [C, B, H, W] scratch
    let height: Int, width: Int
    public let info: [String: String]

    /// Wraps a live encoder (e.g. the one being trained, for a kNN monitor); `imageShape` is [C, H, W].
    public init(encoder: Encoder<Float>, imageShape: [Int], mean: [Double], std: [Double], info: [String: String]) {
        self.encoder = encoder
        height = imageShape[1]
        width = imageShape[2]
        self.mean = mean
        self.std = std
        self.info = info
    }

    public var backboneDim: Int { encoder.featureDimension }
    public var projectionDim: Int { encoder.embeddingDimension }
    public var description: [String: String] { info }

    /// Inputs are normalised with mean 0.5 and std 0.5 per channel (no training data has been seen).
    public static func random(imageShape: [Int], width: Int, seed: UInt64) -> NetworkEncoder {
        let channels = imageShape[0]
        let e = Encoder<Float>(inChannels: channels, width: width, seed: seed)
        return NetworkEncoder(encoder: e, imageShape: imageShape, mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.5, count: channels),
                              info: ["encoder": "random", "width": "\(width)", "encoder_seed": "\(seed)"])
    }

    /// The encoder a pretrain checkpoint names in its `embed_encoder` metadata, with the input
    /// normalisation it was trained with.
    public static func load(checkpoint path: String, imageShape: [Int]) throws -> NetworkEncoder {
        let channels = imageShape[0]
        try requireReadableFile(path)
        let file: TensorFile
        do { file = try TensorFile.read(path) } catch let e as TensorFileError { throw StageError(e.path, e.message) }
        let m = file.metadata
        guard m["stage"] == "pretrain", let role = m["embed_encoder"] else {
            throw StageError(path, "not a pretrain checkpoint (no embed_encoder metadata)")
        }
        let identity = Provenance.decode(m["identity"])
        if identity["objective"] == "cmc" {
            throw StageError(path, "embedding with a CMC checkpoint needs Lab input, which embed does not produce yet")
        }
        guard let width = identity["width"].flatMap({ Int($0) }), let inChannels = m["\(role).in_channels"].flatMap({ Int($0) }) else {
            throw StageError(path, "checkpoint lacks the width or \(role).in_channels metadata")
        }
        guard inChannels == channels else {
            throw StageError(path, "encoder reads \(inChannels)-channel images, the dataset has \(channels) channels")
        }
        let mean = (m["\(role).input_mean"] ?? "").split(separator: ",").compactMap { Double($0) }
        let std = (m["\(role).input_std"] ?? "").split(separator: ",").compactMap { Double($0) }
        guard mean.count == channels, std.count == channels else { throw StageError(path, "checkpoint lacks \(role).input_mean/std") }
        let e = Encoder<Float>(inChannels: channels, width: width, prefix: role + ".")
        try e.load(from: file)
        return NetworkEncoder(encoder: e, imageShape: imageShape, mean: mean, std: std,
                              info: ["encoder": "checkpoint", "width": "\(width)", "role": role, "epochs_done": m["epochs_done"] ?? ""])
    }

    public func encode(images: UnsafePointer<UInt8>, count n: Int, backbone: UnsafeMutablePointer<Float>,
                       projection: UnsafeMutablePointer<Float>) {
        InputBatch.normalise(images, first: 0, count: n, channels: encoder.backbone.inChannels, height: height, width: width,
                             mean: mean, std: std, into: input)
        let (feature, embedding) = encoder.forward(input, training: false)
        backbone.update(from: feature.data, count: n * backboneDim)
        projection.update(from: embedding.data, count: n * projectionDim)
    }
}
