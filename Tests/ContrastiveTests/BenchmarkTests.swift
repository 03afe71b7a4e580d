import Contrastive
import Foundation
import NN
import XCTest

/// The benchmark reports one line per sampler; speed itself is measured (NS_CONTRASTIVE_BENCH=1 prints
/// the full-size numbers), never asserted.
final class BenchmarkTests: XCTestCase {
    func testBenchmarkReportsEverySampler() {
        let full = ProcessInfo.processInfo.environment["NS_CONTRASTIVE_BENCH"] != nil
        let lines = full ? SamplerBenchmark.run(threads: 2) : SamplerBenchmark.run(threads: 2, batch: 16, dim: 16, queue: 256, repeats: 1)
        XCTAssertEqual(lines.count, SamplerKind.allCases.count)
        for (line, kind) in zip(lines, SamplerKind.allCases) { XCTAssertTrue(line.contains(" \(kind.rawValue) "), line) }
        XCTAssertTrue(lines[0].contains("1.00× uniform"), lines[0])
        if full { lines.forEach { print($0) } }
        if full {
            let (B, K, d) = (256, 4096, 128)
            let q = Embeddings.randomUnit(count: B, dim: d, seed: 1, stream: 1), queue = Embeddings.randomUnit(count: K, dim: d, seed: 1, stream: 2)
            var s = [Float](repeating: 0, count: B * K), g = [Float](repeating: 0, count: B * d)
            var best = 1e9
            for _ in 0..<10 {
                let t0 = Date()
                gemm(transB: true, m: B, n: K, k: d, q, queue, &s)
                gemm(m: B, n: d, k: K, s, queue, &g)
                best = min(best, Date().timeIntervalSince(t0))
            }
            print("two gemms min", best * 1e3, "ms")
            for t in SamplerBenchmark.measure(threads: 1, repeats: 10, useMinimum: true) {
                print("threads=1 min", t.sampler, String(format: "%.2f ms %.2fx", t.medianSeconds * 1e3, t.ratioToUniform))
            }
        }
    }
}
