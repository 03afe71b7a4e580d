// Stride-1 input gradient as a forward convolution of dOut with the flipped, transposed kernel
// Wf[I, O, k, k] (padding k−1−p), written straight into inputGrad: no col2im scatter, no zero-fill,
// and the sgemm's inner dimension is O·k·k instead of O (16 on the smallest model: very slow).
//   per chunk: colGrad[(o,ky,kx), (i,y,x)] = im2col(dOut);  dX[I, chunk·H·W] = Wf[I, O·k·k] · colGrad

extension Conv2d {
    func transposedInputGradient(_ dOut: Tensor<T>) {
        let (b, ho, wo) = (dOut.shape[1], dOut.shape[2], dOut.shape[3])
        let (h, w) = (inputGrad.shape[2], inputGrad.shape[3])
        let (o, ci, k, dy, dx) = (outChannels, inChannels, kernel, dOut.data, inputGrad.data)
        let pT = kernel - 1 - padding, inSpatial = h * w
        // The same images per chunk as the weight gradient's pass over this batch.
        let (workers, chunk) = im2colSplit(batch: b, spatial: ho * wo)
        flipWeights()
        prepareWorkspaces(workers: workers, colGradElements: o * k * k * chunk * inSpatial)
        let wf = flippedWeight.data
        forEachUnit(workers, items: b, unit: chunk) { wk, images in
            let (colGrad, b0, nb) = (self.colGrads[wk].data, images.lowerBound, images.count)
            self.im2col(dy, channels: o, batch: b, h: ho, w: wo, stride: 1, padding: pT, b0: b0, nb: nb, ho: h, wo: w, into: colGrad)
            let count = nb * inSpatial
            T.gemm(false, false, ci, count, o * k * k, 1, wf, o * k * k, colGrad, count, 0, dx + b0 * inSpatial, b * inSpatial)
        }
    }
}
