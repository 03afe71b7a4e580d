import NN
import TensorFiles
import TestSupport
import XCTest

/// Optimiser, schedules and checkpoints.
final class TrainingTests: XCTestCase {
    func testSGDFollowsPyTorchFormula() {
        let p = Parameter<Double>("w", [2])
        p.value.set([1, -2])
        let sgd = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        var w = [1.0, -2.0], buf = [0.0, 0.0]
        for step in 0..<3 {
            let g = [0.5 + Double(step), -0.25 * Double(step)]
            p.grad.set(g)
            sgd.step()
            for i in 0..<2 {
                let d = g[i] + 0.01 * w[i]
                buf[i] = step == 0 ? d : 0.9 * buf[i] + d
                w[i] -= 0.1 * buf[i]
                XCTAssertEqual(p.value[i], w[i], accuracy: 1e-15)
            }
        }
    }

    func testLearningRateSchedules() {
        XCTAssertEqual(LRSchedule.cosine.rate(base: 0.06, step: 0, totalSteps: 100), 0.06, accuracy: 1e-15)
        XCTAssertEqual(LRSchedule.cosine.rate(base: 0.06, step: 50, totalSteps: 100), 0.03, accuracy: 1e-15)
        XCTAssertEqual(LRSchedule.cosine.rate(base: 0.06, step: 100, totalSteps: 100), 0, accuracy: 1e-15)
        let step = LRSchedule.step(milestones: [0.6, 0.8], gamma: 0.1)
        XCTAssertEqual(step.rate(base: 1, step: 59, totalSteps: 100), 1)
        XCTAssertEqual(step.rate(base: 1, step: 60, totalSteps: 100), 0.1, accuracy: 1e-15)
        XCTAssertEqual(step.rate(base: 1, step: 80, totalSteps: 100), 0.01, accuracy: 1e-15)
        // Linear warm-up over 10 steps, then cosine over the remaining 90.
        XCTAssertEqual(LRSchedule.cosine.rate(base: 1, step: 0, totalSteps: 100, warmupSteps: 10), 0.1, accuracy: 1e-15)
        XCTAssertEqual(LRSchedule.cosine.rate(base: 1, step: 9, totalSteps: 100, warmupSteps: 10), 1, accuracy: 1e-15)
        XCTAssertEqual(LRSchedule.cosine.rate(base: 1, step: 55, totalSteps: 100, warmupSteps: 10), 0.5, accuracy: 1e-15)
    }

    func testMomentumUpdateAndCopy() {
        let q = Encoder<Float>(inChannels: 1, width: 2, seed: 1)
        let k = Encoder<Float>(inChannels: 1, width: 2, seed: 2)
        let before = k.parameters.map(\.value.array)
        k.momentumUpdate(from: q, m: 0.99)
        for (i, p) in k.parameters.enumerated() {
            for j in 0..<p.value.count {
                XCTAssertEqual(p.value[j], 0.99 * before[i][j] + 0.01 * q.parameters[i].value[j], accuracy: 1e-6)
            }
        }
        k.copyWeights(from: q)
        for (a, b) in zip(k.parameters, q.parameters) { XCTAssertEqual(a.value.array, b.value.array) }
    }

    func testCheckpointRoundTripIsExact() throws {
        let q = Encoder<Float>(inChannels: 3, width: 4, prefix: "encoder_q.", seed: 1)
        let k = Encoder<Float>(inChannels: 3, width: 4, prefix: "encoder_k.", seed: 2)
        // Train one step so BN statistics, counters and momentum buffers are non-trivial.
        let x = randomTensor([3, 2, 16, 16], seed: 5)
        let xf = Tensor<Float>(x.shape, x.array.map(Float.init))
        let sgd = SGD(parameters: q.parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4)
        let out = q.forward(xf, training: true)
        q.backward(Tensor<Float>(out.embedding.shape, randomArray(out.embedding.count, seed: 6).map(Float.init)))
        sgd.step()
        _ = k.forward(xf, training: true)

        var writer = TensorFileWriter()
        q.save(into: &writer); k.save(into: &writer); sgd.save(into: &writer, prefix: "encoder_q.")
        let names = Set(writer.tensorNames)
        for expected in ["encoder_q.conv1.weight", "encoder_q.bn1.running_mean", "encoder_q.bn1.num_batches_tracked",
                         "encoder_q.layer1.0.conv1.weight", "encoder_q.layer2.0.downsample.0.weight",
                         "encoder_q.layer2.0.downsample.1.running_var", "encoder_q.head.0.weight", "encoder_q.head.2.bias",
                         "encoder_k.layer4.1.bn2.bias", "encoder_q.optimizer.encoder_q.head.0.weight.momentum_buffer"] {
            XCTAssertTrue(names.contains(expected), expected)
        }
        let dir = try TestSupport.scratchDir("nn-ckpt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ckpt.safetensors.zst").path
        try writer.write(to: path)
        let file = try TensorFile.read(path)
        XCTAssertEqual(try file.info("encoder_q.layer2.0.conv1.weight").shape, [8, 4, 3, 3])

        let q2 = Encoder<Float>(inChannels: 3, width: 4, prefix: "encoder_q.", seed: 9)
        let k2 = Encoder<Float>(inChannels: 3, width: 4, prefix: "encoder_k.", seed: 9)
        let sgd2 = SGD(parameters: q2.parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4)
        try q2.load(from: file); try k2.load(from: file); try sgd2.load(from: file, prefix: "encoder_q.")
        for (a, b) in [(q, q2), (k, k2)] {
            for (p, p2) in zip(a.parameters, b.parameters) { XCTAssertEqual(p.value.array, p2.value.array, p.name) }
            for (s, s2) in zip(a.buffers, b.buffers) { XCTAssertEqual(s.value.array, s2.value.array, s.name) }
            for (n, n2) in zip(a.backbone.norms, b.backbone.norms) { XCTAssertEqual(n.batchesTracked, n2.batchesTracked) }
        }
        for (m, m2) in zip(sgd.momentumBuffers, sgd2.momentumBuffers) { XCTAssertEqual(m.array, m2.array) }
        XCTAssertEqual(sgd.steps, sgd2.steps)

        // A wrong shape is an error naming the file.
        let wide = Encoder<Float>(inChannels: 3, width: 8, prefix: "encoder_q.")
        XCTAssertThrowsError(try wide.load(from: file)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }
}
