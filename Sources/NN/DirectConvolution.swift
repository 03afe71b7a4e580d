// The direct convolution: every output and tap by plain loops, accumulated in Double. The reference
// the fast algorithms are tested against (Tests/NNTests/ConvolutionTests.swift) and the `--reference`
// debug path (policy .direct); far too slow for training.
//   y[o, b, oy, ox] = Σ_{c,ky,kx} W[o, c, ky, kx] · x[c, b, oy·s−p+ky, ox·s−p+kx]   (0 outside the image)

/// The direct convolution and its two gradients on plain arrays (`[C, B, H, W]`, weights `[O, C, k, k]`).
public struct DirectConvolution {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let batch: Int, height: Int, width: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, batch: Int, height: Int, width: Int) {
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (inChannels, outChannels, kernel, stride, padding)
        (self.batch, self.height, self.width) = (batch, height, width)
    }

    public var outputHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernel) / stride + 1 }

    /// Calls body(output index, weight index, input index) for every tap that lands inside the image.
    @inline(__always)
    func forEachTap(_ body: (Int, Int, Int) -> Void) {
        let (c, o, k, s, p, b, h, w, ho, wo) = (inChannels, outChannels, kernel, stride, padding, batch, height, width, outputHeight, outputWidth)
        for oc in 0..<o { for n in 0..<b { for oy in 0..<ho { for ox in 0..<wo {
            let out = ((oc * b + n) * ho + oy) * wo + ox
            for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * s - p + ky, ix = ox * s - p + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    body(out, ((oc * c + ic) * k + ky) * k + kx, ((ic * b + n) * h + iy) * w + ix)
                }
            } } }
        } } } }
    }

    /// y [O, B, Ho, Wo].
    public func forward(_ x: [Double], _ weights: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: outChannels * batch * outputHeight * outputWidth)
        forEachTap { out, wi, xi in y[out] += weights[wi] * x[xi] }
        return y
    }

    /// dW [O, C, k, k] for upstream gradient dy [O, B, Ho, Wo].
    public func weightGradient(_ x: [Double], _ dy: [Double]) -> [Double] {
        var dw = [Double](repeating: 0, count: outChannels * inChannels * kernel * kernel)
        forEachTap { out, wi, xi in dw[wi] += dy[out] * x[xi] }
        return dw
    }

    /// dX [C, B, H, W] for upstream gradient dy [O, B, Ho, Wo].
    public func inputGradient(_ weights: [Double], _ dy: [Double]) -> [Double] {
        var dx = [Double](repeating: 0, count: inChannels * batch * height * width)
        forEachTap { out, wi, xi in dx[xi] += dy[out] * weights[wi] }
        return dx
    }
}

extension Conv2d {
    var direct: DirectConvolution {
        let x = input!
        return DirectConvolution(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding,
                                 batch: x.shape[1], height: x.shape[2], width: x.shape[3])
    }

    func directForward(_ x: Tensor<T>) {
        let y = direct.forward(x.array.map(Double.init), weight.value.array.map(Double.init))
        output.set(y.map { T($0) })
    }

    /// weight.grad += dW.
    func directWeightGradient(_ x: Tensor<T>, _ dOut: Tensor<T>) {
        let dw = direct.weightGradient(x.array.map(Double.init), dOut.array.map(Double.init))
        for (i, g) in dw.enumerated() { weight.grad[i] += T(g) }
    }

    func directInputGradient(_ dOut: Tensor<T>) {
        inputGrad.set(direct.inputGradient(weight.value.array.map(Double.init), dOut.array.map(Double.init)).map { T($0) })
    }
}
