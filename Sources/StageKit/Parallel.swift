import Dispatch
import Foundation
import Synchronization

/// Runs `body(i)` for i in 0..<count on up to `threads` workers, each index exactly once; callers make
/// results independent of scheduling by writing to index-addressed slots and drawing randomness from
/// per-index RNG streams (which worker runs an index varies from run to run).
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    parallelBlocks(count, threads: threads) { range in for i in range { body(i) } }
}

/// Runs `body` on blocks of consecutive indices that cover 0..<count, each block once, about eight blocks
/// a worker, each claimed by whichever worker is free (parallelUnits): for independent indices (element-wise
/// passes, per-channel work), so that a worker slowed by the machine runs fewer blocks. With fewer than two
/// indices a worker, one contiguous range each (parallelRanges).
public func parallelBlocks(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let workers = max(1, min(threads, count))
    guard count >= 2 * workers else { return parallelRanges(count, threads: threads, body) }
    let block = max(1, count / (8 * workers)), blocks = (count + block - 1) / block
    parallelUnits(blocks, threads: workers) { _, u in body((u * block)..<min(count, (u + 1) * block)) }
}

/// Like `parallelFor`, but hands each worker a contiguous range (for loops with per-worker scratch).
public func parallelRanges(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let workers = max(1, min(threads, count))
    if workers == 1 { body(0..<count); return }
    runWorkers(workers) { w in body((count * w / workers)..<(count * (w + 1) / workers)) }
}

/// Runs `body(worker, unit)` for every unit in 0..<units on up to `threads` workers, each worker claiming the
/// next unclaimed unit until none is left: a worker slowed by the machine (or woken late) does fewer units
/// instead of holding the others up at the section's end. Which worker runs a unit varies from run to run,
/// so `body` must make its results depend on `unit` alone (`worker` only picks per-worker scratch).
public func parallelUnits(_ units: Int, threads: Int, _ body: (_ worker: Int, _ unit: Int) -> Void) {
    guard units > 0 else { return }
    let workers = max(1, min(threads, units))
    if workers == 1 { for u in 0..<units { body(0, u) }; return }
    guard WorkerPool.claimsUnits else {   // the fixed split: worker w runs its contiguous share of the units
        return runWorkers(workers) { w in for u in (units * w / workers)..<(units * (w + 1) / workers) { body(w, u) } }
    }
    let next = UnitCounter()
    runWorkers(workers) { w in
        while case let u = next.claim(), u < units { body(w, u) }
    }
}

/// The shared "next unit" of a `parallelUnits` section.
final class UnitCounter: Sendable {
    private let next = Atomic<Int>(0)
    func claim() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// body(w) for w in 0..<workers at once: on the worker pool (w = 0 on the caller), or through Dispatch when the
/// pool is busy (a nested or concurrent call) or switched off. Which w runs where never changes what w does.
func runWorkers(_ workers: Int, _ body: (Int) -> Void) {
    if WorkerPool.enabled, WorkerPool.shared.run(workers, body) { return }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in body(w) }
    }
}

/// Helper threads that stay awake between parallel sections. A training step runs hundreds of short ones;
/// through Dispatch each woke a sleeping worker, and the caller, done with its own part first, waited for it
/// (a w16 `bench engine` step kept 1.62 of 2 cores busy). Here a helper spins on the section counter for a
/// while (`spinLimit` loads, ≈ 0.1 ms) before it sleeps, so back-to-back sections start at once.
public final class WorkerPool: @unchecked Sendable {
    /// Off: every section through Dispatch (`bench engine --ab --dispatch-workers`).
    nonisolated(unsafe) public static var enabled = true
    /// Off: `parallelUnits` (and so `parallelFor`) gives each worker a fixed contiguous share of the units
    /// instead of letting workers claim them (`bench engine --ab --fixed-split`; the values are the same).
    nonisolated(unsafe) public static var claimsUnits = true
    static let shared = WorkerPool()
    static let spinLimit = 100_000

    final class Helper: @unchecked Sendable {
        let index: Int
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
        init(index: Int) { self.index = index }
    }

    private let busy = Atomic<Bool>(false)
    /// (sections started) << 16 | workers of the latest: one atomic word, so a helper reads both at once.
    private let section = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private var helpers: [Helper] = []                       // grown only by the caller holding `busy`
    nonisolated(unsafe) private var job: ((Int) -> Void)?    // written before `section` moves, kept until `pending` is 0

    /// Runs body(w), w in 0..<workers, w = 0 on the caller; false (nothing run) when the pool is in use.
    func run(_ workers: Int, _ body: (Int) -> Void) -> Bool {
        guard workers < 1 << 16, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        while helpers.count < workers - 1 { startHelper(index: helpers.count + 1) }
        withoutActuallyEscaping(body) { body in
            job = body
            pending.store(workers - 1, ordering: .relaxed)
            let next = ((section.load(ordering: .relaxed) >> 16) + 1) << 16 | workers
            section.store(next, ordering: .sequentiallyConsistent)
            for h in helpers.prefix(workers - 1) where h.sleeping.exchange(false, ordering: .sequentiallyConsistent) { h.wake.signal() }
            body(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > 1000 { sched_yield() }
            }
            job = nil
        }
        return true
    }

    private func startHelper(index: Int) {
        let helper = Helper(index: index)
        helpers.append(helper)
        let seen = section.load(ordering: .acquiring)
        let thread = Thread { [self] in helperLoop(helper, seen: seen) }
        thread.name = "worker \(index)"
        thread.start()
    }

    private func helperLoop(_ h: Helper, seen start: Int) -> Never {
        var seen = start
        while true {
            var current = section.load(ordering: .acquiring), spins = 0
            while current == seen {
                spins += 1
                if spins > WorkerPool.spinLimit {
                    h.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if section.load(ordering: .sequentiallyConsistent) == seen { h.wake.wait() }   // a stale signal only wakes it early
                    h.sleeping.store(false, ordering: .sequentiallyConsistent)
                    spins = 0
                }
                current = section.load(ordering: .acquiring)
            }
            seen = current
            if h.index < current & 0xFFFF {
                job!(h.index)
                pending.subtract(1, ordering: .releasing)
            }
        }
    }
}

/// The default thread count: the NS_THREADS environment variable, else every core.
public var defaultThreadCount: Int {
    if let s = ProcessInfo.processInfo.environment["NS_THREADS"], let n = Int(s), n > 0 { return n }
    return ProcessInfo.processInfo.activeProcessorCount
}
