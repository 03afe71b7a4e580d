import NN
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// The whole encoder: gradients, forward against an independent NumPy implementation, and overfitting.
final class ModelTests: XCTestCase {
    func testEncoderGradientsMatchFiniteDifferences() {
        let encoder = Encoder<Double>(inChannels: 1, width: 2, embeddingDimension: 8, bnSplits: 2, seed: 1)
        // Non-trivial BN affine parameters so their gradients are tested in general position.
        for (i, bn) in encoder.backbone.norms.enumerated() {
            bn.gamma.value.set(randomArray(bn.channels, seed: 100 + UInt64(i), scale: 0.3).map { $0 + 1 })
            bn.beta.value.set(randomArray(bn.channels, seed: 200 + UInt64(i), scale: 0.3))
        }
        let x = randomTensor([1, 4, 16, 16], seed: 2)
        let w = randomTensor([4, 8], seed: 3)
        let loss = { weightedSum(encoder.forward(x, training: true).embedding, w) }
        _ = loss()
        encoder.zeroGrad()
        encoder.backward(w)
        let analytic = encoder.parameters.map { $0.grad.array }
        var checker = GradientCheck()
        checker.maxElements = 6
        XCTAssertEqual(encoder.parameters.count, 20 + 2 * 20 + 4)   // 20 convs, 20 BNs (γ, β), head
        for (p, g) in zip(encoder.parameters, analytic) { checker.check(p.name, p.value, analytic: g, loss: loss) }
    }

    func testForwardMatchesNumPy() throws {
        let saved = NNRuntime.maxColElements, savedColumns = NNRuntime.minColumns
        defer { NNRuntime.maxColElements = saved; NNRuntime.minColumns = savedColumns }
        NNRuntime.minColumns = 1
        NNRuntime.maxColElements = 5000       // exercise chunked im2col too
        let (b, c, h, width) = (4, 3, 18, 4)
        let encoder = Encoder<Float>(inChannels: c, width: width, bnSplits: 2, prefix: "q.", seed: 7)
        for (i, bn) in encoder.backbone.norms.enumerated() {
            let s = 300 + UInt64(i) * 4
            bn.gamma.value.set(randomArray(bn.channels, seed: s, scale: 0.3).map { Float($0 + 1) })
            bn.beta.value.set(randomArray(bn.channels, seed: s + 1, scale: 0.3).map(Float.init))
            bn.runningMean.value.set(randomArray(bn.channels, seed: s + 2, scale: 0.2).map(Float.init))
            bn.runningVar.value.set(randomArray(bn.channels, seed: s + 3, scale: 0.3).map { Float(abs($0) + 0.5) })
        }
        // u8 images [B, C, H, W] through the normaliser, as the pipeline feeds them.
        var rng = RNG(seed: 9)
        let pixels = (0..<(b * c * h * h)).map { _ in UInt8(rng.below(256)) }
        let mean = [0.5, 0.4, 0.3], std = [0.25, 0.2, 0.3]
        let input = Tensor<Float>()
        pixels.withUnsafeBufferPointer {
            InputBatch.normalise($0.baseAddress!, count: b, channels: c, height: h, width: h, mean: mean, std: std, into: input)
        }
        var writer = TensorFileWriter(metadata: ["mean": mean.map { "\($0)" }.joined(separator: ","),
                                                 "std": std.map { "\($0)" }.joined(separator: ","),
                                                 "prefix": "q.", "splits": "2"])
        encoder.save(into: &writer)
        writer.add("images", pixels, shape: [b, c, h, h])
        let evalOut = encoder.forward(input, training: false)
        let evalFeature = evalOut.feature.array, evalEmbedding = evalOut.embedding.array
        let trainOut = encoder.forward(input, training: true)
        let trainFeature = trainOut.feature.array, trainEmbedding = trainOut.embedding.array

        let dir = try TestSupport.scratchDir("nn-forward")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inPath = dir.appendingPathComponent("in.safetensors.zst").path
        let outPath = dir.appendingPathComponent("out.safetensors.zst").path
        try writer.write(to: inPath)
        let r = try TestSupport.python("ref_nn_forward.py", [inPath, outPath])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ref = try TensorFile.read(outPath)
        func compare(_ name: String, _ ours: [Float], tolerance: Float = 2e-4) throws {
            let theirs = try ref.array(name, as: Float.self)
            XCTAssertEqual(ours.count, theirs.count, name)
            var worst: Float = 0
            for (a, b) in zip(ours, theirs) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
            XCTAssertLessThan(worst, tolerance, name)
        }
        try compare("eval.feature", evalFeature)
        try compare("eval.embedding", evalEmbedding)
        try compare("train.feature", trainFeature)
        try compare("train.embedding", trainEmbedding)
        for bn in encoder.backbone.norms {
            try compare("running." + bn.runningMean.name, bn.runningMean.value.array)
            try compare("running." + bn.runningVar.name, bn.runningVar.value.array)
        }
    }

    /// A linear classifier on the pooled features of a width-8 ResNet, trained with cross-entropy
    /// on 32 random 16×16 images with random labels (memorisation), must drive the loss near zero.
    func testOverfitsThirtyTwoImages() {
        let (n, classes) = (32, 10)
        let encoder = Encoder<Float>(inChannels: 1, width: 8, seed: 3)
        let classifier = Linear<Float>(name: "fc", inFeatures: encoder.featureDimension, outFeatures: classes)
        classifier.initialise(seed: 4)
        var rng = RNG(seed: 5)
        let pixels = (0..<(n * 16 * 16)).map { _ in UInt8(rng.below(256)) }
        let labels = (0..<n).map { _ in rng.below(classes) }
        let x = Tensor<Float>()
        pixels.withUnsafeBufferPointer {
            InputBatch.normalise($0.baseAddress!, count: n, channels: 1, height: 16, width: 16, mean: [0.5], std: [0.25], into: x)
        }
        let optimiser = SGD(parameters: encoder.backbone.parameters + classifier.parameters, learningRate: 0.05,
                            momentum: 0.9, weightDecay: 5e-4)
        let dLogits = Tensor<Float>([n, classes])
        var firstLoss = 0.0, lastLoss = 0.0
        for step in 0..<60 {
            for p in optimiser.parameters { p.grad.zero() }
            let logits = classifier.forward(encoder.features(x, training: true))
            var loss = 0.0
            for i in 0..<n {
                let row = (0..<classes).map { Double(logits[i * classes + $0]) }
                let top = row.max()!
                let z = row.map { exp($0 - top) }.reduce(0, +)
                loss += -(row[labels[i]] - top - log(z)) / Double(n)
                for j in 0..<classes {
                    dLogits[i * classes + j] = Float((exp(row[j] - top) / z - (j == labels[i] ? 1 : 0)) / Double(n))
                }
            }
            if step == 0 { firstLoss = loss }
            lastLoss = loss
            encoder.backwardFromFeature(classifier.backward(dLogits))
            optimiser.step()
        }
        XCTAssertGreaterThan(firstLoss, 1.5)
        XCTAssertLessThan(lastLoss, 0.05, "cross-entropy after 60 steps: \(lastLoss) (start \(firstLoss))")
    }
}
