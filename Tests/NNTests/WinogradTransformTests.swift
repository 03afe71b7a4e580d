import NN
import XCTest

/// Winograd's Float tile transforms (SIMD, WinogradVector.swift) against the reference loops that
/// define them (Winograd.swift): bit for bit, on rows of tiles shorter than, equal to and longer than
/// one vector, odd and even sizes, a chunk that starts inside the batch; every entry written.
final class WinogradTransformTests: XCTestCase {
    let sizes = [(28, 28), (14, 14), (7, 7), (4, 4), (9, 8), (5, 3), (1, 1), (2, 17), (3, 33), (32, 32), (16, 16), (8, 8), (6, 31)]
    let (channels, batch, b0, nb) = (3, 5, 1, 3)
    let sentinel = Float.nan

    /// Random values with some signed zeros among them (their signs must survive too).
    func values(_ n: Int, seed: UInt64) -> [Float] {
        randomArray(n, seed: seed).enumerated().map { $0.offset % 11 == 3 ? -0.0 : ($0.offset % 13 == 5 ? 0 : Float($0.element)) }
    }

    func assertBitIdentical(_ fast: [Float], _ reference: [Float], _ what: String, planeEntries: Int? = nil, plane: Int = 0) {
        XCTAssertEqual(fast.count, reference.count)
        for i in 0..<min(fast.count, reference.count) {
            if let planeEntries, i % plane >= planeEntries { continue }     // plane padding: scratch space
            if fast[i].bitPattern != reference[i].bitPattern {
                XCTFail("\(what): entry \(i) is \(fast[i]) (vector) vs \(reference[i]) (reference)"); return
            }
            if planeEntries != nil, fast[i].isNaN { XCTFail("\(what): entry \(i) never written"); return }
        }
    }

    /// The weight transforms of a layer big enough to split over threads (40×32 kernels) give, bit for bit
    /// and at every thread count, each kernel's transform on its own (a 1×1 layer, never split), in its
    /// place in every ξ plane; every entry written.
    func testWeightTransformsAreEachKernelsAtEveryThreadCount() {
        let saved = NNRuntime.threads
        defer { NNRuntime.threads = saved }
        let (o, c) = (40, 32)
        let g = values(o * c * 9, seed: 71)
        func check<W: WinogradTiling>(_: W.Type, _ name: String) {
            var kernelwise = [Float](repeating: sentinel, count: W.planes * o * c)
            for oc in 0..<o {
                for ic in 0..<c {
                    var one = [Float](repeating: sentinel, count: W.planes)
                    W.transformWeights(Array(g[((oc * c + ic) * 9)..<((oc * c + ic + 1) * 9)]), outChannels: 1, inChannels: 1, into: &one)
                    for xi in 0..<W.planes { kernelwise[(xi * o + oc) * c + ic] = one[xi] }
                }
            }
            for threads in [1, 2, 3] {
                NNRuntime.threads = threads
                var u = [Float](repeating: sentinel, count: W.planes * o * c)
                W.transformWeights(g, outChannels: o, inChannels: c, into: &u)
                assertBitIdentical(u, kernelwise, "\(name) weights, \(threads) threads")
                XCTAssertFalse(u.contains { $0.isNaN }, "\(name) weights, \(threads) threads: an entry never written")
            }
        }
        check(Winograd.self, "F(2×2)")
        check(Winograd4.self, "F(4×4)")
    }

    func testInputTransformMatchesReference() {
        for (h, w) in sizes {
            let (ty, tx) = Winograd.tiles(h, w)
            let tileCount = nb * ty * tx, plane = Winograd.planeStride(rows: channels, tiles: tileCount)
            let x = values(channels * batch * h * w, seed: 70)
            var fast = [Float](repeating: sentinel, count: 16 * plane), reference = fast
            Winograd.transformInput(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast)
            Winograd.transformInputReference(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &reference)
            assertBitIdentical(fast, reference, "input \(h)×\(w)", planeEntries: channels * tileCount, plane: plane)
        }
    }

    func testOutputTransformMatchesReference() {
        for (h, w) in sizes {
            let (ty, tx) = Winograd.tiles(h, w)
            let plane = Winograd.planeStride(rows: channels, tiles: nb * ty * tx)
            let m = values(16 * plane, seed: 71)         // padding holds values too: they must not leak into y
            var fast = [Float](repeating: sentinel, count: channels * batch * h * w), reference = fast
            Winograd.transformOutput(m, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast)
            Winograd.transformOutputReference(m, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &reference)
            assertBitIdentical(fast, reference, "output \(h)×\(w)")
            // Only the chunk's images are written.
            let written = fast.enumerated().filter { !$0.element.isNaN }.count
            XCTAssertEqual(written, channels * nb * h * w, "output \(h)×\(w)")
        }
    }

    /// The fused evaluation batch norm: affine, + residual, ReLU — each combination, vector against reference.
    func testOutputTransformEpilogueMatchesReference() {
        let scale = randomArray(channels, seed: 73).map { Float($0 + 1.5) }, shift = randomArray(channels, seed: 74).map { Float($0) + 0.25 }
        for (h, w) in sizes {
            let (ty, tx) = Winograd.tiles(h, w)
            let plane = Winograd.planeStride(rows: channels, tiles: nb * ty * tx)
            let m = values(16 * plane, seed: 75)
            let residual = values(channels * batch * h * w, seed: 76)
            for (withResidual, relu) in [(false, false), (false, true), (true, true)] {
                var fast = [Float](repeating: sentinel, count: channels * batch * h * w), reference = fast
                scale.withUnsafeBufferPointer { a in shift.withUnsafeBufferPointer { b in residual.withUnsafeBufferPointer { r in
                    let epilogue = Winograd.Epilogue(scale: a.baseAddress!, shift: b.baseAddress!, residual: withResidual ? r.baseAddress! : nil, relu: relu)
                    Winograd.transformOutput(m, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast, epilogue: epilogue)
                    Winograd.transformOutputReference(m, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &reference,
                                                      epilogue: epilogue)
                } } }
                assertBitIdentical(fast, reference, "output \(h)×\(w), residual \(withResidual), relu \(relu)")
                // and it is the plain transform followed by the affine, the add and the ReLU
                var plain = [Float](repeating: sentinel, count: fast.count)
                Winograd.transformOutputReference(m, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &plain)
                for i in plain.indices where !plain[i].isNaN {
                    var y = plain[i] * scale[i / (batch * h * w)] + shift[i / (batch * h * w)]
                    if withResidual { y = y + residual[i] }
                    if relu { y = max(y, 0) }
                    plain[i] = y
                }
                assertBitIdentical(fast, plain, "output \(h)×\(w) against the separate passes")
            }
        }
    }

    func testOutputGradientTransformMatchesReference() {
        for (h, w) in sizes {
            let (ty, tx) = Winograd.tiles(h, w)
            let tileCount = nb * ty * tx, plane = Winograd.planeStride(rows: channels, tiles: tileCount)
            let dy = values(channels * batch * h * w, seed: 72)
            var fast = [Float](repeating: sentinel, count: 16 * plane), reference = fast
            Winograd.transformOutputGradient(dy, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast)
            Winograd.transformOutputGradientReference(dy, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &reference)
            assertBitIdentical(fast, reference, "output gradient \(h)×\(w)", planeEntries: channels * tileCount, plane: plane)
        }
    }

    // ---- F(4×4, 3×3) (Winograd4Vector.swift, and Winograd4Gathered.swift up to 8 wide, against Winograd4.swift;
    //      nb = 3 images of 1–4 tiles leave the last vector of eight tiles part-empty, 8×8 and 9×8 cross one) ----

    func testLargeTileInputTransformMatchesReference() {
        for (h, w) in sizes + [(17, 13), (64, 64), (33, 35)] {
            let (ty, tx) = Winograd4.tiles(h, w)
            let tileCount = nb * ty * tx, plane = Winograd.planeStride(rows: channels, tiles: tileCount)
            let x = values(channels * batch * h * w, seed: 80)
            var fast = [Float](repeating: sentinel, count: 36 * plane), reference = fast
            Winograd4.transformInput(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast)
            Winograd4.transformInputReference(x, channels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &reference)
            assertBitIdentical(fast, reference, "F4 input \(h)×\(w)", planeEntries: channels * tileCount, plane: plane)
        }
    }

    /// The input transforms by eight whole images (4×4, and two tiles by two: 5 to 8 wide and high) against the
    /// reference: chunks of one to seventeen images, whole groups of eight and a part-empty last one, a chunk that
    /// starts inside the batch and one that ends at the batch's (and the tensor's) end; every entry written. The
    /// padded copies they replace (`bench engine --padded-small-inputs`) are checked at the same sizes.
    func testWholeImageInputTransformsMatchReference() {
        defer { Winograd4.wholeImageInputs = true }
        for (h, w, wholeImages) in [4, 7, 8].flatMap({ [($0, $0, true), ($0, $0, false)] }) + [(5, 8, true), (6, 5, true)] {
            Winograd4.wholeImageInputs = wholeImages
            for (batch, b0, nb) in [(5, 1, 3), (8, 0, 8), (20, 3, 17), (19, 3, 16), (16, 0, 16), (9, 8, 1)] {
                let c = 3, tileCount = nb * Winograd4.tiles(h, w).0 * Winograd4.tiles(h, w).1
                let plane = Winograd.planeStride(rows: c, tiles: tileCount)
                let x = values(c * batch * h * w, seed: 86)
                var fast = [Float](repeating: sentinel, count: 36 * plane), reference = fast
                Winograd4.transformInput(x, channels: c, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast)
                Winograd4.transformInputReference(x, channels: c, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &reference)
                assertBitIdentical(fast, reference, "F4 input \(h)×\(w), whole images \(wholeImages), batch \(batch), images \(b0) ..< \(b0 + nb)",
                                   planeEntries: c * tileCount, plane: plane)
            }
        }
    }

    func testLargeTileOutputTransformMatchesReference() {
        let scale = randomArray(channels, seed: 83).map { Float($0 + 1.5) }, shift = randomArray(channels, seed: 84).map { Float($0) + 0.25 }
        for (h, w) in sizes + [(17, 13), (64, 64), (33, 35)] {
            let (ty, tx) = Winograd4.tiles(h, w)
            let plane = Winograd.planeStride(rows: channels, tiles: nb * ty * tx)
            let m = values(36 * plane, seed: 81)         // padding holds values too: they must not leak into y
            let residual = values(channels * batch * h * w, seed: 85)
            for (epilogue, withResidual) in [(false, false), (true, false), (true, true)] {
                var fast = [Float](repeating: sentinel, count: channels * batch * h * w), reference = fast
                scale.withUnsafeBufferPointer { a in shift.withUnsafeBufferPointer { b in residual.withUnsafeBufferPointer { r in
                    let e = epilogue ? Winograd.Epilogue(scale: a.baseAddress!, shift: b.baseAddress!,
                                                         residual: withResidual ? r.baseAddress! : nil, relu: true) : nil
                    Winograd4.transformOutput(m, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast, epilogue: e)
                    Winograd4.transformOutputReference(m, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb,
                                                       into: &reference, epilogue: e)
                } } }
                assertBitIdentical(fast, reference, "F4 output \(h)×\(w), epilogue \(epilogue), residual \(withResidual)")
                let written = fast.enumerated().filter { !$0.element.isNaN }.count
                XCTAssertEqual(written, channels * nb * h * w, "F4 output \(h)×\(w)")
            }
        }
    }

    func testLargeTileOutputGradientTransformMatchesReference() {
        for (h, w) in sizes + [(17, 13), (64, 64), (33, 35)] {
            let (ty, tx) = Winograd4.tiles(h, w)
            let tileCount = nb * ty * tx, plane = Winograd.planeStride(rows: channels, tiles: tileCount)
            let dy = values(channels * batch * h * w, seed: 82)
            var fast = [Float](repeating: sentinel, count: 36 * plane), reference = fast
            Winograd4.transformOutputGradient(dy, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &fast)
            Winograd4.transformOutputGradientReference(dy, outChannels: channels, batch: batch, h: h, w: w, b0: b0, nb: nb, into: &reference)
            assertBitIdentical(fast, reference, "F4 output gradient \(h)×\(w)", planeEntries: channels * tileCount, plane: plane)
        }
    }
}
