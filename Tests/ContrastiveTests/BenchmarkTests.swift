import Contrastive
import Foundation
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
}
