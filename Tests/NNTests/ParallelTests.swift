import Foundation
import StageKit
import XCTest

/// parallelFor / parallelRanges on the spinning worker pool (StageKit/Parallel.swift): every index exactly
/// once, whether sections come back to back, nest inside each other or arrive from several threads at once
/// (those fall back to Dispatch), and the same partition as with the pool switched off.
final class ParallelTests: XCTestCase {
    /// Counts of how often each index ran (atomic enough: each slot is written by the worker that owns it).
    func counts(_ n: Int, threads: Int) -> [Int] {
        var hits = [Int](repeating: 0, count: n)
        hits.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            parallelFor(n, threads: threads) { i in base[i] += 1 }
        }
        return hits
    }

    func testEveryIndexOnceInManyBackToBackSections() {
        for threads in [1, 2, 3, 5] {
            for n in [1, 2, 3, 7, 64, 1000] {
                for _ in 0..<200 { XCTAssertEqual(counts(n, threads: threads), [Int](repeating: 1, count: n), "n \(n), threads \(threads)") }
            }
        }
    }

    func testRangesPartitionTheSameWithAndWithoutThePool() {
        func ranges(_ n: Int, _ threads: Int) -> [Range<Int>] {
            let lock = NSLock()
            var seen: [Range<Int>] = []
            parallelRanges(n, threads: threads) { r in lock.lock(); seen.append(r); lock.unlock() }
            return seen.sorted { $0.lowerBound < $1.lowerBound }
        }
        for (n, threads) in [(10, 3), (7, 2), (100, 4), (3, 8)] {
            let pooled = ranges(n, threads)
            WorkerPool.enabled = false
            let dispatched = ranges(n, threads)
            WorkerPool.enabled = true
            XCTAssertEqual(pooled, dispatched, "n \(n), threads \(threads)")
            XCTAssertEqual(pooled.map(\.count).reduce(0, +), n)
        }
    }

    func testNestedAndConcurrentSectionsRunEveryIndexOnce() {
        let (outer, inner) = (6, 50)
        var hits = [Int](repeating: 0, count: outer * inner)
        hits.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            parallelFor(outer, threads: 3) { i in                       // the inner sections find the pool busy
                parallelFor(inner, threads: 2) { j in base[i * inner + j] += 1 }
            }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: outer * inner))
        // Four threads issuing sections at once: one holds the pool, the others go through Dispatch.
        let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4 * 500)
        defer { results.deallocate() }
        results.initialize(repeating: 0)
        let base = results.baseAddress!
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for _ in 0..<100 { parallelFor(500, threads: 2) { i in base[t * 500 + i] += 1 } }
        }
        XCTAssertEqual(Array(results), [Int](repeating: 100, count: 4 * 500))
    }
}
