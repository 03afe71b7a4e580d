import Contrastive
import Foundation
import NN
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// ShuffleBN: the key order keeps every key out of its query's BN group, is a permutation fixed by
/// (seed, step), and the shuffled split-BN forward matches an independent NumPy forward of the same order.
final class ShuffleBNTests: XCTestCase {
    func testEveryKeyLeavesItsQueryGroup() {
        for (n, groups) in [(8, 2), (12, 3), (256, 8), (64, 8), (512, 4), (30, 5)] {
            for step in 0..<20 {
                let order = ShuffleBN.order(count: n, groups: groups, seed: 3, step: step)
                XCTAssertEqual(order.sorted(), Array(0..<n), "a permutation")
                let size = n / groups
                for (j, r) in order.enumerated() { XCTAssertNotEqual(j / size, r / size, "n \(n) groups \(groups) step \(step) position \(j)") }
                XCTAssertEqual(order, ShuffleBN.order(count: n, groups: groups, seed: 3, step: step), "fixed by seed and step")
            }
            XCTAssertNotEqual(ShuffleBN.order(count: n, groups: groups, seed: 3, step: 0), ShuffleBN.order(count: n, groups: groups, seed: 3, step: 1))
            XCTAssertNotEqual(ShuffleBN.order(count: n, groups: groups, seed: 3, step: 0), ShuffleBN.order(count: n, groups: groups, seed: 4, step: 0))
        }
        XCTAssertEqual(ShuffleBN.order(count: 6, groups: 1, seed: 0, step: 0), Array(0..<6), "one group: nothing to shuffle against")
        // The groups mix: with 8 groups of 32, a key group draws its rows from several query groups.
        let order = ShuffleBN.order(count: 256, groups: 8, seed: 0, step: 5)
        XCTAssertGreaterThan(Set(order[0..<32].map { $0 / 32 }).count, 4)
    }

    func testApplyAndRestoreAreInverse() {
        let order = ShuffleBN.order(count: 8, groups: 2, seed: 1, step: 2)
        let x = (0..<(8 * 3)).map { Float($0) }
        XCTAssertEqual(ShuffleBN.restore(ShuffleBN.apply(x, order: order, dim: 3), order: order, dim: 3), x)
        let forward = ShuffleBN.apply(x, order: order, dim: 3)
        for (j, r) in order.enumerated() { XCTAssertEqual(Array(forward[(j * 3)..<(j * 3 + 3)]), Array(x[(r * 3)..<(r * 3 + 3)])) }
    }

    /// Keys forwarded in ShuffleBN order with split BN and restored = scripts/ref_nn_forward.py on the
    /// same order; and they differ from the unshuffled keys (the groups' statistics really change).
    func testShuffledKeysMatchNumPy() throws {
        guard TestSupport.pythonHas(["numpy", "zstandard"]) else { throw XCTSkip("python3 with numpy and zstandard is needed") }
        let (b, c, h, width, splits) = (8, 1, 16, 2, 4)
        let encoder = Encoder<Float>(inChannels: c, width: width, bnSplits: splits, prefix: "encoder_k.", seed: 5)
        var rng = RNG(seed: 6)
        let pixels = (0..<(b * c * h * h)).map { _ in UInt8(rng.below(256)) }
        let order = ShuffleBN.order(count: b, groups: splits, seed: 2, step: 7)
        func keys(_ rows: [Int]) -> [Float] {
            var batch = [UInt8]()
            for r in rows { batch += pixels[(r * h * h)..<((r + 1) * h * h)] }
            let input = Tensor<Float>()
            batch.withUnsafeBufferPointer {
                InputBatch.normalise($0.baseAddress!, count: b, channels: c, height: h, width: h, mean: [0.5], std: [0.25], into: input)
            }
            return encoder.forward(input, training: true).embedding.array
        }
        let shuffled = ShuffleBN.restore(keys(order), order: order, dim: encoder.embeddingDimension)
        let plain = keys(Array(0..<b))

        let dir = try TestSupport.scratchDir("shufflebn")
        var writer = TensorFileWriter(metadata: ["mean": "0.5", "std": "0.25", "prefix": "encoder_k.", "splits": "\(splits)"])
        encoder.save(into: &writer)
        writer.add("images", pixels, shape: [b, c, h, h])
        writer.add("order", order.map(Int64.init), shape: [b])
        let inPath = dir.appendingPathComponent("in.safetensors.zst").path, outPath = dir.appendingPathComponent("out.safetensors.zst").path
        try writer.write(to: inPath)
        let r = try TestSupport.python("ref_nn_forward.py", [inPath, outPath])
        XCTAssertEqual(r.status, 0, r.stderr)
        let reference = try TensorFile.read(outPath).array("shuffled.embedding", as: Float.self)
        XCTAssertEqual(reference.count, shuffled.count)
        var worst: Float = 0, moved: Float = 0
        for i in shuffled.indices { worst = max(worst, abs(shuffled[i] - reference[i])); moved = max(moved, abs(shuffled[i] - plain[i])) }
        XCTAssertLessThan(worst, 2e-4)
        XCTAssertGreaterThan(moved, 1e-2, "other BN groups give other keys")
    }
}
