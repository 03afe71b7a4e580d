import NN
import XCTest

/// The im2col + sgemm convolution (Float, chunked and unchunked) against a naive direct convolution.
final class ConvolutionTests: XCTestCase {
    /// y[o, b, oy, ox] = Σ_{c,ky,kx} W[o, c, ky, kx] · x[c, b, oy·s−p+ky, ox·s−p+kx]
    func directConv(_ x: [Double], _ w: [Double], c: Int, b: Int, h: Int, wd: Int, o: Int, k: Int, s: Int, p: Int) -> [Double] {
        let ho = (h + 2 * p - k) / s + 1, wo = (wd + 2 * p - k) / s + 1
        var y = [Double](repeating: 0, count: o * b * ho * wo)
        for oc in 0..<o { for n in 0..<b { for oy in 0..<ho { for ox in 0..<wo {
            var sum = 0.0
            for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * s - p + ky, ix = ox * s - p + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                    sum += w[((oc * c + ic) * k + ky) * k + kx] * x[((ic * b + n) * h + iy) * wd + ix]
                }
            } } }
            y[((oc * b + n) * ho + oy) * wo + ox] = sum
        } } } }
        return y
    }

    func testFastConvolutionMatchesDirect() {
        // Worker counts 1, 2 and 3 (an uneven split of 5 images) exercise the per-worker workspaces
        // and the partial weight-gradient sums; Double checks the same paths at tight tolerance.
        // Both input-gradient paths (transposed convolution for stride 1, and sgemm + col2im) are checked.
        // Winograd (3×3 stride-1 padding-1) on and off; with transposed off, the input gradient of
        // even those convolutions takes the col2im path.
        defer { NNRuntime.transposedConvInputGrad = true; NNRuntime.winograd = true }
        for (transposed, winograd) in [(true, true), (true, false), (false, true), (false, false)] {
            NNRuntime.transposedConvInputGrad = transposed
            NNRuntime.winograd = winograd
            for threads in [1, 2, 3] {
                checkAgainstDirect(Float.self, threads: threads, tolerance: 1e-4)
                checkAgainstDirect(Double.self, threads: threads, tolerance: 1e-10)
            }
        }
    }

    func checkAgainstDirect<T: GemmScalar>(_: T.Type, threads: Int, tolerance: Double) {
        let saved = NNRuntime.maxColElements, savedColumns = NNRuntime.minColumns, savedThreads = NNRuntime.threads
        defer { NNRuntime.maxColElements = saved; NNRuntime.minColumns = savedColumns; NNRuntime.threads = savedThreads }
        NNRuntime.minColumns = 1
        NNRuntime.threads = threads
        let (c, b, h, wd, o) = (3, 5, 9, 8, 4)
        for k in [1, 3] { for s in [1, 2] { for p in [0, 1] { for colLimit in [saved, 200] {
            NNRuntime.maxColElements = colLimit            // 200 forces one image per chunk
            let conv = Conv2d<T>(name: "c", inChannels: c, outChannels: o, kernel: k, stride: s, padding: p)
            let wv = randomArray(o * c * k * k, seed: 40)
            let xv = randomArray(c * b * h * wd, seed: 41)
            conv.weight.value.set(wv.map { T($0) })
            // Stale values in the gradient must be accumulated onto, not overwritten.
            conv.weight.grad.set([T](repeating: 0.5, count: wv.count))
            let x = Tensor<T>([c, b, h, wd], xv.map { T($0) })
            let y = conv.forward(x)
            let expected = directConv(xv, wv, c: c, b: b, h: h, wd: wd, o: o, k: k, s: s, p: p)
            XCTAssertEqual(y.count, expected.count)
            let label = "winograd \(NNRuntime.winograd) transposed \(NNRuntime.transposedConvInputGrad) \(T.self) threads \(threads) k\(k) s\(s) p\(p) chunk-limit \(colLimit)"
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
