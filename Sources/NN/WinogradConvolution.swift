// Winograd convolution for 3×3, stride-1, padding-1 layers, by either tiling (WinogradTiling.swift:
// F(2×2, 3×3) in Winograd.swift, F(4×4, 3×3) in Winograd4.swift): the forward pass with U = G·g·Gᵀ,
// the input gradient as the same convolution of dOut with the flipped kernel, and the weight gradient
// through the transforms' adjoints (per worker dU[ξ, O, C] = Σ_tiles (A·dY·Aᵀ) ⊙ (Bᵀ·d·B), summed in
// worker order, then Gᵀ·dU·G).

extension Conv2d {
    /// y = conv(x) into `y` [O, B, h, w] (the layer's output unless a fused batch norm gives its own),
    /// each value passed through `epilogue` on its way out.
    func winogradForward<W: WinogradTiling>(_ tiling: W.Type, _ x: Tensor<T>, into y: Tensor<T>? = nil,
                                            epilogue: Winograd.Epilogue<T>? = nil) {
        let (b, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        winogradWeights.reshape([W.planes, outChannels, inChannels])
        W.transformWeights(weight.value.data, outChannels: outChannels, inChannels: inChannels, into: winogradWeights.data)
        winogradConvolve(W.self, x.data, inChannels: inChannels, outChannels: outChannels, batch: b, h: h, w: w, into: (y ?? output).data,
                         epilogue: epilogue)
    }

    func winogradInputGradient<W: WinogradTiling>(_ tiling: W.Type, _ dOut: Tensor<T>) {
        let (b, h, w) = (dOut.shape[1], dOut.shape[2], dOut.shape[3])
        flipWeights()
        winogradWeights.reshape([W.planes, inChannels, outChannels])
        W.transformWeights(flippedWeight.data, outChannels: inChannels, inChannels: outChannels, into: winogradWeights.data)
        winogradConvolve(W.self, dOut.data, inChannels: outChannels, outChannels: inChannels, batch: b, h: h, w: w, into: inputGrad.data)
    }

    /// weight.grad += dW.
    func winogradWeightGradient<W: WinogradTiling>(_ tiling: W.Type, _ x: Tensor<T>, _ dOut: Tensor<T>) {
        let (b, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (c, o) = (inChannels, outChannels)
        let workers = workerCount(b)
        let chunk = prepareWinogradWorkspaces(W.self, workers: workers, batch: b, h: h, w: w, inChannels: c, outChannels: o)
        prepareWorkspaces(workers: workers)
        for wk in 0..<workers { weightGrads[wk].reshape([W.planes, o, c]) }        // every worker's partial dU, worker 0's too
        let (xs, dy) = (x.data, dOut.data)
        forEachWorker(workers, items: b) { wk, images in
            W.accumulateWeightGradient(xs, dy, inChannels: c, outChannels: o, batch: b, h: h, w: w, images: images, chunk: chunk,
                                              v: self.winogradV[wk].data, m: self.winogradM[wk].data, du: self.weightGrads[wk].data)
        }
        let du = weightGrads[0].data
        for wk in 1..<max(1, workers) { VectorKernels.add(du, weightGrads[wk].data, 0..<(W.planes * o * c)) }
        W.addWeightGradient(du, outChannels: o, inChannels: c, into: weight.grad.data)
    }

    /// Winograd convolution of src [c, B, h, w] with U (winogradWeights, already transformed) into dst [o, B, h, w].
    func winogradConvolve<W: WinogradTiling>(_ tiling: W.Type, _ src: UnsafePointer<T>, inChannels c: Int, outChannels o: Int, batch b: Int,
                          h: Int, w: Int, into dst: UnsafeMutablePointer<T>, epilogue: Winograd.Epilogue<T>? = nil) {
        let workers = workerCount(b)
        let chunk = prepareWinogradWorkspaces(W.self, workers: workers, batch: b, h: h, w: w, inChannels: c, outChannels: o)
        let u = winogradWeights.data
        forEachUnit(workers, items: b, unit: chunk) { wk, images in
            W.convolve(src, inChannels: c, batch: b, h: h, w: w, u: u, outChannels: o, images: images, chunk: chunk,
                              v: self.winogradV[wk].data, m: self.winogradM[wk].data, y: dst, epilogue: epilogue,
                              registerProducts: self.policy.registerProducts)
        }
    }

    /// Per-worker transformed input V and output M for chunks of images; returns the images per chunk.
    func prepareWinogradWorkspaces<W: WinogradTiling>(_ tiling: W.Type, workers: Int, batch b: Int, h: Int, w: Int,
                                                      inChannels c: Int, outChannels o: Int) -> Int {
        let (ty, tx) = W.tiles(h, w)
        let chunk = W.imagesPerChunk(batch: (b + workers - 1) / workers, tilesPerImage: ty * tx, inChannels: c, outChannels: o)
        while winogradV.count < workers { winogradV.append(Tensor()); winogradM.append(Tensor()) }
        for wk in 0..<workers {
            winogradV[wk].reshape([W.planes * Winograd.planeStride(rows: c, tiles: chunk * ty * tx)])
            winogradM[wk].reshape([W.planes * Winograd.planeStride(rows: o, tiles: chunk * ty * tx)])
        }
        return chunk
    }
}
