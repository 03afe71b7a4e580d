// im2col + sgemm, for the passes no faster algorithm covers (strided and 7×7-like convolutions; every
// 3×3 pass when Winograd is off):
//   forward:  per chunk of images, col[I·k·k, chunk·Ho·Wo] = im2col(x); y[O, chunk columns] = W · col
//             (written straight into the output's columns, ldc = B·Ho·Wo)
//   dW:       per chunk, dW[O, I·k·k] += dOut[O, chunk columns] · colᵀ
//   dX:       per chunk, colGrad = Wᵀ · dOut[O, chunk columns], scattered back by col2im (any stride).
// Float's stride-2 3×3 and 1×1 layers gather and scatter through StridedColumns.swift (the same values).
// Chunks bound the col workspace (NNRuntime.maxColElements) while keeping sgemm's shape efficient.

extension Conv2d {
    /// Images per chunk for output planes of `spatial` positions when `batch` images go to each worker.
    func imagesPerChunk(batch: Int, spatial: Int) -> Int {
        let byLimit = NNRuntime.maxColElements / max(1, K * spatial)
        let byColumns = (NNRuntime.minColumns + spatial - 1) / spatial
        return max(1, min(batch, max(byLimit, byColumns)))
    }

    /// (workers, images per chunk) of the im2col family for a batch of `b` images with `spatial` output positions.
    func im2colSplit(batch b: Int, spatial: Int) -> (workers: Int, chunk: Int) {
        let workers = workerCount(b)
        return (workers, imagesPerChunk(batch: (b + workers - 1) / workers, spatial: spatial))
    }

    /// body(b0, nb) for the consecutive chunks of at most `chunk` images that cover `images`.
    func forEachChunk(_ images: Range<Int>, chunk: Int, _ body: (Int, Int) -> Void) {
        var b0 = images.lowerBound
        while b0 < images.upperBound {
            let nb = min(chunk, images.upperBound - b0)
            body(b0, nb)
            b0 += nb
        }
    }

    /// For each worker's chunks of x's images: col = im2col(chunk) in the worker's workspace, then
    /// body(worker, col, first image, images, whether it is the worker's first chunk).
    func forEachIm2colChunk(_ x: Tensor<T>, ho: Int, wo: Int, weightGradShape: [Int]? = nil,
                            _ body: (Int, UnsafeMutablePointer<T>, Int, Int, Bool) -> Void) {
        let b = x.shape[1]
        let (workers, chunk) = im2colSplit(batch: b, spatial: ho * wo)
        prepareWorkspaces(workers: workers, colElements: K * chunk * ho * wo, weightGradShape: weightGradShape)
        forEachWorker(workers, items: b) { wk, images in
            let col = self.cols[wk].data
            self.forEachChunk(images, chunk: chunk) { b0, nb in
                self.im2col(x, b0: b0, nb: nb, ho: ho, wo: wo, into: col)
                body(wk, col, b0, nb, b0 == images.lowerBound)
            }
        }
    }

    func im2colForward(_ x: Tensor<T>) {
        let (b, ho, wo) = (output.shape[1], output.shape[2], output.shape[3])
        let spatial = ho * wo, n = b * spatial
        let (o, kk, wt, ys) = (outChannels, K, weight.value.data, output.data)
        let (workers, chunk) = im2colSplit(batch: b, spatial: spatial)
        prepareWorkspaces(workers: workers, colElements: K * chunk * spatial)
        forEachUnit(workers, items: b, unit: chunk) { wk, images in
            let (col, b0, nb) = (self.cols[wk].data, images.lowerBound, images.count)
            self.im2col(x, b0: b0, nb: nb, ho: ho, wo: wo, into: col)
            T.gemm(false, false, o, nb * spatial, kk, 1, wt, kk, col, nb * spatial, 0, ys + b0 * spatial, n)
        }
    }

    func im2colWeightGradient(_ x: Tensor<T>, _ dOut: Tensor<T>) {
        let (b, ho, wo) = (dOut.shape[1], dOut.shape[2], dOut.shape[3])
        let spatial = ho * wo, n = b * spatial
        let (o, kk, dy) = (outChannels, K, dOut.data)
        forEachIm2colChunk(x, ho: ho, wo: wo, weightGradShape: [o, kk]) { wk, col, b0, nb, first in
            let dw = wk == 0 ? self.weight.grad.data : self.weightGrads[wk].data
            let beta: T = wk == 0 || !first ? 1 : 0                         // worker 0 accumulates onto weight.grad
            T.gemm(false, true, o, kk, nb * spatial, 1, dy + b0 * spatial, n, col, nb * spatial, beta, dw, kk)
        }
        addPartialWeightGradients(workers: workerCount(b))
    }

    func col2imInputGradient(_ dOut: Tensor<T>) {
        let (b, ho, wo) = (dOut.shape[1], dOut.shape[2], dOut.shape[3])
        let (h, w) = (inputGrad.shape[2], inputGrad.shape[3])
        let spatial = ho * wo, n = b * spatial
        let (o, kk, wt, dy) = (outChannels, K, weight.value.data, dOut.data)
        let (workers, chunk) = im2colSplit(batch: b, spatial: spatial)
        prepareWorkspaces(workers: workers, colGradElements: kk * chunk * spatial)
        forEachUnit(workers, items: b, unit: chunk) { wk, images in
            let (colGrad, b0, nb) = (self.colGrads[wk].data, images.lowerBound, images.count)
            let count = nb * spatial
            T.gemm(true, false, kk, count, o, 1, wt, kk, dy + b0 * spatial, n, 0, colGrad, count)
            self.col2im(from: colGrad, b0: b0, nb: nb, h: h, w: w, ho: ho, wo: wo, batch: b)
        }
    }

    /// col[(c,ky,kx), (i,oy,ox)] = x[c, b0+i, oy·s−p+ky, ox·s−p+kx] (0 outside the image).
    func im2col(_ x: Tensor<T>, b0: Int, nb: Int, ho: Int, wo: Int, into dst: UnsafeMutablePointer<T>) {
        im2col(x.data, channels: inChannels, batch: x.shape[1], h: x.shape[2], w: x.shape[3], stride: stride,
               padding: padding, b0: b0, nb: nb, ho: ho, wo: wo, into: dst)
    }

    /// The same for any source `[channels, batch, h, w]`, stride and padding (kernel `self.kernel`).
    func im2col(_ src: UnsafePointer<T>, channels: Int, batch b: Int, h: Int, w: Int, stride s: Int, padding p: Int,
                        b0: Int, nb: Int, ho: Int, wo: Int, into dst: UnsafeMutablePointer<T>) {
        let k = kernel
        if T.self == Float.self, StridedColumns.covers(kernel: k, stride: s, padding: p) {
            return StridedColumns.im2col(VectorKernels.float(src), channels: channels, batch: b, h: h, w: w, kernel: k,
                                         b0: b0, nb: nb, ho: ho, wo: wo, into: VectorKernels.float(dst))
        }
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
    func col2im(from src: UnsafeMutablePointer<T>, b0: Int, nb: Int, h: Int, w: Int, ho: Int, wo: Int, batch: Int) {
        let (k, s, p) = (kernel, stride, padding)
        let dst = inputGrad.data
        if T.self == Float.self, StridedColumns.covers(kernel: k, stride: s, padding: p) {
            return StridedColumns.col2im(from: VectorKernels.float(UnsafePointer(src)), channels: inChannels, batch: batch, h: h, w: w, kernel: k,
                                         b0: b0, nb: nb, ho: ho, wo: wo, into: VectorKernels.float(dst))
        }
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
    func validColumns(kx: Int, w: Int, wo: Int, stride: Int, padding: Int) -> (Int, Int) {
        let lo = min(wo, max(0, (padding - kx + stride - 1) / stride))
        let last = w - 1 + padding - kx
        let hi = last < 0 ? lo : max(lo, min(wo, last / stride + 1))
        return (lo, hi)
    }

}
