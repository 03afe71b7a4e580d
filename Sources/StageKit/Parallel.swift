import Dispatch
import Foundation

/// Runs `body(i)` for i in 0..<count on up to `threads` workers. Work is split into contiguous
/// chunks so each index is processed exactly once; callers make results independent of scheduling
/// by writing to index-addressed slots and drawing randomness from per-index RNG streams.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    guard count > 0 else { return }
    let workers = max(1, min(threads, count))
    if workers == 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            for i in lo..<hi { body(i) }
        }
    }
}

/// Like `parallelFor`, but hands each worker a contiguous range (for loops with per-worker scratch).
public func parallelRanges(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let workers = max(1, min(threads, count))
    if workers == 1 { body(0..<count); return }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            body((count * w / workers)..<(count * (w + 1) / workers))
        }
    }
}

/// The default thread count: the NS_THREADS environment variable, else every core.
public var defaultThreadCount: Int {
    if let s = ProcessInfo.processInfo.environment["NS_THREADS"], let n = Int(s), n > 0 { return n }
    return ProcessInfo.processInfo.activeProcessorCount
}
