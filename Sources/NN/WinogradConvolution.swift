// Winograd F(2×2, 3×3) for 3×3, stride-1, padding-1 layers (the transforms and tile kernels are in
// Winograd.swift): the forward pass with U = G·g·Gᵀ, the input gradient as the same convolution of
// dOut with the flipped kernel, and the weight gradient through the transforms' adjoints
// (per worker dU[16, O, C] = Σ_tiles (A·dY·Aᵀ) ⊙ (Bᵀ·d·B), summed in worker order, then Gᵀ·dU·G).

extension Conv2d {
    /// y = conv(x) into `y` [O, B, h, w] (the layer's output unless a fused batch norm gives its own),
    /// each value passed through `epilogue` on its way out.
    func winogradForward(_ x: Tensor<T>, into y: Tensor<T>? = nil, epilogue: Winograd.Epilogue<T>? = nil) {
        let (b, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        winogradWeights.reshape([16, outChannels, inChannels])
        Winograd.transformWeights(weight.value.data, outChannels: outChannels, inChannels: inChannels, into: winogradWeights.data)
        winogradConvolve(x.data, inChannels: inChannels, outChannels: outChannels, batch: b, h: h, w: w, into: (y ?? output).data,
                         epilogue: epilogue)
    }

    func winogradInputGradient(_ dOut: Tensor<T>) {
        let (b, h, w) = (dOut.shape[1], dOut.shape[2], dOut.shape[3])
        flipWeights()
        winogradWeights.reshape([16, inChannels, outChannels])
        Winograd.transformWeights(flippedWeight.data, outChannels: inChannels, inChannels: outChannels, into: winogradWeights.data)
        winogradConvolve(dOut.data, inChannels: outChannels, outChannels: inChannels, batch: b, h: h, w: w, into: inputGrad.data)
    }

    /// weight.grad += dW.
    func winogradWeightGradient(_ x: Tensor<T>, _ dOut: Tensor<T>) {
        let (b, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (c, o) = (inChannels, outChannels)
        let workers = workerCount(b)
        let chunk = prepareWinogradWorkspaces(workers: workers, batch: b, h: h, w: w, inChannels: c, outChannels: o)
        prepareWorkspaces(workers: workers)
        for wk in 0..<workers { weightGrads[wk].reshape([16, o, c]) }        // every worker's partial dU, worker 0's too
        let (xs, dy) = (x.data, dOut.data)
        forEachWorker(workers, items: b) { wk, images in
            Winograd.accumulateWeightGradient(xs, dy, inChannels: c, outChannels: o, batch: b, h: h, w: w, images: images, chunk: chunk,
                                              v: self.winogradV[wk].data, m: self.winogradM[wk].data, du: self.weightGrads[wk].data)
        }
        let du = weightGrads[0].data
        for wk in 1..<max(1, workers) { VectorKernels.add(du, weightGrads[wk].data, 0..<(16 * o * c)) }
        Winograd.addWeightGradient(du, outChannels: o, inChannels: c, into: weight.grad.data)
    }

    /// Winograd convolution of src [c, B, h, w] with U (winogradWeights, already transformed) into dst [o, B, h, w].
    func winogradConvolve(_ src: UnsafePointer<T>, inChannels c: Int, outChannels o: Int, batch b: Int,
                          h: Int, w: Int, into dst: UnsafeMutablePointer<T>, epilogue: Winograd.Epilogue<T>? = nil) {
        let workers = workerCount(b)
        let chunk = prepareWinogradWorkspaces(workers: workers, batch: b, h: h, w: w, inChannels: c, outChannels: o)
        let u = winogradWeights.data
        forEachWorker(workers, items: b) { wk, images in
            Winograd.convolve(src, inChannels: c, batch: b, h: h, w: w, u: u, outChannels: o, images: images, chunk: chunk,
                              v: self.winogradV[wk].data, m: self.winogradM[wk].data, y: dst, epilogue: epilogue)
        }
    }

    /// Per-worker transformed input V and output M for chunks of images; returns the images per chunk.
    func prepareWinogradWorkspaces(workers: Int, batch b: Int, h: Int, w: Int, inChannels c: Int, outChannels o: Int) -> Int {
        let (ty, tx) = Winograd.tiles(h, w)
        let chunk = Winograd.imagesPerChunk(batch: (b + workers - 1) / workers, tilesPerImage: ty * tx, inChannels: c, outChannels: o)
        while winogradV.count < workers { winogradV.append(Tensor()); winogradM.append(Tensor()) }
        for wk in 0..<workers {
            winogradV[wk].reshape([16 * Winograd.planeStride(rows: c, tiles: chunk * ty * tx)])
            winogradM[wk].reshape([16 * Winograd.planeStride(rows: o, tiles: chunk * ty * tx)])
        }
        return chunk
    }
}
