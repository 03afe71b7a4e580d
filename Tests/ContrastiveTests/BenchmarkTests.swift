import Contrastive
import Foundation
import NN
import XCTest

/// The benchmark reports one line per variant; speed itself is measured (NS_CONTRASTIVE_BENCH=1 prints
/// the full-size numbers), never asserted.
final class BenchmarkTests: XCTestCase {
    func testBenchmarkReportsEverySampler() {
        let full = ProcessInfo.processInfo.environment["NS_CONTRASTIVE_BENCH"] != nil
        let lines = full ? SamplerBenchmark.run(threads: 2) : SamplerBenchmark.run(threads: 2, batch: 16, dim: 16, queue: 256, repeats: 1)
        XCTAssertEqual(lines.count, SamplerOptions.names.count + 2)
        for name in SamplerOptions.names { XCTAssertTrue(lines.contains { $0.contains(" \(name) ") }, name) }
        XCTAssertTrue(lines[0].contains("(1.00× uniform)"), lines[0])
        if full { lines.forEach { print($0) } }
        if full { SamplerBenchmark.run(threads: 1).forEach { print($0) } }
    }

    /// `bench engine --objective` times the stage's own step: it runs (the views cycle past their four batches),
    /// and its FLOPs count both views' passes for SimCLR, the queries' passes and the keys' forward for MoCo.
    func testStageStepRunsAndCountsItsPasses() throws {
        let simclr = try PretrainBenchmark.step(objective: .simclr, width: 4, side: 16, channels: 1, batch: 16, threads: 1)
        let moco = try PretrainBenchmark.step(objective: .moco, width: 4, side: 16, channels: 1, batch: 16, threads: 2)
        for _ in 0..<5 { try simclr.run(); try moco.run() }
        XCTAssertEqual(simclr.batch, 16)
        // SimCLR passes 2B = 32 views forward and backward; MoCo 16 queries forward and backward plus 16 keys forward:
        // the same encoder work as SimCLR at B = 16 less one backward of 16 views, more a larger loss (K = 4096).
        XCTAssertGreaterThan(simclr.flops, 0)
        XCTAssertGreaterThan(moco.flops, 0)
        let encoder = Encoder<Float>(inChannels: 1, width: 4)
        let simclrEncoder = encoder.forwardFlops(batch: 32, h: 16, w: 16) + encoder.backwardFlops(batch: 32, h: 16, w: 16)
        XCTAssertEqual(simclr.flops, simclrEncoder + 3 * 2 * 32 * 32 * 128, accuracy: 1)
        let mocoEncoder = 2 * encoder.forwardFlops(batch: 16, h: 16, w: 16) + encoder.backwardFlops(batch: 16, h: 16, w: 16)
        XCTAssertEqual(moco.flops, mocoEncoder + 3 * 2 * 16 * 4096 * 128, accuracy: 1)
        // Its FLOP count knows those two objectives only.
        XCTAssertThrowsError(try PretrainBenchmark.step(objective: .ir, width: 4, side: 16, channels: 1, batch: 16, threads: 1))
    }
}
