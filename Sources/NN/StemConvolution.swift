// The direct 3×3 convolution for inputs of few channels (the stems: 1 channel at 28×28, 3 at 32×32),
// vectorised along each image's plane. With one input channel Winograd's 36 products are 16×1 outer
// products: it writes and rereads a transformed output 2.25× the layer's output for 9 multiply–adds per
// value. Here every output is one chain of 9·C fused multiply–adds over shifted copies of its image, in L1:
//   per image and input channel: three zero-padded copies of the plane, flat [(H+2)·W + 2], one per kernel
//   column (kx = 0 reads its copy with column W−1 zeroed, kx = 2 with column 0 zeroed), so tap (ky, kx) of
//   output i = y·W + x is copy_kx[c][i + ky·W + kx]: no edge tests inside the loops;
//   forward:  y[o, b, i] = Σ_{c, ky, kx} W[o, c, ky, kx] · copy_kx[c][i + ky·W + kx]    (in that order)
//   dW:       dW[o, c, ky, kx] += Σ_b Σ_i dOut[o, b, i] · copy_kx[c][i + ky·W + kx]
//             (each image's sum in Float vectors, then in Double over the worker's images, workers in order).
// 3×3, stride 1, padding 1; the input gradient (a stem needs none) stays with Winograd.

/// How StemConvolution lays out an image's padded copies.
enum StemPlanes {
    /// Floats in one padded copy of an h×w plane: a guard, a zero row, the image, a zero row, a guard.
    @inline(__always) static func length(_ h: Int, _ w: Int) -> Int { (h + 2) * w + 2 }

    /// The 3·C copies of image `b` of x [C, B, h, w]: copies[(c·3 + kx)·length ..< +length].
    static func fill<T: GemmScalar>(_ x: UnsafePointer<T>, channels c: Int, batch: Int, image b: Int, h: Int, w: Int,
                                    into copies: UnsafeMutablePointer<T>) {
        let n = length(h, w)
        for ch in 0..<c {
            let src = x + (ch * batch + b) * h * w
            for kx in 0..<3 {
                let p = copies + (ch * 3 + kx) * n
                p.update(repeating: 0, count: 1 + w)
                (p + 1 + w).update(from: src, count: h * w)
                (p + 1 + w + h * w).update(repeating: 0, count: w + 1)
                // The column that a tap beyond the left (kx = 0) or right (kx = 2) edge reads in the next or previous row.
                if kx != 1 { for y in 0..<h { p[1 + w + y * w + (kx == 0 ? w - 1 : 0)] = 0 } }
            }
        }
    }

    /// taps[(c·3 + ky)·3 + kx] = copy_kx[c] + ky·w + kx: the weight index within an output channel's C·9.
    @inline(__always) static func taps<T>(_ copies: UnsafePointer<T>, channels c: Int, h: Int, w: Int,
                                          into taps: UnsafeMutablePointer<UnsafePointer<T>>) {
        let n = length(h, w)
        for ch in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
            taps[(ch * 3 + ky) * 3 + kx] = copies + (ch * 3 + kx) * n + ky * w + kx
        } } }
    }
}

/// The per-plane kernels: Float through eight lanes (the scalar loop finishes each plane with the same
/// chain per value, so every value is the same whichever loop computes it), Double through the scalar loop.
enum StemKernels {
    typealias F8 = SIMD8<Float>
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }

    /// y[i] = Σ_t weights[t]·taps[t][i] for i in 0..<count (t in 0..<k, each sum one FMA chain in t order).
    static func forward<T: GemmScalar>(taps: UnsafePointer<UnsafePointer<T>>, weights: UnsafePointer<T>, k: Int, count: Int,
                                       into y: UnsafeMutablePointer<T>) {
        var i = 0
        if T.self == Float.self {
            let (tf, wf, yf) = (UnsafeRawPointer(taps).assumingMemoryBound(to: UnsafePointer<Float>.self),
                                VectorKernels.float(weights), VectorKernels.float(y))
            while i + 32 <= count {
                var (s0, s1, s2, s3) = (F8(), F8(), F8(), F8())
                for t in 0..<k {
                    let (p, g) = (tf[t] + i, F8(repeating: wf[t]))
                    s0 = s0.addingProduct(load(p), g); s1 = s1.addingProduct(load(p + 8), g)
                    s2 = s2.addingProduct(load(p + 16), g); s3 = s3.addingProduct(load(p + 24), g)
                }
                store(s0, yf + i); store(s1, yf + i + 8); store(s2, yf + i + 16); store(s3, yf + i + 24)
                i += 32
            }
            while i + 8 <= count {
                var s = F8()
                for t in 0..<k { s = s.addingProduct(load(tf[t] + i), F8(repeating: wf[t])) }
                store(s, yf + i)
                i += 8
            }
        }
        while i < count {
            var s: T = 0
            for t in 0..<k { s = s.addingProduct(taps[t][i], weights[t]) }
            y[i] = s
            i += 1
        }
    }

    /// sums[t] += Σ_i dy[i]·taps[t][i] for t in 0..<k (k = 9·C): per tap, the Float lanes' sum then the scalar rest.
    static func weightGradient<T: GemmScalar>(dy: UnsafePointer<T>, taps: UnsafePointer<UnsafePointer<T>>, k: Int, count: Int,
                                              into sums: UnsafeMutablePointer<Double>) {
        var i0 = 0
        if T.self == Float.self {
            let (tf, df) = (UnsafeRawPointer(taps).assumingMemoryBound(to: UnsafePointer<Float>.self), VectorKernels.float(dy))
            let vectors = count / 8
            for t0 in stride(from: 0, to: k, by: 9) {       // one input channel's nine taps at a time, their sums in registers
                let p = tf + t0
                var (s0, s1, s2, s3, s4, s5, s6, s7, s8) = (F8(), F8(), F8(), F8(), F8(), F8(), F8(), F8(), F8())
                for v in 0..<vectors {
                    let (i, d) = (v * 8, load(df + v * 8))
                    s0 = s0.addingProduct(d, load(p[0] + i)); s1 = s1.addingProduct(d, load(p[1] + i))
                    s2 = s2.addingProduct(d, load(p[2] + i)); s3 = s3.addingProduct(d, load(p[3] + i))
                    s4 = s4.addingProduct(d, load(p[4] + i)); s5 = s5.addingProduct(d, load(p[5] + i))
                    s6 = s6.addingProduct(d, load(p[6] + i)); s7 = s7.addingProduct(d, load(p[7] + i))
                    s8 = s8.addingProduct(d, load(p[8] + i))
                }
                let out = sums + t0
                out[0] += Double(s0.sum()); out[1] += Double(s1.sum()); out[2] += Double(s2.sum())
                out[3] += Double(s3.sum()); out[4] += Double(s4.sum()); out[5] += Double(s5.sum())
                out[6] += Double(s6.sum()); out[7] += Double(s7.sum()); out[8] += Double(s8.sum())
            }
            i0 = vectors * 8
        }
        guard i0 < count else { return }
        for t in 0..<k {
            var s: T = 0
            for i in i0..<count { s = s.addingProduct(dy[i], taps[t][i]) }
            sums[t] += Double(s)
        }
    }
}

extension Conv2d {
    /// Floats of one worker's padded copies for an h×w image.
    func stemCopiesElements(_ h: Int, _ w: Int) -> Int { 3 * inChannels * StemPlanes.length(h, w) }

    /// y = conv(x) into `y` [O, B, h, w], each image's plane through `epilogue` while in cache.
    func stemForward(_ x: Tensor<T>, into y: Tensor<T>? = nil, epilogue: Winograd.Epilogue<T>? = nil) {
        let (c, b, h, w) = (inChannels, x.shape[1], x.shape[2], x.shape[3])
        let (o, hw, k, xs, wt, ys) = (outChannels, h * w, inChannels * 9, x.data, weight.value.data, (y ?? output).data)
        let workers = workerCount(b)
        prepareWorkspaces(workers: workers, colElements: stemCopiesElements(h, w))
        forEachUnit(workers, items: b, unit: 4) { wk, images in
            let copies = self.cols[wk].data
            withUnsafeTemporaryAllocation(of: UnsafePointer<T>.self, capacity: k) { taps in
                StemPlanes.taps(copies, channels: c, h: h, w: w, into: taps.baseAddress!)
                for image in images {
                    StemPlanes.fill(xs, channels: c, batch: b, image: image, h: h, w: w, into: copies)
                    for oc in 0..<o {
                        let plane = (oc * b + image) * hw
                        StemKernels.forward(taps: taps.baseAddress!, weights: wt + oc * k, k: k, count: hw, into: ys + plane)
                        epilogue?.apply(ys, channel: oc, image: plane, count: hw)
                    }
                }
            }
        }
    }

    /// weight.grad += dW: each worker's images in Double, the workers' sums added in worker order.
    func stemWeightGradient(_ x: Tensor<T>, _ dOut: Tensor<T>) {
        let (c, b, h, w) = (inChannels, x.shape[1], x.shape[2], x.shape[3])
        let (o, hw, k, xs, dy) = (outChannels, h * w, inChannels * 9, x.data, dOut.data)
        let workers = workerCount(b)
        prepareWorkspaces(workers: workers, colElements: stemCopiesElements(h, w))
        let count = o * k
        withUnsafeTemporaryAllocation(of: Double.self, capacity: workers * count) { partials in
            let sums = partials.baseAddress!
            sums.update(repeating: 0, count: workers * count)
            forEachWorker(workers, items: b) { wk, images in
                let (copies, mine) = (self.cols[wk].data, sums + wk * count)
                withUnsafeTemporaryAllocation(of: UnsafePointer<T>.self, capacity: k) { taps in
                    StemPlanes.taps(copies, channels: c, h: h, w: w, into: taps.baseAddress!)
                    for image in images {
                        StemPlanes.fill(xs, channels: c, batch: b, image: image, h: h, w: w, into: copies)
                        for oc in 0..<o {
                            StemKernels.weightGradient(dy: dy + (oc * b + image) * hw, taps: taps.baseAddress!, k: k, count: hw,
                                                       into: mine + oc * k)
                        }
                    }
                }
            }
            for wk in 1..<max(1, workers) { VectorKernels.add(sums, sums + wk * count, 0..<count) }
            let dw = weight.grad.data
            for j in 0..<count { dw[j] += T(sums[j]) }
        }
    }
}
