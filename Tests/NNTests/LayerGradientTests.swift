import NN
import StageKit
import XCTest

/// Every layer's input and parameter gradients against central finite differences, in Double.
final class LayerGradientTests: XCTestCase {
    let checker = GradientCheck()

    func testConv2dGradients() {
        for (k, s, p) in [(3, 1, 1), (3, 2, 1), (1, 2, 0), (3, 1, 0), (1, 1, 0)] {
            let conv = Conv2d<Double>(name: "c", inChannels: 2, outChannels: 3, kernel: k, stride: s, padding: p)
            conv.weight.value.set(randomArray(conv.weight.value.count, seed: 1))
            let x = randomTensor([2, 2, 5, 6], seed: 2)
            let (ho, wo) = conv.outputSize(5, 6)
            let w = randomTensor([3, 2, ho, wo], seed: 3)
            let loss = { weightedSum(conv.forward(x), w) }
            _ = loss()
            conv.weight.grad.zero()
            let dx = conv.backward(w).array
            let dw = conv.weight.grad.array
            checker.check("conv k\(k) s\(s) p\(p) input", x, analytic: dx, loss: loss)
            checker.check("conv k\(k) s\(s) p\(p) weight", conv.weight.value, analytic: dw, loss: loss)
        }
    }

    func testBatchNorm2dGradients() {
        for (splits, relu, training) in [(1, false, true), (2, false, true), (2, true, true), (1, true, false)] {
            let bn = BatchNorm2d<Double>(name: "bn", channels: 3, splits: splits, fusedReLU: relu)
            bn.gamma.value.set(randomArray(3, seed: 4, scale: 0.5).map { $0 + 1 })
            bn.beta.value.set(randomArray(3, seed: 5, scale: 0.5))
            bn.runningMean.value.set([0.1, -0.2, 0.3]); bn.runningVar.value.set([0.5, 1.5, 2])
            let x = randomTensor([3, 4, 3, 2], seed: 6)
            let w = randomTensor([3, 4, 3, 2], seed: 7)
            let loss = { weightedSum(bn.forward(x, training: training), w) }
            _ = loss()
            let dx = bn.backward(w).array
            let label = "bn2d splits \(splits) relu \(relu) training \(training)"
            checker.check("\(label) input", x, analytic: dx, loss: loss)
            checker.check("\(label) gamma", bn.gamma.value, analytic: bn.gamma.grad.array, loss: loss)
            checker.check("\(label) beta", bn.beta.value, analytic: bn.beta.grad.array, loss: loss)
        }
    }

    func testBatchNorm2dSplitStatistics() {
        // Groups normalise separately: each group's output has zero mean per channel.
        let bn = BatchNorm2d<Double>(name: "bn", channels: 2, splits: 2)
        let x = randomTensor([2, 4, 2, 2], seed: 8, scale: 3)
        let y = bn.forward(x, training: true)
        for c in 0..<2 {
            for g in 0..<2 {
                let run = (0..<8).map { y[c * 16 + g * 8 + $0] }
                XCTAssertEqual(run.reduce(0, +) / 8, 0, accuracy: 1e-12)
                XCTAssertEqual(run.map { $0 * $0 }.reduce(0, +) / 8, 1, accuracy: 1e-3)
            }
            // Running mean moved 0.1 of the way towards the mean of the group means (= batch mean).
            let batchMean = (0..<16).map { x[c * 16 + $0] }.reduce(0, +) / 16
            XCTAssertEqual(bn.runningMean.value[c], 0.1 * batchMean, accuracy: 1e-12)
        }
    }

    func testBatchNorm1dGradients() {
        for training in [true, false] {
            let bn = BatchNorm1d<Double>(name: "bn", features: 3)
            bn.gamma.value.set([1.2, 0.7, -0.5]); bn.beta.value.set([0.1, 0.2, -0.3])
            bn.runningMean.value.set([0.1, -0.2, 0.3]); bn.runningVar.value.set([0.5, 1.5, 2])
            let x = randomTensor([5, 3], seed: 9)
            let w = randomTensor([5, 3], seed: 10)
            let loss = { weightedSum(bn.forward(x, training: training), w) }
            _ = loss()
            let dx = bn.backward(w).array
            checker.check("bn1d input \(training)", x, analytic: dx, loss: loss)
            checker.check("bn1d gamma \(training)", bn.gamma.value, analytic: bn.gamma.grad.array, loss: loss)
            checker.check("bn1d beta \(training)", bn.beta.value, analytic: bn.beta.grad.array, loss: loss)
        }
    }

    func testReLUGradient() {
        let relu = ReLU<Double>()
        let x = randomTensor([4, 5], seed: 11, awayFromZero: 0.05)
        let w = randomTensor([4, 5], seed: 12)
        let loss = { weightedSum(relu.forward(x), w) }
        _ = loss()
        checker.check("relu input", x, analytic: relu.backward(w).array, loss: loss)
    }

    func testMaxPoolGradient() {
        let pool = MaxPool2d<Double>(kernel: 2)
        // Distinct values spaced 0.01 apart, shuffled: no ties, no near-ties within ε.
        var values = (0..<(2 * 2 * 4 * 6)).map { Double($0) * 0.01 }
        var rng = RNG(seed: 13)
        values.shuffle(using: &rng)
        let x = Tensor<Double>([2, 2, 4, 6], values)
        let w = randomTensor([2, 2, 2, 3], seed: 14)
        let loss = { weightedSum(pool.forward(x), w) }
        _ = loss()
        checker.check("maxpool input", x, analytic: pool.backward(w).array, loss: loss)
    }

    func testGlobalAvgPoolGradient() {
        let pool = GlobalAvgPool<Double>()
        let x = randomTensor([3, 2, 3, 3], seed: 15)
        let w = randomTensor([2, 3], seed: 16)
        let loss = { weightedSum(pool.forward(x), w) }
        _ = loss()
        checker.check("avgpool input", x, analytic: pool.backward(w).array, loss: loss)
    }

    func testLinearGradients() {
        let fc = Linear<Double>(name: "fc", inFeatures: 4, outFeatures: 3)
        fc.initialise(seed: 17)
        let x = randomTensor([5, 4], seed: 18)
        let w = randomTensor([5, 3], seed: 19)
        let loss = { weightedSum(fc.forward(x), w) }
        _ = loss()
        let dx = fc.backward(w).array
        checker.check("linear input", x, analytic: dx, loss: loss)
        checker.check("linear weight", fc.weight.value, analytic: fc.weight.grad.array, loss: loss)
        checker.check("linear bias", fc.bias.value, analytic: fc.bias.grad.array, loss: loss)
    }

    func testL2NormalizeGradient() {
        let norm = L2Normalize<Double>()
        let x = randomTensor([3, 5], seed: 20)
        let w = randomTensor([3, 5], seed: 21)
        let loss = { weightedSum(norm.forward(x), w) }
        _ = loss()
        checker.check("l2 input", x, analytic: norm.backward(w).array, loss: loss)
        for i in 0..<3 {
            XCTAssertEqual((0..<5).map { norm.output[i * 5 + $0] * norm.output[i * 5 + $0] }.reduce(0, +), 1, accuracy: 1e-12)
        }
    }

    func testBasicBlockGradients() {
        for (inC, outC, stride) in [(2, 2, 1), (2, 4, 2)] {
            let block = BasicBlock<Double>(name: "b", inChannels: inC, outChannels: outC, stride: stride, bnSplits: 2)
            for (i, p) in block.parameters.enumerated() {
                p.value.set(randomArray(p.value.count, seed: 30 + UInt64(i), scale: 0.5).map { p.name.hasSuffix("bn1.weight") || p.name.hasSuffix("bn2.weight") ? $0 + 1 : $0 })
            }
            let x = randomTensor([inC, 4, 6, 6], seed: 22)
            let ho = stride == 1 ? 6 : 3
            let w = randomTensor([outC, 4, ho, ho], seed: 23)
            let loss = { weightedSum(block.forward(x, training: true), w) }
            _ = loss()
            let dx = block.backward(w).array
            checker.check("block \(inC)→\(outC) input", x, analytic: dx, loss: loss)
            for p in block.parameters {
                checker.check("block \(inC)→\(outC) \(p.name)", p.value, analytic: p.grad.array, loss: loss)
            }
        }
    }
}

/// The Float paths use explicit SIMD kernels; the Double paths (checked above against finite
/// differences) define the semantics. A residual block computed both ways must agree.
final class FloatPathTests: XCTestCase {
    func testFloatBlockMatchesDouble() {
        for (inC, outC, stride, size) in [(3, 3, 1, 7), (3, 5, 2, 9)] {
            let bd = BasicBlock<Double>(name: "b", inChannels: inC, outChannels: outC, stride: stride, bnSplits: 2)
            let bf = BasicBlock<Float>(name: "b", inChannels: inC, outChannels: outC, stride: stride, bnSplits: 2)
            for (i, (pd, pf)) in zip(bd.parameters, bf.parameters).enumerated() {
                let v = randomArray(pd.value.count, seed: 500 + UInt64(i), scale: 0.5)
                pd.value.set(v); pf.value.set(v.map(Float.init))
            }
            let x = randomArray(inC * 4 * size * size, seed: 600)
            let ho = stride == 1 ? size : (size + 1) / 2
            let dy = randomArray(outC * 4 * ho * ho, seed: 601)
            let yd = bd.forward(Tensor([inC, 4, size, size], x), training: true).array
            let yf = bf.forward(Tensor([inC, 4, size, size], x.map(Float.init)), training: true).array
            let dxd = bd.backward(Tensor([outC, 4, ho, ho], dy)).array
            let dxf = bf.backward(Tensor([outC, 4, ho, ho], dy.map(Float.init))).array
            func close(_ a: [Float], _ b: [Double], _ label: String) {
                XCTAssertEqual(a.count, b.count, label)
                for (u, v) in zip(a, b) { XCTAssertEqual(Double(u), v, accuracy: 2e-4 * max(1, abs(v)), label) }
            }
            close(yf, yd, "output")
            close(dxf, dxd, "input gradient")
            for (pd, pf) in zip(bd.parameters, bf.parameters) { close(pf.grad.array, pd.grad.array, pf.name) }
            for (sd, sf) in zip(bd.buffers, bf.buffers) { close(sf.value.array, sd.value.array, sf.name) }
        }
    }
}
