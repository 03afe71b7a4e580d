import StageKit

/// 2-D convolution without bias (as in ResNet, where batch norm follows) on `[C, B, H, W]` activations.
///
/// Forward: for a chunk of images, im2col builds col[I·k·k, chunk·Ho·Wo]; one sgemm
/// W[O, I·k·k] × col writes that chunk's columns of the output [O, B·Ho·Wo] directly (ldc = B·Ho·Wo).
/// 1×1 stride-1 convolutions skip im2col: the input already is col. Chunks bound the col workspace.
/// The batch is split into `NNRuntime.threads` contiguous parts, one per worker (own workspaces,
/// single-threaded sgemm). Backward: dW per chunk from im2col(x); dX for stride 1 as the convolution
/// of dOut with the flipped kernel, otherwise Wᵀ·dOut then col2im.
public final class Conv2d<T: GemmScalar> {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    /// Whether backward computes the input gradient (not needed for the stem).
    public var needsInputGrad: Bool
    public let weight: Parameter<T>            // [O, I, k, k], read as [O, K] with K = I·k·k
    public var parameters: [Parameter<T>] { [weight] }

    public let output = Tensor<T>()            // [O, B, Ho, Wo]
    public let inputGrad = Tensor<T>()         // [I, B, H, W]
    private var cols: [Tensor<T>] = []         // per worker: [K, chunk·Ho·Wo]
    private var colGrads: [Tensor<T>] = []     // per worker: [K, chunk·Ho·Wo]
    private var weightGrads: [Tensor<T>] = []  // per worker ≥ 1: [O, K] partial dW, summed into weight.grad
    private var winogradV: [Tensor<T>] = []    // per worker: [16, C, chunk tiles] transformed input
    private var winogradM: [Tensor<T>] = []    // per worker: [16, O, chunk tiles] transformed output
    private let winogradWeights = Tensor<T>()  // [16, O, C] (or [16, I, O] for the input gradient)
    private let flippedWeight = Tensor<T>()    // [I, O, k, k]: Wf[c, o, ky, kx] = W[o, c, k−1−ky, k−1−kx]
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

    /// Work is split by images (columns for 1×1 convs) into `workers` contiguous parts; each worker runs
    /// its own im2col and a single-threaded sgemm on its own workspace. On few cores this beats one
    /// multi-threaded sgemm per chunk: no OpenBLAS thread hand-offs, and im2col runs in parallel too.
    private func workerCount(_ items: Int) -> Int { max(1, min(NNRuntime.threads, items)) }

    /// 3×3 stride-1 padding-1 convolutions (and their input gradients) go through Winograd F(2×2, 3×3).
    private var usesWinograd: Bool { kernel == 3 && stride == 1 && padding == 1 && NNRuntime.winograd }

    /// Winograd convolution of src [c, B, h, w] with U (already transformed) into dst [o, B, h, w].
    private func winogradConvolve(_ src: UnsafePointer<T>, inChannels c: Int, outChannels o: Int, batch b: Int,
                                  h: Int, w: Int, into dst: UnsafeMutablePointer<T>, workers: Int) {
        let (ty, tx) = Winograd.tiles(h, w)
        let chunk = Winograd.imagesPerChunk(batch: (b + workers - 1) / workers, tilesPerImage: ty * tx,
                                            inChannels: c, outChannels: o)
        while winogradV.count < workers { winogradV.append(Tensor()); winogradM.append(Tensor()) }
        for wk in 0..<workers {
            winogradV[wk].reshape([16 * c * chunk * ty * tx])
            winogradM[wk].reshape([16 * o * chunk * ty * tx])
        }
        let u = winogradWeights.data
        BLASRuntime.singleThreaded {
            parallelFor(workers, threads: workers) { wk in
                Winograd.convolve(src, inChannels: c, batch: b, h: h, w: w, u: u, outChannels: o,
                                  images: (b * wk / workers)..<(b * (wk + 1) / workers), chunk: chunk,
                                  v: self.winogradV[wk].data, m: self.winogradM[wk].data, y: dst)
            }
        }
    }

    /// weight.grad += dW by Winograd: per worker dU[16, O, C] = Σ_tiles (A·dY·Aᵀ) ⊙ (Bᵀ·d·B), summed in
    /// worker order, then Gᵀ·dU·G.
    private func winogradWeightGradient(x: UnsafePointer<T>, dOut: UnsafePointer<T>, batch b: Int, h: Int, w: Int, workers: Int) {
        let (c, o) = (inChannels, outChannels)
        let (ty, tx) = Winograd.tiles(h, w)
        let chunk = Winograd.imagesPerChunk(batch: (b + workers - 1) / workers, tilesPerImage: ty * tx,
                                            inChannels: c, outChannels: o)
        while winogradV.count < workers { winogradV.append(Tensor()); winogradM.append(Tensor()) }
        while weightGrads.count < workers { weightGrads.append(Tensor()); cols.append(Tensor()); colGrads.append(Tensor()) }
        for wk in 0..<workers {
            winogradV[wk].reshape([16 * c * chunk * ty * tx])
            winogradM[wk].reshape([16 * o * chunk * ty * tx])
            weightGrads[wk].reshape([16, o, c])
        }
        BLASRuntime.singleThreaded {
            parallelFor(workers, threads: workers) { wk in
                Winograd.accumulateWeightGradient(x, dOut, inChannels: c, outChannels: o, batch: b, h: h, w: w,
                                                  images: (b * wk / workers)..<(b * (wk + 1) / workers), chunk: chunk,
                                                  v: self.winogradV[wk].data, m: self.winogradM[wk].data,
                                                  du: self.weightGrads[wk].data)
            }
        }
        let du = weightGrads[0].data
        for wk in 1..<max(1, workers) { VectorKernels.add(du, weightGrads[wk].data, 0..<(16 * o * c)) }
        Winograd.addWeightGradient(du, outChannels: o, inChannels: c, into: weight.grad.data)
    }

    private func prepareWorkspaces(workers: Int, colElements: Int, backward: Bool, colGradElements: Int = 0) {
        while cols.count < workers { cols.append(Tensor()); colGrads.append(Tensor()); weightGrads.append(Tensor()) }
        for w in 0..<workers {
            cols[w].reshape([colElements])
            if backward && needsInputGrad { colGrads[w].reshape([colGradElements]) }
            if backward && w > 0 { weightGrads[w].reshape([outChannels, K]) }
        }
    }

    @discardableResult
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        let (c, b, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(c == inChannels, "Conv2d: input has \(c) channels, expected \(inChannels)")
        input = x
        let (ho, wo) = outputSize(h, w)
        output.reshape([outChannels, b, ho, wo])
        let n = b * ho * wo
        let (o, kk, wt, xs, ys) = (outChannels, K, weight.value.data, x.data, output.data)
        if isPointwise {
            let workers = workerCount(n / 64 + 1)
            BLASRuntime.singleThreaded {
                parallelFor(workers, threads: workers) { wk in
                    let lo = n * wk / workers, hi = n * (wk + 1) / workers
                    if hi > lo { T.gemm(false, false, o, hi - lo, kk, 1, wt, kk, xs + lo, n, 0, ys + lo, n) }
                }
            }
            return output
        }
        if usesWinograd {
            winogradWeights.reshape([16, o, inChannels])
            Winograd.transformWeights(wt, outChannels: o, inChannels: inChannels, into: winogradWeights.data)
            winogradConvolve(xs, inChannels: inChannels, outChannels: o, batch: b, h: h, w: w, into: ys, workers: workerCount(b))
            return output
        }
        let spatial = ho * wo
        let workers = workerCount(b)
        let chunk = imagesPerChunk(batch: (b + workers - 1) / workers, spatial: spatial)
        prepareWorkspaces(workers: workers, colElements: kk * chunk * spatial, backward: false)
        BLASRuntime.singleThreaded {
            parallelFor(workers, threads: workers) { wk in
                let col = self.cols[wk].data
                var b0 = b * wk / workers
                let end = b * (wk + 1) / workers
                while b0 < end {
                    let nb = min(chunk, end - b0)
                    self.im2col(x, b0: b0, nb: nb, ho: ho, wo: wo, into: col)
                    let count = nb * spatial
                    T.gemm(false, false, o, count, kk, 1, wt, kk, col, count, 0, ys + b0 * spatial, n)
                    b0 += nb
                }
            }
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
        let (o, kk, wt, xs, dy, dx) = (outChannels, K, weight.value.data, x.data, dOut.data, inputGrad.data)
        let wantInput = needsInputGrad
        let workers: Int
        if isPointwise {
            workers = workerCount(n / 64 + 1)
            prepareWorkspaces(workers: workers, colElements: 0, backward: true)
            BLASRuntime.singleThreaded {
                parallelFor(workers, threads: workers) { wk in
                    let lo = n * wk / workers, hi = n * (wk + 1) / workers
                    // dW[O, K] += dOut[O, cols] · x[K, cols]ᵀ ;  dX[K, cols] = Wᵀ · dOut[O, cols]
                    let (dw, beta): (UnsafeMutablePointer<T>, T) = wk == 0 ? (self.weight.grad.data, 1) : (self.weightGrads[wk].data, 0)
                    T.gemm(false, true, o, kk, hi - lo, 1, dy + lo, n, xs + lo, n, beta, dw, kk)
                    if wantInput { T.gemm(true, false, kk, hi - lo, o, 1, wt, kk, dy + lo, n, 0, dx + lo, n) }
                }
            }
        } else if usesWinograd && (!wantInput || NNRuntime.transposedConvInputGrad) {
            // dW and dX both by Winograd F(2×2, 3×3); the partial dW sums are added here, in the ξ domain.
            workers = workerCount(b)
            winogradWeightGradient(x: xs, dOut: dy, batch: b, h: h, w: w, workers: workers)
            if wantInput {
                flipWeights()
                winogradWeights.reshape([16, inChannels, o])
                Winograd.transformWeights(flippedWeight.data, outChannels: inChannels, inChannels: o, into: winogradWeights.data)
                winogradConvolve(dy, inChannels: o, outChannels: inChannels, batch: b, h: h, w: w, into: dx, workers: workers)
            }
            return inputGrad
        } else {
            let spatial = ho * wo
            workers = workerCount(b)
            let chunk = imagesPerChunk(batch: (b + workers - 1) / workers, spatial: spatial)
            // Stride 1: dX is the forward convolution of dOut with the flipped, transposed kernel
            // (padding k−1−p), written straight into inputGrad; no col2im scatter, no zero-fill, and the
            // sgemm's inner dimension is O·k·k instead of O (16 on the smallest model: very slow).
            let winogradInput = wantInput && usesWinograd && NNRuntime.transposedConvInputGrad
            let transposed = wantInput && !winogradInput && stride == 1 && padding <= kernel - 1
                && NNRuntime.transposedConvInputGrad
            let k = kernel, pT = kernel - 1 - padding, inSpatial = h * w
            if transposed || winogradInput { flipWeights() }
            prepareWorkspaces(workers: workers, colElements: kk * chunk * spatial, backward: true,
                              colGradElements: transposed ? o * k * k * chunk * inSpatial : winogradInput ? 0 : kk * chunk * spatial)
            let (ci, wf) = (inChannels, flippedWeight.data)
            BLASRuntime.singleThreaded {
                parallelFor(workers, threads: workers) { wk in
                    let col = self.cols[wk].data, colGrad = self.colGrads[wk].data
                    let dw = wk == 0 ? self.weight.grad.data : self.weightGrads[wk].data
                    var beta: T = wk == 0 ? 1 : 0
                    var b0 = b * wk / workers
                    let end = b * (wk + 1) / workers
                    while b0 < end {
                        let nb = min(chunk, end - b0)
                        let count = nb * spatial
                        self.im2col(x, b0: b0, nb: nb, ho: ho, wo: wo, into: col)
                        T.gemm(false, true, o, kk, count, 1, dy + b0 * spatial, n, col, count, beta, dw, kk)
                        beta = 1
                        if transposed {
                            // colGrad[(o,ky,kx), (i,y,x)] from dOut; dX[I, nb·h·w] = Wf[I, O·k·k] · colGrad
                            self.im2col(dy, channels: o, batch: b, h: ho, w: wo, stride: 1, padding: pT,
                                        b0: b0, nb: nb, ho: h, wo: w, into: colGrad)
                            let cnt = nb * inSpatial
                            T.gemm(false, false, ci, cnt, o * k * k, 1, wf, o * k * k, colGrad, cnt,
                                   0, dx + b0 * inSpatial, b * inSpatial)
                        } else if wantInput && !winogradInput {
                            T.gemm(true, false, kk, count, o, 1, wt, kk, dy + b0 * spatial, n, 0, colGrad, count)
                            self.col2im(from: colGrad, b0: b0, nb: nb, h: h, w: w, ho: ho, wo: wo, batch: b)
                        }
                        b0 += nb
                    }
                }
            }
            if winogradInput {
                // dX: Winograd convolution of dOut [O, B, h, w] with the flipped kernel Wf [I, O, 3, 3]
                winogradWeights.reshape([16, ci, o])
                Winograd.transformWeights(wf, outChannels: ci, inChannels: o, into: winogradWeights.data)
                winogradConvolve(dy, inChannels: o, outChannels: ci, batch: b, h: h, w: w, into: dx, workers: workers)
            }
        }
        // Partial weight gradients, summed in worker order (deterministic for a given thread count).
        let dw = weight.grad.data
        for wk in 1..<max(1, workers) { VectorKernels.add(dw, weightGrads[wk].data, 0..<(o * kk)) }
        return inputGrad
    }

    /// The kernel of the stride-1 input gradient: in/out channels swapped, spatially flipped.
    private func flipWeights() {
        let (o, c, k) = (outChannels, inChannels, kernel)
        flippedWeight.reshape([c, o, k, k])
        let (src, dst) = (weight.value.data, flippedWeight.data)
        for oc in 0..<o { for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
            dst[((ic * o + oc) * k + ky) * k + kx] = src[((oc * c + ic) * k + (k - 1 - ky)) * k + (k - 1 - kx)]
        } } } }
    }

    /// col[(c,ky,kx), (i,oy,ox)] = x[c, b0+i, oy·s−p+ky, ox·s−p+kx] (0 outside the image).
    private func im2col(_ x: Tensor<T>, b0: Int, nb: Int, ho: Int, wo: Int, into dst: UnsafeMutablePointer<T>) {
        im2col(x.data, channels: inChannels, batch: x.shape[1], h: x.shape[2], w: x.shape[3], stride: stride,
               padding: padding, b0: b0, nb: nb, ho: ho, wo: wo, into: dst)
    }

    /// The same for any source `[channels, batch, h, w]`, stride and padding (kernel `self.kernel`).
    private func im2col(_ src: UnsafePointer<T>, channels: Int, batch b: Int, h: Int, w: Int, stride s: Int, padding p: Int,
                        b0: Int, nb: Int, ho: Int, wo: Int, into dst: UnsafeMutablePointer<T>) {
        let k = kernel
        let rowLength = nb * ho * wo
        for r in 0..<(channels * k * k) {
            let c = r / (k * k), ky = (r / k) % k, kx = r % k
            var out = dst + r * rowLength
            if s == 1 && wo == w {
                // Same-size stride-1 case: each image's slice is its plane shifted by (ky−p, kx−p);
                // one block copy per image, then the columns that fell off an edge are zeroed.
                let oyLo = max(0, p - ky), oyHi = min(ho, h + p - ky)
                let shift = kx - p
                let (oxLo, oxHi) = validColumns(kx: kx, w: w, wo: wo, stride: s, padding: p)
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
                continue
            }
            // Output columns ox whose input column ox·s−p+kx lies inside [0, w).
            let (oxLo, oxHi) = validColumns(kx: kx, w: w, wo: wo, stride: s, padding: p)
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

    /// Scatters a column gradient back into inputGrad for images b0..<b0+nb (the transpose of im2col).
    private func col2im(from src: UnsafeMutablePointer<T>, b0: Int, nb: Int, h: Int, w: Int, ho: Int, wo: Int, batch: Int) {
        let (k, s, p) = (kernel, stride, padding)
        let dst = inputGrad.data
        let rowLength = nb * ho * wo
        for c in 0..<inChannels {
            let planes = dst + (c * batch + b0) * h * w
            planes.update(repeating: 0, count: nb * h * w)
            for ky in 0..<k {
                for kx in 0..<k {
                    var g = src + ((c * k + ky) * k + kx) * rowLength
                    if s == 1 && wo == w {
                        // Mirror of im2col's block copy: drop the off-edge columns, then one shifted block add.
                        let oyLo = max(0, p - ky), oyHi = min(ho, h + p - ky)
                        let shift = kx - p
                        let (oxLo, oxHi) = validColumns(kx: kx, w: w, wo: wo, stride: s, padding: p)
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
                    let (oxLo, oxHi) = validColumns(kx: kx, w: w, wo: wo, stride: s, padding: p)
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
    private func validColumns(kx: Int, w: Int, wo: Int, stride: Int, padding: Int) -> (Int, Int) {
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
