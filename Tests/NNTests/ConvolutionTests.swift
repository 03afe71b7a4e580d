import NN
import StageKit
import XCTest

/// The im2col + sgemm convolution (Float, chunked and unchunked) against a naive direct convolution.
final class ConvolutionTests: XCTestCase {
    /// The reference: NN.DirectConvolution (plain loops in Double).
    func directConv(_ x: [Double], _ w: [Double], c: Int, b: Int, h: Int, wd: Int, o: Int, k: Int, s: Int, p: Int) -> [Double] {
        DirectConvolution(inChannels: c, outChannels: o, kernel: k, stride: s, padding: p, batch: b, height: h, width: wd).forward(x, w)
    }

    /// Every policy picks the algorithms its switches allow, by shape, in one place.
    func testPlanChoosesByShapeAndPolicy() {
        func plan(_ k: Int, _ s: Int, _ p: Int, width: Int = 14, input: Bool = true, channels: Int = 16,
                  _ policy: ConvolutionPolicy = .fastest) -> ConvolutionPlan {
            .choose(inChannels: channels, kernel: k, stride: s, padding: p, width: width, needsInputGrad: input, policy: policy)
        }
        XCTAssertEqual(plan(1, 1, 0), ConvolutionPlan(forward: .pointwise, weightGradient: .pointwise, inputGradient: .pointwise))
        XCTAssertEqual(plan(3, 1, 1), ConvolutionPlan(forward: .winograd, weightGradient: .winograd, inputGradient: .winograd))
        XCTAssertEqual(plan(3, 1, 1, input: false), ConvolutionPlan(forward: .winograd, weightGradient: .winograd, inputGradient: nil))
        XCTAssertEqual(plan(3, 1, 1, ConvolutionPolicy(largeWinogradTilesFromWidth: 0)),
                       ConvolutionPlan(forward: .winograd4, weightGradient: .winograd4, inputGradient: .winograd4))
        // F(4×4) from 28 wide and up to 8 wide by default; F(2×2) between, and everywhere when both thresholds are off.
        let (large, small) = (ConvolutionPlan(forward: .winograd4, weightGradient: .winograd4, inputGradient: .winograd4),
                              ConvolutionPlan(forward: .winograd, weightGradient: .winograd, inputGradient: .winograd))
        XCTAssertEqual(plan(3, 1, 1, width: 28), large)
        XCTAssertEqual(plan(3, 1, 1, width: 27), small)
        XCTAssertEqual(plan(3, 1, 1, width: 9), small)
        XCTAssertEqual(plan(3, 1, 1, width: 8), large)
        XCTAssertEqual(plan(3, 1, 1, width: 4), large)
        XCTAssertEqual(plan(3, 1, 1, width: 32, ConvolutionPolicy(largeWinogradTilesFromWidth: .max)), small)
        XCTAssertEqual(plan(3, 1, 1, width: 7, ConvolutionPolicy(largeWinogradTilesUpToWidth: 0)), small)
        var everywhere = ConvolutionPolicy(), nowhere = ConvolutionPolicy()
        everywhere.winogradTilesEverywhere(large: true); nowhere.winogradTilesEverywhere(large: false)
        for width in [4, 7, 8, 14, 28, 32] {
            XCTAssertEqual(plan(3, 1, 1, width: width, everywhere), large, "width \(width)")
            XCTAssertEqual(plan(3, 1, 1, width: width, nowhere), small, "width \(width)")
        }
        // what bench engine --ab prints for B's tiles
        XCTAssertEqual(ConvolutionPolicy.fastest.largeTilesDescription, "from 28 wide and up to 8 wide")
        XCTAssertEqual(everywhere.largeTilesDescription, "everywhere")
        XCTAssertEqual(nowhere.largeTilesDescription, "nowhere")
        XCTAssertEqual(ConvolutionPolicy(largeWinogradTilesFromWidth: .max).largeTilesDescription, "up to 8 wide")
        XCTAssertEqual(ConvolutionPolicy(largeWinogradTilesUpToWidth: 0).largeTilesDescription, "from 28 wide")
        XCTAssertEqual(plan(3, 1, 1, width: 9, ConvolutionPolicy(largeWinogradTilesFromWidth: 9)),
                       ConvolutionPlan(forward: .winograd4, weightGradient: .winograd4, inputGradient: .winograd4))
        XCTAssertEqual(plan(3, 2, 1, width: 28), ConvolutionPlan(forward: .im2col, weightGradient: .im2col, inputGradient: .col2im))
        XCTAssertEqual(plan(3, 2, 1), ConvolutionPlan(forward: .im2col, weightGradient: .im2col, inputGradient: .col2im))
        XCTAssertEqual(plan(3, 1, 0), ConvolutionPlan(forward: .im2col, weightGradient: .im2col, inputGradient: .transposed))
        XCTAssertEqual(plan(3, 1, 1, ConvolutionPolicy(winograd: false)),
                       ConvolutionPlan(forward: .im2col, weightGradient: .im2col, inputGradient: .transposed))
        XCTAssertEqual(plan(3, 1, 1, ConvolutionPolicy(transposedInputGradient: false)),
                       ConvolutionPlan(forward: .winograd, weightGradient: .im2col, inputGradient: .col2im))
        XCTAssertEqual(plan(1, 2, 0, .direct), ConvolutionPlan(forward: .direct, weightGradient: .direct, inputGradient: .direct))
        // The stems: 3×3 stride-1 padding-1 convolutions of at most 4 input channels by the direct vectorised loops;
        // an input gradient, where one is needed, by Winograd of the size (or col2im without the transposed gradient).
        XCTAssertEqual(plan(3, 1, 1, width: 28, input: false, channels: 1), ConvolutionPlan(forward: .stem, weightGradient: .stem, inputGradient: nil))
        XCTAssertEqual(plan(3, 1, 1, width: 32, channels: 4), ConvolutionPlan(forward: .stem, weightGradient: .stem, inputGradient: .winograd4))
        XCTAssertEqual(plan(3, 1, 1, width: 14, channels: 3), ConvolutionPlan(forward: .stem, weightGradient: .stem, inputGradient: .winograd))
        XCTAssertEqual(plan(3, 1, 1, width: 14, channels: 3, ConvolutionPolicy(transposedInputGradient: false)),
                       ConvolutionPlan(forward: .stem, weightGradient: .stem, inputGradient: .col2im))
        XCTAssertEqual(plan(3, 1, 1, width: 28, channels: 5), large)
        XCTAssertEqual(plan(3, 1, 1, width: 28, channels: 1, ConvolutionPolicy(stemUpToChannels: 0)), large)
        XCTAssertEqual(plan(3, 1, 1, width: 28, channels: 1, ConvolutionPolicy(winograd: false)),
                       ConvolutionPlan(forward: .im2col, weightGradient: .im2col, inputGradient: .transposed))
        XCTAssertEqual(plan(3, 2, 1, width: 28, channels: 1), ConvolutionPlan(forward: .im2col, weightGradient: .im2col, inputGradient: .col2im))
        XCTAssertEqual(plan(3, 1, 1, width: 28, channels: 1, .direct), ConvolutionPlan(forward: .direct, weightGradient: .direct, inputGradient: .direct))
    }

    func testFastConvolutionMatchesDirect() {
        // Worker counts 1, 2 and 3 (an uneven split of 5 images) exercise the per-worker workspaces
        // and the partial weight-gradient sums; Double checks the same paths at tight tolerance.
        // Both input-gradient paths (transposed convolution for stride 1, and sgemm + col2im) are checked.
        // Winograd (3×3 stride-1 padding-1) on and off; with transposed off, the input gradient of
        // even those convolutions takes the col2im path.
        // The direct policy runs the reference itself through the layer (the --reference debug path).
        // Both Winograd tilings, F(2×2, 3×3) and F(4×4, 3×3) (9×8 images: partial tiles of either).
        // (largeTilesFrom 0: F(4×4) at every size, through the gathered transforms at these 8-wide images; .max:
        // F(2×2) at every size.) Winograd's products by the
        // register kernel (the default) and by sgemm. These 3-channel inputs take Winograd only with the stem loops off
        // (stem 0); with them on (stem 4) the 3×3 stride-1 padding-1 passes are the stem's (input gradient: Winograd or col2im).
        for (transposed, winograd, largeTilesFrom, register, stem) in [(true, true, Int.max, true, 0), (true, true, 0, true, 0), (true, false, Int.max, true, 0),
                                                                       (false, true, Int.max, true, 0), (false, true, 0, true, 0), (false, false, Int.max, true, 0),
                                                                       (true, true, Int.max, false, 0), (true, true, 0, false, 0),
                                                                       (true, true, Int.max, true, 4), (false, true, Int.max, true, 4)] {
            for threads in [1, 2, 3] {
                let policy = ConvolutionPolicy(winograd: winograd, largeWinogradTilesFromWidth: largeTilesFrom, largeWinogradTilesUpToWidth: 0,
                                               transposedInputGradient: transposed, registerProducts: register, stemUpToChannels: stem)
                checkAgainstDirect(Float.self, policy: policy, threads: threads, tolerance: 1e-4)
                checkAgainstDirect(Double.self, policy: policy, threads: threads, tolerance: 1e-10)
            }
        }
        checkAgainstDirect(Double.self, policy: .direct, threads: 2, tolerance: 1e-12)
    }

    /// Forward and input-gradient passes hand their runs of images to whichever worker is free; the runs are
    /// fixed, so every value is bit-identical to the fixed split's (each worker its contiguous share of runs),
    /// on every path, thread count and chunking.
    func testClaimedRunsGiveTheFixedSplitsValues() {
        let saved = (NNRuntime.maxColElements, NNRuntime.minColumns, NNRuntime.threads)
        defer { (NNRuntime.maxColElements, NNRuntime.minColumns, NNRuntime.threads) = saved; WorkerPool.claimsUnits = true }
        NNRuntime.minColumns = 1
        let (c, b, h, wd, o) = (3, 7, 9, 8, 4)
        func pass(_ policy: ConvolutionPolicy, k: Int, s: Int, claims: Bool) -> [[Float]] {
            WorkerPool.claimsUnits = claims
            let conv = Conv2d<Float>(name: "c", inChannels: c, outChannels: o, kernel: k, stride: s, padding: 1, policy: policy)
            conv.weight.value.set(randomArray(o * c * k * k, seed: 50).map { Float($0) })
            let y = conv.forward(Tensor<Float>([c, b, h, wd], randomArray(c * b * h * wd, seed: 51).map { Float($0) })).array
            let dx = conv.backward(Tensor<Float>(conv.output.shape, randomArray(y.count, seed: 52).map { Float($0) })).array
            return [y, dx, conv.weight.grad.array]
        }
        for (transposed, largeTilesFrom, stem) in [(true, Int.max, 0), (true, 0, 0), (false, Int.max, 0), (true, Int.max, 4)] {
            let policy = ConvolutionPolicy(largeWinogradTilesFromWidth: largeTilesFrom, largeWinogradTilesUpToWidth: 0,
                                           transposedInputGradient: transposed, stemUpToChannels: stem)
            for threads in [2, 3] { for colLimit in [saved.0, 200] { for (k, s) in [(3, 1), (3, 2), (1, 1)] {
                (NNRuntime.threads, NNRuntime.maxColElements) = (threads, colLimit)
                let claimed = pass(policy, k: k, s: s, claims: true), fixed = pass(policy, k: k, s: s, claims: false)
                XCTAssertEqual(claimed, fixed, "transposed \(transposed), F(4×4) from \(largeTilesFrom), stem \(stem), threads \(threads), chunk limit \(colLimit), k\(k) s\(s)")
            } } }
        }
    }

    /// The stem loops (StemConvolution.swift) at 1–4 input channels, on planes whose size is and is not a
    /// multiple of the eight lanes, against the direct convolution at every thread count; in Float every
    /// forward value must be exactly one fused multiply–add chain over the nine taps of each channel in
    /// order (zero beyond the image), whichever loop (32, 8 or 1 outputs at a time) computed it.
    func testStemMatchesDirectAndItsOwnChain() {
        let saved = NNRuntime.threads
        defer { NNRuntime.threads = saved }
        let (b, o) = (5, 6)
        for c in 1...4 { for (h, wd) in [(28, 28), (9, 7), (3, 5), (6, 1)] { for threads in [1, 2, 3] {
            NNRuntime.threads = threads
            let wv = randomArray(o * c * 9, seed: 60 + UInt64(c)), xv = randomArray(c * b * h * wd, seed: 70 + UInt64(h))
            let dyv = randomArray(o * b * h * wd, seed: 80)
            let label = "\(c) channels, \(h)×\(wd), \(threads) threads"
            let expected = directConv(xv, wv, c: c, b: b, h: h, wd: wd, o: o, k: 3, s: 1, p: 1)
            // dW[j] and Σ of its terms' magnitudes: a sum of thousands of terms may cancel to far below them, and its
            // rounding in Float scales with the terms.
            let direct = DirectConvolution(inChannels: c, outChannels: o, kernel: 3, stride: 1, padding: 1, batch: b, height: h, width: wd)
            let dwExpected = direct.weightGradient(xv, dyv), dwScale = direct.weightGradient(xv.map(abs), dyv.map(abs))
            func check<T: GemmScalar>(_: T.Type, tolerance: Double, gradientTolerance: Double) -> [T] {
                let conv = Conv2d<T>(name: "stem", inChannels: c, outChannels: o, kernel: 3, stride: 1, padding: 1, needsInputGrad: false)
                conv.weight.value.set(wv.map { T($0) })
                let y = conv.forward(Tensor<T>([c, b, h, wd], xv.map { T($0) })).array
                XCTAssertEqual(conv.plan, ConvolutionPlan(forward: .stem, weightGradient: .stem, inputGradient: nil), label)
                for i in 0..<expected.count {
                    XCTAssertEqual(Double(y[i]), expected[i], accuracy: tolerance * max(1, abs(expected[i])), "\(T.self) \(label) y[\(i)]")
                }
                conv.weight.grad.set([T](repeating: 0.5, count: wv.count))
                conv.backward(Tensor<T>([o, b, h, wd], dyv.map { T($0) }))
                for j in 0..<wv.count {
                    XCTAssertEqual(Double(conv.weight.grad[j]) - 0.5, dwExpected[j], accuracy: gradientTolerance * max(1, dwScale[j]),
                                   "\(T.self) \(label) dW[\(j)]")
                }
                return y
            }
            _ = check(Double.self, tolerance: 1e-12, gradientTolerance: 1e-14)
            let y = check(Float.self, tolerance: 1e-5, gradientTolerance: 2e-7)
            let (x, w) = (xv.map { Float($0) }, wv.map { Float($0) })
            var mismatches = 0
            for oc in 0..<o { for n in 0..<b { for oy in 0..<h { for ox in 0..<wd {
                var s: Float = 0
                for ic in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
                    let (iy, ix) = (oy + ky - 1, ox + kx - 1)
                    let v: Float = iy >= 0 && iy < h && ix >= 0 && ix < wd ? x[((ic * b + n) * h + iy) * wd + ix] : 0
                    s = s.addingProduct(v, w[((oc * c + ic) * 3 + ky) * 3 + kx])
                } } }
                if y[((oc * b + n) * h + oy) * wd + ox].bitPattern != s.bitPattern { mismatches += 1 }
            } } } }
            XCTAssertEqual(mismatches, 0, "Float forward values off their FMA chain, \(label)")
        } } }
    }

    func checkAgainstDirect<T: GemmScalar>(_: T.Type, policy: ConvolutionPolicy, threads: Int, tolerance: Double) {
        let saved = NNRuntime.maxColElements, savedColumns = NNRuntime.minColumns, savedThreads = NNRuntime.threads
        defer { NNRuntime.maxColElements = saved; NNRuntime.minColumns = savedColumns; NNRuntime.threads = savedThreads }
        NNRuntime.minColumns = 1
        NNRuntime.threads = threads
        let (c, b, h, wd, o) = (3, 5, 9, 8, 4)
        for k in [1, 3] { for s in [1, 2] { for p in [0, 1] { for colLimit in [saved, 200] {
            NNRuntime.maxColElements = colLimit            // 200 forces one image per chunk
            let conv = Conv2d<T>(name: "c", inChannels: c, outChannels: o, kernel: k, stride: s, padding: p, policy: policy)
            let wv = randomArray(o * c * k * k, seed: 40)
            let xv = randomArray(c * b * h * wd, seed: 41)
            conv.weight.value.set(wv.map { T($0) })
            // Stale values in the gradient must be accumulated onto, not overwritten.
            conv.weight.grad.set([T](repeating: 0.5, count: wv.count))
            let x = Tensor<T>([c, b, h, wd], xv.map { T($0) })
            let y = conv.forward(x)
            let expected = directConv(xv, wv, c: c, b: b, h: h, wd: wd, o: o, k: k, s: s, p: p)
            XCTAssertEqual(y.count, expected.count)
            let label = "\(conv.plan) register \(policy.registerProducts) \(T.self) threads \(threads) k\(k) s\(s) p\(p) chunk-limit \(colLimit)"
            for i in 0..<expected.count {
                XCTAssertEqual(Double(y[i]), expected[i], accuracy: tolerance * max(1, abs(expected[i])), label)
            }
            // Backward against the direct convolution's adjoint: ⟨dy, conv(x)⟩ is linear in x and in W,
            // so dX[i] = ⟨dy, conv(e_i)⟩ and dW[j] = ⟨dy, conv_{e_j}(x)⟩.
            let dyv = randomArray(expected.count, seed: 42)
            let dx = conv.backward(Tensor<T>(y.shape, dyv.map { T($0) })).array
            for i in Swift.stride(from: 0, to: xv.count, by: 7) {
                var e = [Double](repeating: 0, count: xv.count); e[i] = 1
                let col = directConv(e, wv, c: c, b: b, h: h, wd: wd, o: o, k: k, s: s, p: p)
                let ref = zip(col, dyv).map(*).reduce(0, +)
                XCTAssertEqual(Double(dx[i]), ref, accuracy: tolerance * max(1, abs(ref)), "\(label) dX[\(i)]")
            }
            for j in 0..<wv.count {
                var e = [Double](repeating: 0, count: wv.count); e[j] = 1
                let ref = zip(directConv(xv, e, c: c, b: b, h: h, wd: wd, o: o, k: k, s: s, p: p), dyv).map(*).reduce(0, +)
                XCTAssertEqual(Double(conv.weight.grad[j]) - 0.5, ref, accuracy: tolerance * max(1, abs(ref)), "\(label) dW[\(j)]")
            }
        } } } }
    }
}
