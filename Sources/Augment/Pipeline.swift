import StageKit
/// One view's worth of randomness, drawn up front so that a test (or the NumPy reference) can replay it.
public struct ViewSample: Sendable, Equatable, Codable {
    public var box: RandomResizedCrop.Box
    public var jitter: ColorJitter.Params?
    public var gray: Bool
    public var blurSigma: Double?
    public var flip: Bool

    public init(box: RandomResizedCrop.Box, jitter: ColorJitter.Params? = nil, gray: Bool = false,
                blurSigma: Double? = nil, flip: Bool = false) {
        self.box = box; self.jitter = jitter; self.gray = gray; self.blurSigma = blurSigma; self.flip = flip
    }
}

/// A recipe bound to an input shape and output size: samples a view's parameters, then renders them.
/// Order (MoCo v2's): crop+resize, colour jitter, grayscale, blur, flip. Draw order from the RNG: crop,
/// jitter coin (+ its parameters), grayscale coin, blur coin (+ σ), flip coin.
public struct Pipeline: Sendable {
    public let parameters: RecipeParameters
    public let channels: Int, height: Int, width: Int, size: Int
    public let crop: RandomResizedCrop
    public let jitter: ColorJitter
    public let gray: RandomGrayscale
    public let blur: GaussianBlur
    public let flip: HorizontalFlip

    /// `parameters` should already be `adapted(toChannels:)`; `size` is the output side.
    public init(_ parameters: RecipeParameters, channels: Int, height: Int, width: Int, size: Int) {
        self.parameters = parameters
        self.channels = channels; self.height = height; self.width = width; self.size = size
        crop = RandomResizedCrop(scale: (parameters.cropScaleMin, parameters.cropScaleMax),
                                 ratio: (parameters.cropRatioMin, parameters.cropRatioMax))
        jitter = ColorJitter(p: parameters.jitterP, brightness: parameters.brightness, contrast: parameters.contrast,
                             saturation: parameters.saturation, hue: parameters.hue)
        gray = RandomGrayscale(p: parameters.grayP)
        blur = GaussianBlur(p: parameters.blurP, sigma: (parameters.blurSigmaMin, parameters.blurSigmaMax))
        flip = HorizontalFlip(p: parameters.flipP)
    }

    /// Channels of (view1, view2) in the output.
    public var outputChannels: (Int, Int) {
        parameters.output == .labSplit ? (1, 2) : (channels, channels)
    }

    public func sample(rng: inout RNG) -> ViewSample {
        let box = parameters.crop ? crop.sample(height: height, width: width, rng: &rng)
                                  : RandomResizedCrop.Box(top: 0, left: 0, height: height, width: width)
        let j = jitter.sample(rng: &rng)
        let g = gray.sample(rng: &rng)
        let s = blur.sample(rng: &rng)
        let f = flip.sample(rng: &rng)
        return ViewSample(box: box, jitter: j, gray: g, blurSigma: s, flip: f)
    }

    /// Renders `sample` from `source` [C, H, W] floats; the result [C, S, S] lives in `ws.image` until the
    /// next call.
    public func render(_ sample: ViewSample, source: UnsafePointer<Float>, workspace ws: Workspace) -> UnsafeMutablePointer<Float> {
        let planes = channels * size * size
        let image = ws.image.reserve(planes)            // [C, S, S]
        let spare = ws.spare.reserve(planes)            // [C, S, S]
        RandomResizedCrop.apply(sample.box, src: source, channels: channels, height: height, width: width,
                                dst: image, outH: size, outW: size, workspace: ws)
        if let j = sample.jitter {
            ColorJitter.apply(j, image, channels: channels, height: size, width: size, spare: spare)
        }
        if sample.gray { RandomGrayscale.apply(image, channels: channels, height: size, width: size) }
        if let sigma = sample.blurSigma {
            GaussianBlur.apply(sigma: sigma, image, channels: channels, height: size, width: size, spare: spare)
        }
        if sample.flip { HorizontalFlip.apply(image, channels: channels, height: size, width: size) }
        return image
    }

    /// Renders and writes u8: the view itself, or (Lab split) L into `first` and ab into `second`.
    public func renderU8(_ sample: ViewSample, source: UnsafePointer<Float>, workspace ws: Workspace,
                        first: UnsafeMutablePointer<UInt8>, second: UnsafeMutablePointer<UInt8>?) {
        let image = render(sample, source: source, workspace: ws)
        let n = size * size
        switch parameters.output {
        case .twoViews: PixelCodec.quantize(image, first, count: channels * n)
        case .labSplit: LabConversion.splitU8(image, count: n, l: first, ab: second!)
        }
    }

    /// Convenience for tests: one view of an owned u8 image as u8 ([C', S, S]; Lab split gives L then ab).
    public func renderU8(_ sample: ViewSample, image: [UInt8]) -> [UInt8] {
        let ws = Workspace()
        let src = ws.source.reserve(image.count)
        image.withUnsafeBufferPointer { PixelCodec.dequantize($0.baseAddress!, src, count: image.count) }
        let n = size * size
        var out = [UInt8](repeating: 0, count: 3 * n)
        let wanted = parameters.output == .labSplit ? 3 * n : channels * n
        out.withUnsafeMutableBufferPointer { o in
            renderU8(sample, source: src, workspace: ws, first: o.baseAddress!, second: o.baseAddress! + n)
        }
        return Array(out[0..<wanted])
    }
}
