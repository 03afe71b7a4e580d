import StageKit

/// 2-D convolution without bias (as in ResNet, where batch norm follows) on `[C, B, H, W]` activations.
///
/// Each pass runs the algorithm its plan names (ConvolutionAlgorithm.swift: chosen in one function from
/// the layer's shape and its `policy`), one file per algorithm: PointwiseConvolution, Im2colConvolution,
/// TransposedInputGradient, WinogradConvolution (both tilings), and DirectConvolution (the reference). Work is split
/// by images (columns for 1×1 convolutions) over `NNRuntime.threads` workers, each with its own
/// workspaces and single-threaded sgemm; partial weight gradients are summed in worker order, so results
/// are reproducible for a given thread count.
public final class Conv2d<T: GemmScalar> {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    /// Whether backward computes the input gradient (not needed for the stem).
    public var needsInputGrad: Bool
    /// Which algorithms this layer may use (tests and `bench engine` A/B switch it per layer).
    public var policy: ConvolutionPolicy
    public let weight: Parameter<T>            // [O, I, k, k], read as [O, K] with K = I·k·k
    public var parameters: [Parameter<T>] { [weight] }

    public let output = Tensor<T>()            // [O, B, Ho, Wo]
    public let inputGrad = Tensor<T>()         // [I, B, H, W]
    var cols: [Tensor<T>] = []                 // per worker: [K, chunk·Ho·Wo] (im2col of x)
    var colGrads: [Tensor<T>] = []             // per worker: the input gradient's column workspace
    var weightGrads: [Tensor<T>] = []          // per worker ≥ 1: partial dW, summed into weight.grad
    var winogradV: [Tensor<T>] = []            // per worker: [ξ, C, chunk tiles] transformed input (ξ: 16 or 36 planes)
    var winogradM: [Tensor<T>] = []            // per worker: [ξ, O, chunk tiles] transformed output
    let winogradWeights = Tensor<T>()          // [ξ, O, C] (or [ξ, I, O] for the input gradient)
    let flippedWeight = Tensor<T>()            // [I, O, k, k]: Wf[c, o, ky, kx] = W[o, c, k−1−ky, k−1−kx]
    var input: Tensor<T>?                      // [I, B, H, W], kept from forward for backward

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                needsInputGrad: Bool = true, policy: ConvolutionPolicy = .fastest) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.needsInputGrad = needsInputGrad
        self.policy = policy
        weight = Parameter(qualified(name, "weight"), [outChannels, inChannels, kernel, kernel])
    }

    /// This layer's algorithm for each pass (for the input of the last forward).
    public var plan: ConvolutionPlan {
        .choose(inChannels: inChannels, kernel: kernel, stride: stride, padding: padding, width: input?.shape[3] ?? 0, needsInputGrad: needsInputGrad,
                policy: policy)
    }

    public func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
    }

    var K: Int { inChannels * kernel * kernel }

    @discardableResult
    @_specialize(exported: true, where T == Float)          // for callers outside NN (bench winograd's whole-batch table)
    public func forward(_ x: Tensor<T>) -> Tensor<T> {
        let (c, b, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(c == inChannels, "Conv2d: input has \(c) channels, expected \(inChannels)")
        input = x
        let (ho, wo) = outputSize(h, w)
        output.reshape([outChannels, b, ho, wo])
        let algorithm = plan.forward
        PassTimes.measure("conv \(passShape(h, w)) forward \(algorithm)") {
            switch algorithm {
            case .pointwise: pointwiseForward(x)
            case .winograd: winogradForward(Winograd.self, x)
            case .winograd4: winogradForward(Winograd4.self, x)
            case .im2col: im2colForward(x)
            case .stem: stemForward(x)
            case .direct: directForward(x)
            case .transposed, .col2im: preconditionFailure("\(algorithm) is an input-gradient algorithm")
            }
        }
        return output
    }

    /// The forward (Winograd or stem) into `y` [O, B, Ho, Wo], every value through `epilogue` (BatchNorm2d.forward(after:)).
    func forward(_ x: Tensor<T>, into y: Tensor<T>, epilogue: Winograd.Epilogue<T>) {
        precondition(x.shape[0] == inChannels && plan.forward.takesEpilogue, "Conv2d: a fused forward needs Winograd or the stem's loops and \(inChannels) channels")
        input = x
        let algorithm = plan.forward
        PassTimes.measure("conv \(passShape(x.shape[2], x.shape[3])) forward \(algorithm) + batch norm") {
            switch algorithm {
            case .winograd4: winogradForward(Winograd4.self, x, into: y, epilogue: epilogue)
            case .stem: stemForward(x, into: y, epilogue: epilogue)
            default: winogradForward(Winograd.self, x, into: y, epilogue: epilogue)
            }
        }
    }

    /// Accumulates dW into weight.grad and (if needed) returns dX.  dOut: [O, B, Ho, Wo].
    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
        let plan = self.plan
        if plan.inputGradient != nil { inputGrad.reshape(x.shape) }
        PassTimes.measure("conv \(passShape(x.shape[2], x.shape[3])) weight gradient \(plan.weightGradient)"
                          + (plan.weightGradient == .pointwise ? " + input gradient" : "")) {
            switch plan.weightGradient {
            case .pointwise: pointwiseBackward(x, dOut)                 // dW and dX in one pass over the columns
            case .winograd: winogradWeightGradient(Winograd.self, x, dOut)
            case .winograd4: winogradWeightGradient(Winograd4.self, x, dOut)
            case .im2col: im2colWeightGradient(x, dOut)
            case .stem: stemWeightGradient(x, dOut)
            case .direct: directWeightGradient(x, dOut)
            case .transposed, .col2im: preconditionFailure("\(plan.weightGradient) is an input-gradient algorithm")
            }
        }
        guard let algorithm = plan.inputGradient, algorithm != .pointwise else { return inputGrad }
        PassTimes.measure("conv \(passShape(x.shape[2], x.shape[3])) input gradient \(algorithm)") {
            switch algorithm {
            case .pointwise: break
            case .winograd: winogradInputGradient(Winograd.self, dOut)
            case .winograd4: winogradInputGradient(Winograd4.self, dOut)
            case .transposed: transposedInputGradient(dOut)
            case .col2im: col2imInputGradient(dOut)
            case .direct: directInputGradient(dOut)
            case .im2col, .stem: preconditionFailure("\(algorithm) is not an input-gradient algorithm")
            }
        }
        return inputGrad
    }

    public func flops(batch: Int, h: Int, w: Int) -> Double {
        let (ho, wo) = outputSize(h, w)
        return 2 * Double(outChannels * K) * Double(batch * ho * wo)
    }

    /// This layer's row label in PassTimes for an h×w input.
    func passShape(_ h: Int, _ w: Int) -> String { PassTimes.shape(inChannels, outChannels, kernel: kernel, stride: stride, h, w) }

    // ---- shared by the algorithm files ----

    /// Workers for `items` units of work (images, or column blocks for 1×1 convolutions).
    func workerCount(_ items: Int) -> Int { max(1, min(NNRuntime.threads, items)) }

    /// body(worker, its contiguous part of 0..<items) on every worker at once, each with single-threaded
    /// sgemm: on few cores this beats one multi-threaded sgemm (no OpenBLAS thread hand-offs, and the
    /// column work runs in parallel too).
    func forEachWorker(_ workers: Int, items: Int, _ body: (Int, Range<Int>) -> Void) {
        BLASRuntime.singleThreaded {
            parallelFor(workers, threads: workers) { wk in body(wk, (items * wk / workers)..<(items * (wk + 1) / workers)) }
        }
    }

    /// body(worker, images) for the consecutive runs of `unit` images that cover 0..<items, each run
    /// claimed by whichever worker is free (parallelUnits), with single-threaded sgemm. For passes whose
    /// result for an image depends only on that image (forward, input gradient): the runs are fixed by
    /// `unit`, so the values do not depend on which worker ran which run; `worker` picks scratch only.
    func forEachUnit(_ workers: Int, items: Int, unit: Int, _ body: (Int, Range<Int>) -> Void) {
        let units = (items + unit - 1) / unit
        BLASRuntime.singleThreaded {
            parallelUnits(units, threads: workers) { wk, u in body(wk, (u * unit)..<min(items, (u + 1) * unit)) }
        }
    }

    /// Per-worker workspaces: `cols[w]` of `colElements`, `colGrads[w]` of `colGradElements`, and for
    /// workers after the first a partial weight gradient of `weightGradShape`.
    func prepareWorkspaces(workers: Int, colElements: Int = 0, colGradElements: Int = 0, weightGradShape: [Int]? = nil) {
        while cols.count < workers { cols.append(Tensor()); colGrads.append(Tensor()); weightGrads.append(Tensor()) }
        for w in 0..<workers {
            if colElements > 0 { cols[w].reshape([colElements]) }
            if colGradElements > 0 { colGrads[w].reshape([colGradElements]) }
            if let weightGradShape, w > 0 { weightGrads[w].reshape(weightGradShape) }
        }
    }

    /// weight.grad += the partial sums of workers 1..<workers, in worker order (worker 0 wrote into it).
    func addPartialWeightGradients(workers: Int) {
        for wk in 1..<max(1, workers) { VectorKernels.add(weight.grad.data, weightGrads[wk].data, 0..<(outChannels * K)) }
    }

    /// The kernel of the stride-1 input gradient: in/out channels swapped, spatially flipped.
    func flipWeights() {
        let (o, c, k) = (outChannels, inChannels, kernel)
        flippedWeight.reshape([c, o, k, k])
        let (src, dst) = (weight.value.data, flippedWeight.data)
        for oc in 0..<o { for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
            dst[((ic * o + oc) * k + ky) * k + kx] = src[((oc * c + ic) * k + (k - 1 - ky)) * k + (k - 1 - kx)]
        } } } }
    }
}
