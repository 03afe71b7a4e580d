import Dispatch
import Foundation
import Synchronization

/// Runs `body(i)` for i in 0..<count on up to `threads` workers. Work is split into contiguous
/// chunks so each index is processed exactly once; callers make results independent of scheduling
/// by writing to index-addressed slots and drawing randomness from per-index RNG streams.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    parallelRanges(count, threads: threads) { range in for i in range { body(i) } }
}

/// Like `parallelFor`, but hands each worker a contiguous range (for loops with per-worker scratch).
public func parallelRanges(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let workers = max(1, min(threads, count))
    if workers == 1 { body(0..<count); return }
    runWorkers(workers) { w in body((count * w / workers)..<(count * (w + 1) / workers)) }
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
