import StageKit
import ArgumentParser
import Foundation

/// The augmentation recipes. Adding one: a case here, its defaults in `defaults`, a line in docs/augment.md
/// (and, if it needs a new kind of output, a case in `ViewOutput`).
public enum Recipe: String, CaseIterable, ExpressibleByArgument, Sendable {
    case mocov2, simclr, cmc, none

    /// The recipe's parameters before command-line overrides (MoCo v2 values: SPEC §5).
    public var defaults: RecipeParameters {
        switch self {
        case .mocov2:
            return RecipeParameters(crop: true, cropScaleMin: 0.2, cropScaleMax: 1, flipP: 0.5,
                                    jitterP: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1,
                                    grayP: 0.2, blurP: 0.5, blurSigmaMin: 0.1, blurSigmaMax: 2.0, output: .twoViews)
        case .simclr:
            // SimCLR (colour strength 1): blur is on by default; the paper drops it at 32 px (pass --blur-p 0).
            return RecipeParameters(crop: true, cropScaleMin: 0.08, cropScaleMax: 1, flipP: 0.5,
                                    jitterP: 0.8, brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2,
                                    grayP: 0.2, blurP: 0.5, blurSigmaMin: 0.1, blurSigmaMax: 2.0, output: .twoViews)
        case .cmc:
            return RecipeParameters(crop: true, cropScaleMin: 0.2, cropScaleMax: 1, flipP: 0.5,
                                    jitterP: 0, brightness: 0, contrast: 0, saturation: 0, hue: 0,
                                    grayP: 0, blurP: 0, blurSigmaMin: 0.1, blurSigmaMax: 2.0, output: .labSplit)
        case .none:
            return RecipeParameters(crop: false, cropScaleMin: 1, cropScaleMax: 1, flipP: 0,
                                    jitterP: 0, brightness: 0, contrast: 0, saturation: 0, hue: 0,
                                    grayP: 0, blurP: 0, blurSigmaMin: 0.1, blurSigmaMax: 2.0, output: .twoViews)
        }
    }
}

/// What a pipeline writes: two independently augmented views, or one augmented image split into
/// CIE Lab's L (view1, 1 channel) and ab (view2, 2 channels).
public enum ViewOutput: String, Sendable { case twoViews = "two-views", labSplit = "lab-split" }

/// Every knob of a recipe, resolved (defaults + overrides). Recorded in the output's provenance.
public struct RecipeParameters: Sendable, Equatable {
    public var crop: Bool
    public var cropScaleMin: Double, cropScaleMax: Double
    public var cropRatioMin: Double = 3.0 / 4.0, cropRatioMax: Double = 4.0 / 3.0
    public var flipP: Double
    public var jitterP: Double
    public var brightness: Double, contrast: Double, saturation: Double, hue: Double
    public var grayP: Double
    public var blurP: Double
    public var blurSigmaMin: Double, blurSigmaMax: Double
    public var output: ViewOutput

    public init(crop: Bool, cropScaleMin: Double, cropScaleMax: Double, flipP: Double, jitterP: Double,
                brightness: Double, contrast: Double, saturation: Double, hue: Double, grayP: Double,
                blurP: Double, blurSigmaMin: Double, blurSigmaMax: Double, output: ViewOutput) {
        self.crop = crop; self.cropScaleMin = cropScaleMin; self.cropScaleMax = cropScaleMax; self.flipP = flipP
        self.jitterP = jitterP; self.brightness = brightness; self.contrast = contrast
        self.saturation = saturation; self.hue = hue; self.grayP = grayP; self.blurP = blurP
        self.blurSigmaMin = blurSigmaMin; self.blurSigmaMax = blurSigmaMax; self.output = output
    }

    /// On one-channel images saturation, hue and grayscale mean nothing: switch them off (MoCo v2 on
    /// grayscale jitters only brightness and contrast), so the provenance says what was done.
    public func adapted(toChannels channels: Int) -> RecipeParameters {
        guard channels == 1 else { return self }
        var p = self
        p.saturation = 0; p.hue = 0; p.grayP = 0
        return p
    }

    /// Throws a one-line error for a value outside its range.
    public func validate() throws {
        func prob(_ v: Double, _ flag: String) throws {
            guard v.isFinite, v >= 0, v <= 1 else { throw StageError.usage("--\(flag) must be a probability in [0, 1] (got \(v))") }
        }
        try prob(flipP, "flip-p"); try prob(jitterP, "jitter-p"); try prob(grayP, "gray-p"); try prob(blurP, "blur-p")
        guard cropScaleMin > 0, cropScaleMin <= cropScaleMax, cropScaleMax <= 1 else {
            throw StageError.usage("crop scale range must satisfy 0 < --crop-scale-min ≤ --crop-scale-max ≤ 1 (got \(cropScaleMin)…\(cropScaleMax))")
        }
        guard cropRatioMin > 0, cropRatioMin <= cropRatioMax, cropRatioMax.isFinite else {
            throw StageError.usage("crop ratio range must satisfy 0 < --crop-ratio-min ≤ --crop-ratio-max (got \(cropRatioMin)…\(cropRatioMax))")
        }
        for (v, flag) in [(brightness, "brightness"), (contrast, "contrast"), (saturation, "saturation")] {
            guard v.isFinite, v >= 0 else { throw StageError.usage("--\(flag) must be ≥ 0 (got \(v))") }
        }
        guard hue >= 0, hue <= 0.5 else { throw StageError.usage("--hue must be in [0, 0.5] (got \(hue))") }
        guard blurSigmaMin > 0, blurSigmaMin <= blurSigmaMax, blurSigmaMax.isFinite else {
            throw StageError.usage("blur σ range must satisfy 0 < --blur-sigma-min ≤ --blur-sigma-max (got \(blurSigmaMin)…\(blurSigmaMax))")
        }
    }

    /// Flat name → value list for provenance.
    public var record: [String: String] {
        [
            "crop": crop ? "on" : "off", "crop_scale_min": "\(cropScaleMin)", "crop_scale_max": "\(cropScaleMax)",
            "crop_ratio_min": "\(cropRatioMin)", "crop_ratio_max": "\(cropRatioMax)", "flip_p": "\(flipP)",
            "jitter_p": "\(jitterP)", "brightness": "\(brightness)", "contrast": "\(contrast)",
            "saturation": "\(saturation)", "hue": "\(hue)", "gray_p": "\(grayP)", "blur_p": "\(blurP)",
            "blur_sigma_min": "\(blurSigmaMin)", "blur_sigma_max": "\(blurSigmaMax)", "output": output.rawValue,
        ]
    }
}

/// Command-line overrides for any recipe parameter (nil = the recipe's default).
public struct RecipeOverrides: ParsableArguments, Sendable {
    @Option(name: .customLong("crop-scale-min"), help: "RandomResizedCrop: smallest area fraction.") public var cropScaleMin: Double?
    @Option(name: .customLong("crop-scale-max"), help: "RandomResizedCrop: largest area fraction.") public var cropScaleMax: Double?
    @Option(name: .customLong("crop-ratio-min"), help: "RandomResizedCrop: smallest aspect ratio (default 3/4).") public var cropRatioMin: Double?
    @Option(name: .customLong("crop-ratio-max"), help: "RandomResizedCrop: largest aspect ratio (default 4/3).") public var cropRatioMax: Double?
    @Option(name: .customLong("flip-p"), help: "Horizontal flip probability.") public var flipP: Double?
    @Option(name: .customLong("jitter-p"), help: "Probability of applying ColorJitter.") public var jitterP: Double?
    @Option(help: "ColorJitter brightness strength.") public var brightness: Double?
    @Option(help: "ColorJitter contrast strength.") public var contrast: Double?
    @Option(help: "ColorJitter saturation strength.") public var saturation: Double?
    @Option(help: "ColorJitter hue strength (≤ 0.5).") public var hue: Double?
    @Option(name: .customLong("gray-p"), help: "Random grayscale probability.") public var grayP: Double?
    @Option(name: .customLong("blur-p"), help: "Gaussian blur probability.") public var blurP: Double?
    @Option(name: .customLong("blur-sigma-min"), help: "Gaussian blur: smallest σ.") public var blurSigmaMin: Double?
    @Option(name: .customLong("blur-sigma-max"), help: "Gaussian blur: largest σ.") public var blurSigmaMax: Double?

    public init() {}

    /// The recipe's defaults with every given override applied. A crop flag switches the crop on.
    public func resolve(_ recipe: Recipe) -> RecipeParameters {
        var p = recipe.defaults
        if let v = cropScaleMin { p.cropScaleMin = v; p.crop = true }
        if let v = cropScaleMax { p.cropScaleMax = v; p.crop = true }
        if let v = cropRatioMin { p.cropRatioMin = v; p.crop = true }
        if let v = cropRatioMax { p.cropRatioMax = v; p.crop = true }
        if let v = flipP { p.flipP = v }
        if let v = jitterP { p.jitterP = v }
        if let v = brightness { p.brightness = v }
        if let v = contrast { p.contrast = v }
        if let v = saturation { p.saturation = v }
        if let v = hue { p.hue = v }
        if let v = grayP { p.grayP = v }
        if let v = blurP { p.blurP = v }
        if let v = blurSigmaMin { p.blurSigmaMin = v }
        if let v = blurSigmaMax { p.blurSigmaMax = v }
        return p
    }
}
