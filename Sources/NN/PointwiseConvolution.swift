// 1×1, stride-1, unpadded convolution: x [I, B·H·W] already is the column matrix, so each pass is one
// sgemm per worker over its block of columns (positions), with no workspace.
//   forward:  y[O, cols] = W[O, I] · x[I, cols]
//   backward: dW[O, I] += dOut[O, cols] · x[I, cols]ᵀ,  dX[I, cols] = Wᵀ · dOut[O, cols]

extension Conv2d {
    func pointwiseForward(_ x: Tensor<T>) {
        let n = output.count / outChannels                                  // B·Ho·Wo columns
        let (o, kk, wt, xs, ys) = (outChannels, K, weight.value.data, x.data, output.data)
        forEachWorker(workerCount(n / 64 + 1), items: n) { _, cols in
            if !cols.isEmpty { T.gemm(false, false, o, cols.count, kk, 1, wt, kk, xs + cols.lowerBound, n, 0, ys + cols.lowerBound, n) }
        }
    }

    /// dW (into weight.grad, partial sums per worker) and, when the plan wants it, dX in the same pass.
    func pointwiseBackward(_ x: Tensor<T>, _ dOut: Tensor<T>) {
        let n = dOut.count / outChannels
        let (o, kk, wt, xs, dy, dx) = (outChannels, K, weight.value.data, x.data, dOut.data, inputGrad.data)
        let wantInput = plan.inputGradient != nil
        let workers = workerCount(n / 64 + 1)
        prepareWorkspaces(workers: workers, weightGradShape: [o, kk])
        forEachWorker(workers, items: n) { wk, cols in
            let (lo, count) = (cols.lowerBound, cols.count)
            let (dw, beta): (UnsafeMutablePointer<T>, T) = wk == 0 ? (self.weight.grad.data, 1) : (self.weightGrads[wk].data, 0)
            T.gemm(false, true, o, kk, count, 1, dy + lo, n, xs + lo, n, beta, dw, kk)
            if wantInput { T.gemm(true, false, kk, count, o, 1, wt, kk, dy + lo, n, 0, dx + lo, n) }
        }
        addPartialWeightGradients(workers: workers)
    }
}
