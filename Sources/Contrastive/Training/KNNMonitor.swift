import Evaluation
import Foundation
import NN
import StageKit
import TensorFiles

/// kNN top-1 of the current encoder on a held-out split, once per epoch (SPEC §4: k 200, τ 0.1, on
/// the L2-normalised projection, as the MoCo CIFAR demo's monitor; chunked inside WeightedKNN).
final class KNNMonitor {
    let train: (images: [UInt8], shape: [Int], labels: [Int64])
    let test: (images: [UInt8], shape: [Int], labels: [Int64])
    let parameters: KNNParameters
    let threads: Int

    init?(options o: PretrainOptions, threads: Int) throws {
        guard let trainPath = o.knnTrain, let testPath = o.knnTest else { return nil }
        if o.objective == .cmc {
            note("pretrain: the kNN monitor is not available for cmc (datasets are RGB, the encoders read Lab); skipping it")
            return nil
        }
        train = try KNNMonitor.load(trainPath, limit: o.knnLimit)
        test = try KNNMonitor.load(testPath, limit: 0)
        guard train.shape[1...] == test.shape[1...] else {
            throw StageError(testPath, "images \(test.shape) do not match the kNN train split's \(train.shape)")
        }
        parameters = KNNParameters(k: o.knnK, tau: o.knnTau)
        try parameters.validate()
        self.threads = threads
    }

    /// The first `limit` images (0 = all) of a labelled dataset file.
    static func load(_ path: String, limit: Int) throws -> (images: [UInt8], shape: [Int], labels: [Int64]) {
        let data = try EmbedStage.readDataset(path)
        var (images, labels, shape) = (data.images, data.labels, data.shape)
        if limit > 0 && limit < shape[0] {
            images = Array(images[..<(limit * shape[1] * shape[2] * shape[3])])
            labels = Array(labels[..<limit])
            shape[0] = limit
        }
        guard labels.allSatisfy({ $0 >= 0 }) else { throw StageError(path, "the kNN monitor needs labels (found −1)") }
        return (images, shape, labels)
    }

    func top1(model: ContrastiveModel) throws -> Double {
        let role = model.evaluationRole
        guard train.shape[1] == role.encoder.backbone.inChannels else {
            throw StageError("kNN monitor: datasets have \(train.shape[1]) channels, the encoder reads \(role.encoder.backbone.inChannels)")
        }
        let a = KNNMonitor.project(role, train.images, shape: train.shape)
        let b = KNNMonitor.project(role, test.images, shape: test.shape)
        let d = ContrastiveModel.embeddingDimension
        let classes = Int(max(train.labels.max() ?? 0, test.labels.max() ?? 0)) + 1
        let outcome = WeightedKNN.evaluate(train: LabeledFeatures(values: a, labels: train.labels, count: train.shape[0], dim: d),
                                           test: LabeledFeatures(values: b, labels: test.labels, count: test.shape[0], dim: d),
                                           classes: classes, parameters: parameters, threads: threads)
        return outcome.top1
    }

    /// Eval-mode projections [N, 128] in batches, through the same encoder wrapper `embed` uses.
    static func project(_ role: ContrastiveModel.Role, _ images: [UInt8], shape: [Int]) -> [Float] {
        let network = NetworkEncoder(encoder: role.encoder, imageShape: Array(shape.dropFirst()), mean: role.mean,
                                     std: role.std, info: [:])
        let n = shape[0], size = shape[1] * shape[2] * shape[3], chunk = 500
        var projection = [Float](repeating: 0, count: n * network.projectionDim)   // [N, 128]
        var backbone = [Float](repeating: 0, count: chunk * network.backboneDim)    // [chunk, 8w] scratch
        images.withUnsafeBufferPointer { src in
            projection.withUnsafeMutableBufferPointer { out in
                for start in stride(from: 0, to: n, by: chunk) {
                    network.encode(images: src.baseAddress! + start * size, count: min(chunk, n - start), backbone: &backbone,
                                   projection: out.baseAddress! + start * network.projectionDim)
                }
            }
        }
        return projection
    }
}
