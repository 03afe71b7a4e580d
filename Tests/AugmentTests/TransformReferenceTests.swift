import Augment
import StageKit
import TestSupport
import XCTest

/// Each transform against the independent NumPy reference (scripts/ref_augment_transforms.py), given the
/// same sampled parameters; outputs agree within one grey level (float32 vs float64 rounding).
final class TransformReferenceTests: XCTestCase {
    func full(_ h: Int, _ w: Int) -> RandomResizedCrop.Box { .init(top: 0, left: 0, height: h, width: w) }

    func rgb(_ seed: UInt64, _ side: Int = 32) -> [UInt8] { Fixture.image(channels: 3, height: side, width: side, seed: seed) }

    func testCropResizeMatchesReference() throws {
        var cases: [ReferenceCase] = []
        var rng = RNG(seed: 11)
        let crop = RandomResizedCrop(scale: (0.08, 1))
        for (k, (c, h, w, size)) in [(3, 32, 32, 32), (1, 28, 28, 28), (3, 32, 32, 16), (1, 28, 28, 56),
                                     (3, 40, 24, 20), (3, 32, 32, 7), (1, 28, 28, 64), (3, 32, 32, 96)].enumerated() {
            let image = Fixture.image(channels: c, height: h, width: w, seed: UInt64(k))
            let box = crop.sample(height: h, width: w, rng: &rng)
            cases.append(ReferenceCase(label: "crop \(k) \(box)", image: image, channels: c, height: h, width: w,
                                       size: size, mode: .twoViews, sample: ViewSample(box: box)))
        }
        Reference.assertAgree(cases, try Reference.run("numpy", cases))
    }

    func testFlipGrayBlurMatchReference() throws {
        var cases: [ReferenceCase] = []
        cases.append(ReferenceCase(label: "flip", image: rgb(1), channels: 3, height: 32, width: 32, size: 32,
                                   mode: .twoViews, sample: ViewSample(box: full(32, 32), flip: true)))
        cases.append(ReferenceCase(label: "gray", image: rgb(2), channels: 3, height: 32, width: 32, size: 32,
                                   mode: .twoViews, sample: ViewSample(box: full(32, 32), gray: true)))
        var rng = RNG(seed: 5)
        let blur = GaussianBlur(p: 1, sigma: (0.1, 2))
        for (k, (c, side)) in [(3, 32), (1, 28), (3, 96), (1, 64), (3, 32)].enumerated() {
            let sigma = blur.sample(rng: &rng)!
            let image = Fixture.image(channels: c, height: side, width: side, seed: 20 + UInt64(k))
            cases.append(ReferenceCase(label: "blur σ=\(sigma) side \(side)", image: image, channels: c, height: side,
                                       width: side, size: side, mode: .twoViews,
                                       sample: ViewSample(box: full(side, side), blurSigma: sigma)))
        }
        Reference.assertAgree(cases, try Reference.run("numpy", cases))
    }

    func testColorJitterMatchesReference() throws {
        var cases: [ReferenceCase] = []
        func add(_ label: String, _ c: Int, _ params: ColorJitter.Params, seed: UInt64) {
            let image = Fixture.image(channels: c, height: 32, width: 32, seed: seed)
            cases.append(ReferenceCase(label: label, image: image, channels: c, height: 32, width: 32, size: 32,
                                       mode: .twoViews, sample: ViewSample(box: full(32, 32), jitter: params)))
        }
        let order = [0, 1, 2, 3]
        add("brightness", 3, .init(order: order, brightness: 1.35, contrast: nil, saturation: nil, hue: nil), seed: 1)
        add("contrast", 3, .init(order: order, brightness: nil, contrast: 0.62, saturation: nil, hue: nil), seed: 2)
        add("contrast gray", 1, .init(order: order, brightness: nil, contrast: 1.4, saturation: nil, hue: nil), seed: 3)
        add("saturation", 3, .init(order: order, brightness: nil, contrast: nil, saturation: 1.7, hue: nil), seed: 4)
        add("hue +", 3, .init(order: order, brightness: nil, contrast: nil, saturation: nil, hue: 0.17), seed: 5)
        add("hue -", 3, .init(order: order, brightness: nil, contrast: nil, saturation: nil, hue: -0.41), seed: 6)
        // Sampled, random order, all four (and brightness + contrast only on gray, as mocov2 does).
        var rng = RNG(seed: 9)
        let jitter = ColorJitter(p: 1, brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2)
        for k in 0..<6 { add("sampled \(k)", 3, jitter.sample(rng: &rng)!, seed: 30 + UInt64(k)) }
        let grayJitter = ColorJitter(p: 1, brightness: 0.4, contrast: 0.4, saturation: 0, hue: 0)
        for k in 0..<3 { add("sampled gray \(k)", 1, grayJitter.sample(rng: &rng)!, seed: 40 + UInt64(k)) }
        Reference.assertAgree(cases, try Reference.run("numpy", cases))
    }

    func testLabSplitMatchesReference() throws {
        var cases: [ReferenceCase] = []
        for k in 0..<3 {
            cases.append(ReferenceCase(label: "lab \(k)", image: rgb(50 + UInt64(k)), channels: 3, height: 32, width: 32,
                                       size: 32, mode: .labSplit, sample: ViewSample(box: full(32, 32))))
        }
        Reference.assertAgree(cases, try Reference.run("numpy", cases))
    }

    /// Whole recipes: every sampled view of mocov2 / simclr / cmc replayed by the reference.
    func testRecipesMatchReference() throws {
        var cases: [ReferenceCase] = []
        for (recipe, c, side, size) in [(Recipe.mocov2, 3, 32, 32), (.mocov2, 1, 28, 28), (.simclr, 3, 32, 32),
                                        (.cmc, 3, 32, 32), (.mocov2, 3, 32, 48)] {
            let params = recipe.defaults.adapted(toChannels: c)
            let pipeline = Pipeline(params, channels: c, height: side, width: side, size: size)
            for k in 0..<6 {
                var rng = RNG(seed: 3, stream: [UInt64(k), UInt64(c), UInt64(size)])
                let sample = pipeline.sample(rng: &rng)
                cases.append(ReferenceCase(label: "\(recipe) c\(c) \(k): \(sample)", image: Fixture.image(channels: c, height: side, width: side, seed: 60 + UInt64(k)),
                                           channels: c, height: side, width: side, size: size, mode: params.output, sample: sample))
            }
        }
        Reference.assertAgree(cases, try Reference.run("numpy", cases))
    }

    /// Crop + bilinear resize against Pillow itself (torchvision's PIL path), within one grey level.
    func testCropResizeMatchesPillow() throws {
        guard TestSupport.pythonHas(["PIL"]) else { throw XCTSkip("Pillow is not installed") }
        var cases: [ReferenceCase] = []
        var rng = RNG(seed: 77)
        let crop = RandomResizedCrop(scale: (0.08, 1))
        for (k, (c, h, w, size)) in [(1, 28, 28, 28), (3, 32, 32, 32), (1, 32, 32, 12), (3, 28, 28, 64),
                                     (1, 50, 30, 24), (3, 32, 32, 5)].enumerated() {
            let box = crop.sample(height: h, width: w, rng: &rng)
            cases.append(ReferenceCase(label: "pillow \(k) \(box) → \(size)", image: Fixture.image(channels: c, height: h, width: w, seed: 90 + UInt64(k)),
                                       channels: c, height: h, width: w, size: size, mode: .twoViews, sample: ViewSample(box: box)))
        }
        Reference.assertAgree(cases, try Reference.run("pillow", cases), offFraction: 0.35)
    }
}
