import NN
import StageKit
import XCTest

/// `bench engine --phases` reads PassTimes: each convolution, batch-norm and block pass of a step lands in
/// the row of its layer shape, pass and algorithm, once per call, and nothing is recorded while disabled.
final class PassTimesTests: XCTestCase {
    override func tearDown() { PassTimes.enabled = false; PassTimes.reset() }

    func testEveryPassOfABlockLandsInItsRow() {
        let block = BasicBlock<Float>(name: "b", inChannels: 4, outChannels: 8, stride: 2)
        let x = Tensor<Float>([4, 2, 9, 9], randomArray(4 * 2 * 81, seed: 1).map { Float($0) })
        PassTimes.reset()
        PassTimes.enabled = false
        let y0 = block.forward(x, training: true)
        block.backward(Tensor<Float>(y0.shape, randomFill(y0)))
        XCTAssertEqual(PassTimes.rows, [:], "disabled: nothing recorded")

        PassTimes.enabled = true
        for _ in 0..<2 {
            let y = block.forward(x, training: true)
            block.backward(Tensor<Float>(y.shape, randomFill(y)))
        }
        PassTimes.enabled = false
        let expected = [                    // (5×5: F(4×4), the default up to 8 wide)
            "conv 4→8 3×3/2 @9×9 forward im2col", "conv 8→8 3×3/1 @5×5 forward winograd4", "conv 4→8 1×1/2 @9×9 forward im2col",
            "conv 4→8 3×3/2 @9×9 weight gradient im2col", "conv 4→8 3×3/2 @9×9 input gradient col2im",
            "conv 8→8 3×3/1 @5×5 weight gradient winograd4", "conv 8→8 3×3/1 @5×5 input gradient winograd4",
            "conv 4→8 1×1/2 @9×9 weight gradient im2col", "conv 4→8 1×1/2 @9×9 input gradient col2im",
            "batch norm 8 @5×5 forward + ReLU", "batch norm 8 @5×5 forward", "batch norm 8 @5×5 forward + add + ReLU",
            "batch norm 8 @5×5 backward + ReLU", "batch norm 8 @5×5 backward",
            "block 8 @5×5 backward ReLU mask", "block 8 @5×5 backward shortcut add",
        ]
        XCTAssertEqual(Set(PassTimes.rows.keys), Set(expected))
        // Two steps: every pass twice, bn2 and the shortcut's norm share the plain backward row.
        for (kind, row) in PassTimes.rows {
            XCTAssertEqual(row.calls, kind == "batch norm 8 @5×5 backward" ? 4 : 2, kind)
            XCTAssertGreaterThan(row.seconds, 0, kind)
        }
        PassTimes.reset()
        XCTAssertEqual(PassTimes.rows, [:])
    }

    func testAnEvaluationForwardNamesTheFusedNorm() {
        let conv = Conv2d<Float>(name: "c", inChannels: 5, outChannels: 4, kernel: 3, stride: 1, padding: 1)
        let stem = Conv2d<Float>(name: "s", inChannels: 3, outChannels: 5, kernel: 3, stride: 1, padding: 1, needsInputGrad: false)
        let (bnStem, bn) = (BatchNorm2d<Float>(name: "m", channels: 5, fusedReLU: true), BatchNorm2d<Float>(name: "n", channels: 4, fusedReLU: true))
        PassTimes.reset()
        PassTimes.enabled = true
        let h = bnStem.forward(after: stem, Tensor<Float>([3, 2, 6, 6], randomArray(3 * 2 * 36, seed: 2).map { Float($0) }), training: false)
        bn.forward(after: conv, h, training: false)
        PassTimes.enabled = false
        XCTAssertEqual(Set(PassTimes.rows.keys), ["conv 3→5 3×3/1 @6×6 forward stem + batch norm",       // at most 4 input channels
                                                  "conv 5→4 3×3/1 @6×6 forward winograd4 + batch norm"])  // F(4×4): the default up to 8 wide
    }

    private func randomFill(_ t: Tensor<Float>) -> [Float] { randomArray(t.count, seed: 3).map { Float($0) } }
}
