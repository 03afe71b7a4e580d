import StageKit

/// 2-D convolution without bias (as in ResNet, where batch norm follows) on `[C, B, H, W]` activations.
///
/// Forward: for a chunk of images, im2col builds col[I·k·k, chunk·Ho·Wo]; one sgemm
/// W[O, I·k·k] × col writes that chunk's columns of the output [O, B·Ho·Wo] directly (ldc = B·Ho·Wo).
/// 1×1 stride-1 convolutions skip im2col: the input already is col. Chunks bound the col workspace.
public final class Conv2d<T: GemmScalar> {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    /// Whether backward computes the input gradient (not needed for the stem).
    public var needsInputGrad: Bool
    public let weight: Parameter<T>            // [O, I, k, k], read as [O, K] with K = I·k·k
    public var parameters: [Parameter<T>] { [weight] }

    public let output = Tensor<T>()            // [O, B, Ho, Wo]
    public let inputGrad = Tensor<T>()         // [I, B, H, W]
    private let col = Tensor<T>()              // [K, chunk·Ho·Wo]
    private let colGrad = Tensor<T>()          // [K, chunk·Ho·Wo]
    private var input: Tensor<T>?              // [I, B, H, W], kept from forward for backward


    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                needsInputGrad: Bool = true) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.needsInputGrad = needsInputGrad
        weight = Parameter(qualified(name, "weight"), [outChannels, inChannels, kernel, kernel])
    }

    public func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
    }

    private var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
    private var K: Int { inChannels * kernel * kernel }

    private func imagesPerChunk(batch: Int, spatial: Int) -> Int {
        let byLimit = NNRuntime.maxColElements / max(1, K * spatial)
        let byColumns = (NNRuntime.minColumns + spatial - 1) / spatial
        return max(1, min(batch, max(byLimit, byColumns)))
    }

    @discardableResult
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        let (c, b, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(c == inChannels, "Conv2d: input has \(c) channels, expected \(inChannels)")
        input = x
        let (ho, wo) = outputSize(h, w)
        output.reshape([outChannels, b, ho, wo])
        let n = b * ho * wo
        if isPointwise {
            T.gemm(false, false, outChannels, n, K, 1, weight.value.data, K, x.data, n, 0, output.data, n)
            return output
        }
        let chunk = imagesPerChunk(batch: b, spatial: ho * wo)
        col.reshape([K, chunk * ho * wo])
        var b0 = 0
        while b0 < b {
            let nb = min(chunk, b - b0)
            im2col(x, b0: b0, nb: nb, ho: ho, wo: wo)
            let cols = nb * ho * wo
            T.gemm(false, false, outChannels, cols, K, 1, weight.value.data, K, col.data, cols,
                   0, output.data + b0 * ho * wo, n)
            b0 += nb
        }
        return output
    }

    /// Accumulates dW and (if needed) returns dX.  dOut: [O, B, Ho, Wo].
    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
        let (b, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (ho, wo) = outputSize(h, w)
        let n = b * ho * wo
        if needsInputGrad { inputGrad.reshape(x.shape) }
        if isPointwise {
            // dW[O, K] += dOut[O, n] · x[K, n]ᵀ ;  dX[K, n] = Wᵀ · dOut
            T.gemm(false, true, outChannels, K, n, 1, dOut.data, n, x.data, n, 1, weight.grad.data, K)
            if needsInputGrad {
                T.gemm(true, false, K, n, outChannels, 1, weight.value.data, K, dOut.data, n, 0, inputGrad.data, n)
            }
            return inputGrad
        }
        let chunk = imagesPerChunk(batch: b, spatial: ho * wo)
        col.reshape([K, chunk * ho * wo])
        if needsInputGrad { colGrad.reshape([K, chunk * ho * wo]) }
        var b0 = 0
        while b0 < b {
            let nb = min(chunk, b - b0)
            let cols = nb * ho * wo
            im2col(x, b0: b0, nb: nb, ho: ho, wo: wo)
            T.gemm(false, true, outChannels, K, cols, 1, dOut.data + b0 * ho * wo, n, col.data, cols,
                   1, weight.grad.data, K)
            if needsInputGrad {
                T.gemm(true, false, K, cols, outChannels, 1, weight.value.data, K, dOut.data + b0 * ho * wo, n,
                       0, colGrad.data, cols)
                col2im(b0: b0, nb: nb, h: h, w: w, ho: ho, wo: wo, batch: b)
            }
            b0 += nb
        }
        return inputGrad
    }

    /// col[(c,ky,kx), (i,oy,ox)] = x[c, b0+i, oy·s−p+ky, ox·s−p+kx] (0 outside the image).
    private func im2col(_ x: Tensor<T>, b0: Int, nb: Int, ho: Int, wo: Int) {
        let (b, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (k, s, p) = (kernel, stride, padding)
        let src = x.data, dst = col.data
        let rowLength = nb * ho * wo
        parallelFor(K, threads: NNRuntime.threads) { r in
            let c = r / (k * k), ky = (r / k) % k, kx = r % k
            var out = dst + r * rowLength
            if s == 1 && wo == w {
                // Same-size stride-1 case: each image's slice is its plane shifted by (ky−p, kx−p);
                // one block copy per image, then the columns that fell off an edge are zeroed.
                let oyLo = max(0, p - ky), oyHi = min(ho, h + p - ky)
                let shift = kx - p
                let (oxLo, oxHi) = self.validColumns(kx: kx, w: w, wo: wo)
                for i in 0..<nb {
                    let plane = src + (c * b + b0 + i) * h * w
                    out.update(repeating: 0, count: oyLo * wo)
                    if oyHi > oyLo {
                        let count = (oyHi - oyLo) * wo
                        let from = plane + (oyLo - p + ky) * w, to = out + oyLo * wo
                        if shift >= 0 { to.update(from: from + shift, count: count - shift) }
                        else { (to - shift).update(from: from, count: count + shift) }
                        for oy in oyLo..<oyHi {
                            let line = out + oy * wo
                            for ox in 0..<oxLo { line[ox] = 0 }
                            for ox in oxHi..<wo { line[ox] = 0 }
                        }
                    }
                    (out + oyHi * wo).update(repeating: 0, count: (ho - oyHi) * wo)
                    out += ho * wo
                }
                return
            }
            // Output columns ox whose input column ox·s−p+kx lies inside [0, w).
            let (oxLo, oxHi) = self.validColumns(kx: kx, w: w, wo: wo)
            for i in 0..<nb {
                let plane = src + (c * b + b0 + i) * h * w
                for oy in 0..<ho {
                    let iy = oy * s - p + ky
                    if iy < 0 || iy >= h {
                        out.update(repeating: 0, count: wo)
                    } else {
                        let row = plane + iy * w - p + kx
                        for ox in 0..<oxLo { out[ox] = 0 }
                        if s == 1 {
                            (out + oxLo).update(from: row + oxLo, count: oxHi - oxLo)
                        } else {
                            for ox in oxLo..<oxHi { out[ox] = row[ox * s] }
                        }
                        for ox in oxHi..<wo { out[ox] = 0 }
                    }
                    out += wo
                }
            }
        }
    }

    /// Scatters colGrad back into inputGrad for images b0..<b0+nb (the transpose of im2col).
    private func col2im(b0: Int, nb: Int, h: Int, w: Int, ho: Int, wo: Int, batch: Int) {
        let (k, s, p) = (kernel, stride, padding)
        let src = colGrad.data, dst = inputGrad.data
        let rowLength = nb * ho * wo
        parallelFor(inChannels, threads: NNRuntime.threads) { c in
            let planes = dst + (c * batch + b0) * h * w
            planes.update(repeating: 0, count: nb * h * w)
            for ky in 0..<k {
                for kx in 0..<k {
                    var g = src + ((c * k + ky) * k + kx) * rowLength
                    if s == 1 && wo == w {
                        // Mirror of im2col's block copy: drop the off-edge columns, then one shifted block add.
                        let oyLo = max(0, p - ky), oyHi = min(ho, h + p - ky)
                        let shift = kx - p
                        let (oxLo, oxHi) = self.validColumns(kx: kx, w: w, wo: wo)
                        for i in 0..<nb {
                            if oyHi > oyLo {
                                for oy in oyLo..<oyHi {
                                    let line = g + oy * wo
                                    for ox in 0..<oxLo { line[ox] = 0 }
                                    for ox in oxHi..<wo { line[ox] = 0 }
                                }
                                let count = (oyHi - oyLo) * wo
                                let to = planes + i * h * w + (oyLo - p + ky) * w, from = g + oyLo * wo
                                if shift >= 0 { VectorKernels.add(to + shift, from, 0..<(count - shift)) }
                                else { VectorKernels.add(to, from - shift, 0..<(count + shift)) }
                            }
                            g += ho * wo
                        }
                        continue
                    }
                    let (oxLo, oxHi) = self.validColumns(kx: kx, w: w, wo: wo)
                    for i in 0..<nb {
                        let plane = planes + i * h * w
                        for oy in 0..<ho {
                            let iy = oy * s - p + ky
                            if iy >= 0 && iy < h {
                                let row = plane + iy * w - p + kx
                                for ox in oxLo..<oxHi { row[ox * s] += g[ox] }
                            }
                            g += wo
                        }
                    }
                }
            }
        }
    }

    /// The output columns ox whose input column ox·s − p + kx lies inside [0, w).
    @inline(__always)
    private func validColumns(kx: Int, w: Int, wo: Int) -> (Int, Int) {
        let lo = min(wo, max(0, (padding - kx + stride - 1) / stride))
        let last = w - 1 + padding - kx
        let hi = last < 0 ? lo : max(lo, min(wo, last / stride + 1))
        return (lo, hi)
    }

    public func flops(batch: Int, h: Int, w: Int) -> Double {
        let (ho, wo) = outputSize(h, w)
        return 2 * Double(outChannels * K) * Double(batch * ho * wo)
    }
}
