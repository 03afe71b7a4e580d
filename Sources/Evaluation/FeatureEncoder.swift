import Foundation
import StageKit

/// Something that turns a batch of images into the two feature tensors of the features contract.
///
/// `embed` calls `encode` on consecutive batches, one at a time, from one thread; an encoder
/// parallelises inside a batch itself (it owns its scratch memory, so it need not be thread-safe).
/// The projection it writes must already be L2-normalised.
public protocol FeatureEncoder: AnyObject {
    /// backbone feature width D
    var backboneDim: Int { get }
    /// projection width P
    var projectionDim: Int { get }
    /// what provenance records about the encoder: "encoder" (its name) plus anything else (width, …)
    var description: [String: String] { get }
    /// images: [n, C, H, W] u8 → backbone [n, D] and projection [n, P]
    func encode(images: UnsafePointer<UInt8>, count n: Int, backbone: UnsafeMutablePointer<Float>,
                projection: UnsafeMutablePointer<Float>)
}

/// The encoders `embed --encoder` can build. Adding a variant touches this enum (a case and a branch
/// in `make`) and, if it needs them, options in `EmbedStage.Options` / Sources/embed/main.swift.
public enum EncoderKind: String, CaseIterable, Sendable {
    /// flattened pixels scaled to [0, 1] (the raw-pixel baseline every results table carries)
    case raw
    /// a freshly initialised ResNet-18 + head of the given width, seeded (the random-encoder baseline)
    case random
    /// the trained encoder of a pretrain checkpoint (`--checkpoint`)
    case checkpoint

    public func make(imageShape: [Int], options: EmbedStage.Options) throws -> FeatureEncoder {
        switch self {
        case .raw: return RawPixelEncoder(imageShape: imageShape, threads: options.threads)
        case .random:
            return NetworkEncoder.random(imageShape: imageShape, width: options.width, seed: options.seed)
        case .checkpoint:
            guard let path = options.checkpointPath else { throw StageError.usage("--encoder checkpoint needs --checkpoint PATH") }
            return try NetworkEncoder.load(checkpoint: path, imageShape: imageShape)
        }
    }
}

/// Raw pixels as features: backbone = pixels / 255 flattened (C·H·W values), projection = the same,
/// L2-normalised (an all-zero image stays all zero).
public final class RawPixelEncoder: FeatureEncoder {
    public let backboneDim: Int
    public var projectionDim: Int { backboneDim }
    let threads: Int

    public init(imageShape: [Int], threads: Int) {
        backboneDim = imageShape.reduce(1, *)
        self.threads = threads
    }

    public var description: [String: String] { ["encoder": "raw", "scale": "1/255"] }

    public func encode(images: UnsafePointer<UInt8>, count n: Int, backbone: UnsafeMutablePointer<Float>,
                       projection: UnsafeMutablePointer<Float>) {
        let d = backboneDim
        parallelRanges(n, threads: threads) { range in
            for i in range {
                let src = images + i * d, dst = backbone + i * d, unit = projection + i * d
                var sum: Double = 0
                for j in 0..<d {
                    let v = Float(src[j]) / 255
                    dst[j] = v
                    sum += Double(v) * Double(v)
                }
                let norm = Float(max(sum.squareRoot(), 1e-12))
                for j in 0..<d { unit[j] = dst[j] / norm }
            }
        }
    }
}
