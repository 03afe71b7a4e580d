import Foundation
import StageKit

/// Batch normalisation over `[C, B, H, W]` activations, PyTorch semantics: eps 1e-5, momentum 0.1,
/// running variance unbiased. `splits` > 1 is MoCo's SplitBatchNorm: in training the batch is cut
/// into `splits` equal groups of images, each normalised with its own statistics, and the running
/// statistics move towards the mean over groups. `fusedReLU` applies max(0, ·) to the output
/// (backward masks by the output), saving a pass and a buffer.
public final class BatchNorm2d<T: GemmScalar> {
    public let channels: Int, splits: Int, fusedReLU: Bool
    public let eps: Double = 1e-5, momentum: Double = 0.1
    public let gamma: Parameter<T>             // [C]  ("weight")
    public let beta: Parameter<T>              // [C]  ("bias")
    public let runningMean: Buffer<T>          // [C]
    public let runningVar: Buffer<T>           // [C]
    public var batchesTracked: Int64 = 0       // num_batches_tracked
    public var parameters: [Parameter<T>] { [gamma, beta] }
    public var buffers: [Buffer<T>] { [runningMean, runningVar] }

    public let output = Tensor<T>()            // [C, B, H, W]
    public let inputGrad = Tensor<T>()         // [C, B, H, W]
    private let mean = Tensor<T>()             // [splits, C] statistics used by the last forward
    private let invStd = Tensor<T>()           // [splits, C]
    private var input: Tensor<T>?              // [C, B, H, W]
    private let evaluationScale = Tensor<T>()  // [C] the affine a fused evaluation forward hands the convolution
    private let evaluationShift = Tensor<T>()  // [C]
    private var trainedForward = true

    public init(name: String, channels: Int, splits: Int = 1, fusedReLU: Bool = false) {
        precondition(splits >= 1)
        self.channels = channels; self.splits = splits; self.fusedReLU = fusedReLU
        gamma = Parameter(qualified(name, "weight"), [channels])
        beta = Parameter(qualified(name, "bias"), [channels])
        gamma.value.data.update(repeating: 1, count: channels)
        runningMean = Buffer(qualified(name, "running_mean"), [channels])
        runningVar = Buffer(qualified(name, "running_var"), [channels], fill: 1)
    }

    /// `residual` [C, B, H, W]: the output is max(BN(x) + residual, 0) — a residual block's add and ReLU
    /// in the output pass (backward is unchanged: the block masks the gradient by this output itself).
    @discardableResult
    public func forward(_ x: Tensor<T>, training: Bool, residual: Tensor<T>? = nil) -> Tensor<T> {
        let (c, b) = (x.shape[0], x.shape[1])
        precondition(c == channels, "BatchNorm2d: \(c) channels, expected \(channels)")
        precondition(residual.map { $0.shape == x.shape } ?? true, "BatchNorm2d: residual \(residual!.shape), input \(x.shape)")
        input = x
        trainedForward = training
        output.reshape(x.shape)
        let spatial = x.count / (c * b)
        let groups = training ? splits : 1
        precondition(b % groups == 0, "BatchNorm2d: batch \(b) not divisible by splits \(groups)")
        let groupSize = b / groups * spatial            // elements per (channel, group)
        mean.reshape([groups, c]); invStd.reshape([groups, c])
        if training { batchesTracked += 1 }
        let relu = fusedReLU
        let (xs, ys, g, bt) = (x.data, output.data, gamma.value.data, beta.value.data)
        let (ms, iss, rm, rv) = (mean.data, invStd.data, runningMean.value.data, runningVar.value.data)
        let rs = residual?.data
        let (eps, momentum) = (self.eps, self.momentum)
        PassTimes.measure("batch norm \(c) @\(x.shape[2])×\(x.shape[3]) forward" + (rs != nil ? " + add + ReLU" : relu ? " + ReLU" : "")
                          + (training ? "" : " (evaluation)")) {
            parallelFor(c, threads: NNRuntime.threads) { ch in
                var meanOfMeans = 0.0, meanOfVars = 0.0
                for grp in 0..<groups {
                    let src = xs + ch * b * spatial + grp * groupSize
                    let m: Double, v: Double
                    if training {
                        let (sum, squares) = VectorKernels.sumAndSquaredDeviation(src, groupSize)
                        m = sum / Double(groupSize)
                        v = squares / Double(groupSize)
                        meanOfMeans += m
                        meanOfVars += groupSize > 1 ? squares / Double(groupSize - 1) : v
                    } else {
                        m = Double(rm[ch]); v = Double(rv[ch])
                    }
                    let (scale, shift, inv) = BatchNorm2d.affine(mean: m, variance: v, gamma: g[ch], beta: bt[ch], eps: eps)
                    ms[grp * c + ch] = T(m); iss[grp * c + ch] = T(inv)
                    let dst = ys + ch * b * spatial + grp * groupSize
                    if let rs {
                        VectorKernels.affineAddReLU(src, rs + ch * b * spatial + grp * groupSize, dst, groupSize, scale: scale, shift: shift)
                    } else {
                        VectorKernels.affine(src, dst, groupSize, scale: scale, shift: shift, relu: relu)
                    }
                }
                if training {
                    rm[ch] = T((1 - momentum) * Double(rm[ch]) + momentum * meanOfMeans / Double(groups))
                    rv[ch] = T((1 - momentum) * Double(rv[ch]) + momentum * meanOfVars / Double(groups))
                }
            }
        }
        return output
    }

    /// y = x·scale + shift normalises with (mean, variance); inv = 1/√(variance + ε).
    @inline(__always) static func affine(mean m: Double, variance v: Double, gamma: T, beta: T, eps: Double) -> (scale: T, shift: T, inv: Double) {
        let inv = 1 / (v + eps).squareRoot()
        return (T(Double(gamma) * inv), T(Double(beta) - m * Double(gamma) * inv), inv)
    }

    /// self(conv(x)), with the same `residual`. In evaluation, when the convolution runs Winograd, this
    /// norm's affine (and the add and ReLU) run inside the convolution's output transform, on each image's
    /// plane while it is still in cache, instead of in a pass of their own over the whole activation —
    /// identical values (the same kernels). Nothing is kept for a backward pass then (evaluation has none).
    @discardableResult
    public func forward(after conv: Conv2d<T>, _ x: Tensor<T>, training: Bool, residual: Tensor<T>? = nil) -> Tensor<T> {
        guard !training, conv.policy.fusedEvaluationNorm, conv.plan.forward.takesEpilogue else {
            return forward(conv.forward(x), training: training, residual: residual)
        }
        precondition(conv.outChannels == channels, "BatchNorm2d: \(conv.outChannels) channels, expected \(channels)")
        let shape = [channels, x.shape[1], x.shape[2], x.shape[3]]       // Winograd keeps h×w
        precondition(residual.map { $0.shape == shape } ?? true, "BatchNorm2d: residual \(residual!.shape), output \(shape)")
        input = nil
        trainedForward = false
        output.reshape(shape)
        let (g, bt, rm, rv) = (gamma.value.data, beta.value.data, runningMean.value.data, runningVar.value.data)
        evaluationScale.reshape([channels]); evaluationShift.reshape([channels])
        let (scales, shifts) = (evaluationScale, evaluationShift)
        for ch in 0..<channels {
            let (scale, shift, _) = BatchNorm2d.affine(mean: Double(rm[ch]), variance: Double(rv[ch]), gamma: g[ch], beta: bt[ch], eps: eps)
            (scales[ch], shifts[ch]) = (scale, shift)
        }
        conv.forward(x, into: output, epilogue: Winograd.Epilogue(scale: scales.data, shift: shifts.data, residual: residual?.data,
                                                                   relu: fusedReLU || residual != nil))
        return output
    }

    /// Accumulates dγ, dβ and returns dX.  dOut: [C, B, H, W].
    @discardableResult
    public func backward(_ dOut: Tensor<T>) -> Tensor<T> {
        guard let x = input else { preconditionFailure("BatchNorm2d.backward without a forward pass that kept its input (a fused evaluation forward keeps none)") }
        let (c, b) = (x.shape[0], x.shape[1])
        let spatial = x.count / (c * b)
        let groups = mean.shape[0]
        let groupSize = b / groups * spatial
        inputGrad.reshape(x.shape)
        let relu = fusedReLU, training = trainedForward
        let (xs, ys, dys, dxs) = (x.data, output.data, dOut.data, inputGrad.data)
        let (g, dg, db, ms, iss) = (gamma.value.data, gamma.grad.data, beta.grad.data, mean.data, invStd.data)
        PassTimes.measure("batch norm \(c) @\(x.shape[2])×\(x.shape[3]) backward" + (relu ? " + ReLU" : "")) {
            parallelFor(c, threads: NNRuntime.threads) { ch in
                var dGamma = 0.0, dBeta = 0.0
                for grp in 0..<groups {
                    let off = ch * b * spatial + grp * groupSize
                    let (src, dy, y, dx) = (xs + off, dys + off, ys + off, dxs + off)
                    let m = ms[grp * c + ch], inv = iss[grp * c + ch]
                    // Σ dy and Σ dy·x̂ over the group (dy masked by the fused ReLU).
                    var (sdy, sdyx) = VectorKernels.gradientSums(dy, y, src, groupSize, mean: m, relu: relu)
                    sdyx *= Double(inv)
                    dGamma += sdyx; dBeta += sdy
                    let gi = g[ch] * inv
                    if training {
                        let n = Double(groupSize)
                        let meanDy = T(sdy / n), meanDyX = T(sdyx / n)
                        // dx = gi·(g − meanDy − (x − m)·inv·meanDyX) = gi·g + x·a + c
                        let a = -gi * inv * meanDyX, c = -gi * meanDy + gi * m * inv * meanDyX
                        VectorKernels.gradientApply(dx, dy, y, src, groupSize, k: gi, a: a, c: c, relu: relu)
                    } else {
                        VectorKernels.gradientApply(dx, dy, y, src, groupSize, k: gi, a: 0, c: 0, relu: relu)
                    }
                }
                dg[ch] += T(dGamma); db[ch] += T(dBeta)
            }
        }
        return inputGrad
    }
}
