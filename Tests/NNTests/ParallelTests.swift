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

    /// parallelUnits: every unit once, on workers 0..<min(threads, units); with claiming off each worker runs
    /// its contiguous share; with it on, a worker held up by a slow unit leaves the others to the rest.
    func testUnitsRunOnceAndAreClaimedByFreeWorkers() {
        defer { WorkerPool.claimsUnits = true }
        for claims in [true, false] {
            WorkerPool.claimsUnits = claims
            for threads in [1, 2, 3] { for units in [1, 2, 5, 64] {
                let lock = NSLock()
                var ran: [(worker: Int, unit: Int)] = []
                parallelUnits(units, threads: threads) { w, u in lock.lock(); ran.append((w, u)); lock.unlock() }
                XCTAssertEqual(ran.map(\.unit).sorted(), Array(0..<units), "claims \(claims), threads \(threads), units \(units)")
                let workers = min(threads, units)
                XCTAssertTrue(ran.allSatisfy { (0..<workers).contains($0.worker) })
                if !claims {
                    for w in 0..<workers {
                        XCTAssertEqual(ran.filter { $0.worker == w }.map(\.unit).sorted(), Array((units * w / workers)..<(units * (w + 1) / workers)))
                    }
                }
            } }
        }
        WorkerPool.claimsUnits = true
        let lock = NSLock()
        var perWorker: [Int: [Int]] = [:]
        parallelUnits(40, threads: 2) { w, u in
            if u == 0 { usleep(300_000) }                       // whoever takes unit 0 is held up for 0.3 s
            lock.lock(); perWorker[w, default: []].append(u); lock.unlock()
        }
        let slow = perWorker.first { $0.value.contains(0) }!
        XCTAssertLessThan(slow.value.count, 20, "the held-up worker ran \(slow.value.count) of 40 units")
        XCTAssertEqual(perWorker.values.flatMap { $0 }.sorted(), Array(0..<40))
    }
}
