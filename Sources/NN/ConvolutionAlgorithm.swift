/// The algorithms a convolution pass can run, one file each.
public enum ConvolutionAlgorithm: String, CaseIterable, Sendable {
    /// 1×1, stride 1, no padding: the input already is im2col's matrix; one sgemm per pass.
    case pointwise
    /// im2col + sgemm (forward and weight gradient).
    case im2col
    /// Winograd F(2×2, 3×3) for 3×3, stride 1, padding 1 (all three passes).
    case winograd
    /// Winograd F(4×4, 3×3): the same layers, 4×4 output tiles (fewer multiply–adds, more rounding).
    case winograd4
    /// Stride-1 input gradient as the convolution of dOut with the flipped, transposed kernel.
    case transposed
    /// Input gradient as Wᵀ·dOut, then col2im (any stride).
    case col2im
    /// Direct 3×3 stride-1 convolution of few input channels (the stems), vectorised along each plane
    /// (forward and weight gradient; StemConvolution.swift).
    case stem
    /// Direct loops over every output and tap: the reference (tests, `--reference`), slow.
    case direct

    public var isWinograd: Bool { self == .winograd || self == .winograd4 }
    /// Whether the forward pass can apply a following batch norm on its way out (BatchNorm2d.forward(after:)).
    public var takesEpilogue: Bool { isWinograd || self == .stem }
}

/// Which algorithms a layer may use. The fastest mix is the default; the switches are per layer
/// (Conv2d.policy), for tests and `bench engine`'s A/B flags.
public struct ConvolutionPolicy: Equatable, Sendable {
    /// 3×3 stride-1 padding-1 convolutions by Winograd.
    public var winograd = true
    /// Images at least this wide use Winograd's F(4×4, 3×3) tiles (0: every size, `.max`: none), and so do images
    /// at most `largeWinogradTilesUpToWidth` wide; the ones between take F(2×2, 3×3). 28: the first stage of the
    /// 28×28 and 32×32 rows, where `bench engine --ab` measured the whole step 1.044× (w16), 1.045× (w32) and
    /// 1.022× (w64) as fast as with F(2×2) everywhere; at 14 wide F(4×4)'s half-empty vectors cost about what its
    /// fewer products save (1.018× / 1.012×, noise).
    public var largeWinogradTilesFromWidth = 28
    /// 8: the 7×7 and 4×4 stages, where one or two tiles make a row and the gathered transforms
    /// (Winograd4Gathered.swift) fill every lane with tiles of several images (0: none).
    public var largeWinogradTilesUpToWidth = 8
    /// Stride-1 input gradients as a convolution of dOut with the flipped kernel (else Wᵀ·dOut + col2im).
    public var transposedInputGradient = true
    /// Every pass by the direct reference loops.
    public var reference = false
    /// In evaluation, a following batch norm's affine (+ residual add + ReLU) is applied in the Winograd
    /// output pass (BatchNorm2d.forward(after:)); the result is identical either way.
    public var fusedEvaluationNorm = true
    /// Winograd's forward and input-gradient products by RegisterGemm (AVX2 + FMA builds) instead of sgemm.
    public var registerProducts = true
    /// 3×3 stride-1 padding-1 convolutions of at most this many input channels (the stems) by the direct
    /// vectorised loops (`.stem`) instead of Winograd, whose products at one input channel are outer products
    /// that write and reread 2.25× the output (0: none; with `winograd` off every such layer takes im2col, as before).
    public var stemUpToChannels = 4

    public init(winograd: Bool = true, largeWinogradTilesFromWidth: Int = 28, largeWinogradTilesUpToWidth: Int = 8,
                transposedInputGradient: Bool = true, reference: Bool = false, fusedEvaluationNorm: Bool = true,
                registerProducts: Bool = true, stemUpToChannels: Int = 4) {
        (self.winograd, self.transposedInputGradient, self.reference) = (winograd, transposedInputGradient, reference)
        (self.largeWinogradTilesFromWidth, self.largeWinogradTilesUpToWidth) = (largeWinogradTilesFromWidth, largeWinogradTilesUpToWidth)
        (self.fusedEvaluationNorm, self.registerProducts) = (fusedEvaluationNorm, registerProducts)
        self.stemUpToChannels = stemUpToChannels
    }

    /// One Winograd tiling at every size (A/B runs and tests): F(4×4, 3×3) when `large`, else F(2×2, 3×3).
    public mutating func winogradTilesEverywhere(large: Bool) {
        (largeWinogradTilesFromWidth, largeWinogradTilesUpToWidth) = large ? (0, 0) : (.max, 0)
    }

    /// Where F(4×4) tiles apply, in words: "from 28 wide and up to 8 wide", "everywhere", "nowhere".
    public var largeTilesDescription: String {
        if largeWinogradTilesFromWidth == 0 { return "everywhere" }
        var parts: [String] = []
        if largeWinogradTilesFromWidth != .max { parts.append("from \(largeWinogradTilesFromWidth) wide") }
        if largeWinogradTilesUpToWidth > 0 { parts.append("up to \(largeWinogradTilesUpToWidth) wide") }
        return parts.isEmpty ? "nowhere" : parts.joined(separator: " and ")
    }

    public static let fastest = ConvolutionPolicy()
    public static let direct = ConvolutionPolicy(reference: true)
}

/// A layer's algorithm for each pass (nil input gradient: not needed, e.g. the stem).
public struct ConvolutionPlan: Equatable, Sendable {
    public var forward: ConvolutionAlgorithm
    public var weightGradient: ConvolutionAlgorithm
    public var inputGradient: ConvolutionAlgorithm?

    public init(forward: ConvolutionAlgorithm, weightGradient: ConvolutionAlgorithm, inputGradient: ConvolutionAlgorithm?) {
        (self.forward, self.weightGradient, self.inputGradient) = (forward, weightGradient, inputGradient)
    }

    /// The one place a layer's algorithms are chosen, from its shape (`width`: its input's, 0 before the first
    /// forward) and policy.
    public static func choose(inChannels c: Int, kernel k: Int, stride s: Int, padding p: Int, width: Int, needsInputGrad: Bool,
                              policy: ConvolutionPolicy) -> ConvolutionPlan {
        func plan(_ f: ConvolutionAlgorithm, _ w: ConvolutionAlgorithm, _ i: ConvolutionAlgorithm) -> ConvolutionPlan {
            ConvolutionPlan(forward: f, weightGradient: w, inputGradient: needsInputGrad ? i : nil)
        }
        if policy.reference { return plan(.direct, .direct, .direct) }
        if k == 1 && s == 1 && p == 0 { return plan(.pointwise, .pointwise, .pointwise) }
        let transposedFits = s == 1 && p <= k - 1 && policy.transposedInputGradient
        if k == 3 && s == 1 && p == 1 && policy.winograd {
            // Winograd's weight gradient goes with its input gradient; without the transposed input
            // gradient both fall back to the im2col family. A stem's input gradient (rarely needed) takes Winograd.
            let large = width >= policy.largeWinogradTilesFromWidth || (width > 0 && width <= policy.largeWinogradTilesUpToWidth)
            let w: ConvolutionAlgorithm = large ? .winograd4 : .winograd
            if c <= policy.stemUpToChannels { return plan(.stem, .stem, transposedFits ? w : .col2im) }
            return !needsInputGrad || transposedFits ? plan(w, w, w) : plan(w, .im2col, .col2im)
        }
        return plan(.im2col, .im2col, transposedFits ? .transposed : .col2im)
    }
}
