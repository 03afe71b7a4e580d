import Augment
import Foundation
import StageKit
import XCTest

/// Properties of the transforms that need no reference: sampling ranges, the crop fallback, Lab round trips.
final class TransformUnitTests: XCTestCase {
    func testCropSamplesStayInRangeAndInsideTheImage() {
        let crop = RandomResizedCrop(scale: (0.2, 1))
        var rng = RNG(seed: 1)
        var ratios: [Double] = []
        for _ in 0..<2000 {
            let b = crop.sample(height: 32, width: 32, rng: &rng)
            XCTAssertTrue(b.top >= 0 && b.left >= 0 && b.top + b.height <= 32 && b.left + b.width <= 32, "\(b)")
            let area = Double(b.height * b.width) / 1024
            // Rounding of w and h moves the area a little outside [0.2, 1].
            XCTAssertGreaterThan(area, 0.15)
            ratios.append(log(Double(b.width) / Double(b.height)))
        }
        // Log-uniform ratio: log ratios centre on 0 (symmetric range 3/4…4/3).
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        XCTAssertLessThan(abs(mean), 0.02)
    }

    func testCropFallsBackToCentreCropAfterTenTries() {
        // Area 100 % with a ratio range excluding 1 can never fit a square image: always the fallback.
        let crop = RandomResizedCrop(scale: (1, 1), ratio: (2, 3))
        var rng = RNG(seed: 2)
        let b = crop.sample(height: 30, width: 30, rng: &rng)
        // in_ratio 1 < 2 → w = 30, h = round(30 / 2) = 15, centred.
        XCTAssertEqual(b, RandomResizedCrop.Box(top: 7, left: 0, height: 15, width: 30))
        let tall = RandomResizedCrop.centreBox(height: 10, width: 40, ratio: (0.75, 4.0 / 3.0))
        XCTAssertEqual(tall, RandomResizedCrop.Box(top: 0, left: 13, height: 10, width: 13))
        let inRange = RandomResizedCrop.centreBox(height: 30, width: 32, ratio: (0.75, 4.0 / 3.0))
        XCTAssertEqual(inRange, RandomResizedCrop.Box(top: 0, left: 0, height: 30, width: 32))
    }

    func testIdentityResizeIsExact() {
        let bytes = Fixture.image(channels: 3, height: 17, width: 23, seed: 4)
        let img = FloatImage(u8: bytes, channels: 3, height: 17, width: 23)
        let out = RandomResizedCrop.apply(.init(top: 0, left: 0, height: 17, width: 23), to: img, outH: 17, outW: 23)
        XCTAssertEqual(out.u8(), bytes)
    }

    func testJitterSamplingRanges() {
        let j = ColorJitter(p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)
        var rng = RNG(seed: 3)
        var applied = 0
        for _ in 0..<4000 {
            guard let p = j.sample(rng: &rng) else { continue }
            applied += 1
            XCTAssertEqual(p.order.sorted(), [0, 1, 2, 3])
            for f in [p.brightness!, p.contrast!, p.saturation!] { XCTAssertTrue(f >= 0.6 && f < 1.4) }
            XCTAssertTrue(abs(p.hue!) <= 0.1)
        }
        XCTAssertEqual(Double(applied) / 4000, 0.8, accuracy: 0.03)
        let grayOnly = ColorJitter(p: 1, brightness: 0.4, contrast: 0.4, saturation: 0, hue: 0).sample(rng: &rng)!
        XCTAssertNil(grayOnly.saturation)
        XCTAssertNil(grayOnly.hue)
    }

    func testBlurKernelSizeIsAboutATenthOfTheSide() {
        XCTAssertEqual(GaussianBlur.kernelSize(side: 28), 3)
        XCTAssertEqual(GaussianBlur.kernelSize(side: 32), 3)
        XCTAssertEqual(GaussianBlur.kernelSize(side: 96), 9)
        XCTAssertEqual(GaussianBlur.kernelSize(side: 224), 23)
        XCTAssertEqual(GaussianBlur.kernelSize(side: 8), 1)
    }

    func testBlurPreservesAConstantImageAndFlipIsAnInvolution() {
        let flat = FloatImage(channels: 1, height: 9, width: 40, pixels: [Float](repeating: 0.3, count: 360))
        let blurred = GaussianBlur.apply(sigma: 1.7, to: flat)
        for v in blurred.pixels { XCTAssertEqual(v, 0.3, accuracy: 1e-6) }
        let img = FloatImage(u8: Fixture.image(channels: 3, height: 8, width: 11, seed: 5), channels: 3, height: 8, width: 11)
        XCTAssertNotEqual(HorizontalFlip.apply(to: img), img)
        XCTAssertEqual(HorizontalFlip.apply(to: HorizontalFlip.apply(to: img)), img)
    }

    /// RGB → Lab → RGB returns every u8 colour of a dense grid within one level.
    func testLabRoundTripsWithinOneLevel() {
        var worst = 0.0
        for r in stride(from: 0, through: 255, by: 5) {
            for g in stride(from: 0, through: 255, by: 5) {
                for b in stride(from: 0, through: 255, by: 5) {
                    let (l, a, bb) = LabConversion.lab(r: Double(r) / 255, g: Double(g) / 255, b: Double(b) / 255)
                    let (r2, g2, b2) = LabConversion.rgb(l: l, a: a, b: bb)
                    worst = max(worst, abs(r2 * 255 - Double(r)), abs(g2 * 255 - Double(g)), abs(b2 * 255 - Double(b)))
                    XCTAssertTrue(l >= -1e-6 && l <= 100 + 1e-4 && abs(a) < 128 && abs(bb) < 128)
                }
            }
        }
        XCTAssertLessThanOrEqual(worst, 1.0)
        // Known values: white is L 100, a = b = 0; black L 0.
        let white = LabConversion.lab(r: 1, g: 1, b: 1)
        XCTAssertEqual(white.0, 100, accuracy: 0.01)
        XCTAssertEqual(white.1, 0, accuracy: 0.01)
        XCTAssertEqual(white.2, 0, accuracy: 0.01)
        // sRGB red: L 53.24, a 80.09, b 67.20 (standard tables).
        let red = LabConversion.lab(r: 1, g: 0, b: 0)
        XCTAssertEqual(red.0, 53.24, accuracy: 0.05)
        XCTAssertEqual(red.1, 80.09, accuracy: 0.1)
        XCTAssertEqual(red.2, 67.20, accuracy: 0.1)
    }

    /// The u8 encoding (L·255/100, a + 128, b + 128) decodes to within half a quantisation step of the
    /// float Lab. (In sRGB that can be many levels for the darkest channel of a saturated colour, where the
    /// sRGB curve is steep; see docs/augment.md.)
    func testLabU8EncodingRoundTrips() {
        for r in stride(from: 0, through: 255, by: 15) {
            for g in stride(from: 0, through: 255, by: 15) {
                for b in stride(from: 0, through: 255, by: 15) {
                    let px: [Float] = [Float(r) / 255, Float(g) / 255, Float(b) / 255]
                    var l: UInt8 = 0
                    var ab: [UInt8] = [0, 0]
                    px.withUnsafeBufferPointer { p in
                        ab.withUnsafeMutableBufferPointer { abp in LabConversion.splitU8(p.baseAddress!, count: 1, l: &l, ab: abp.baseAddress!) }
                    }
                    let (L, A, B) = LabConversion.decodeU8(l: l, a: ab[0], b: ab[1])
                    let (l0, a0, b0) = LabConversion.lab(r: Double(px[0]), g: Double(px[1]), b: Double(px[2]))
                    XCTAssertEqual(L, l0, accuracy: 50 / 255 + 1e-3, "\(r),\(g),\(b)")
                    XCTAssertEqual(A, a0, accuracy: 0.5 + 1e-3, "\(r),\(g),\(b)")
                    XCTAssertEqual(B, b0, accuracy: 0.5 + 1e-3, "\(r),\(g),\(b)")
                }
            }
        }
    }
}
