import Dispatch

/// Where a training step's time goes, pass by pass (`bench engine --phases`). While `enabled`, every
/// convolution, batch-norm and residual-block pass adds its wall time to the row of its kind — layer
/// shape, pass, algorithm — so the layers of one shape (and a query and key encoder's copies) share a
/// row. A pass is timed on the thread that calls it, around the parallel work inside it, so the rows add
/// up to the step's time in these layers. Disabled (the default), a pass costs one branch. Not
/// thread-safe: enable it only around code that drives the layers from one thread (a training step).
public enum PassTimes {
    public struct Row: Sendable, Equatable {
        public var seconds = 0.0
        public var calls = 0
    }

    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) public private(set) static var rows: [String: Row] = [:]

    public static func reset() { rows = [:] }

    /// body(), its time added to row `kind` when enabled.
    @inline(__always)
    static func measure<R>(_ kind: @autoclosure () -> String, _ body: () -> R) -> R {
        guard enabled else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        let key = kind()
        rows[key, default: Row()].seconds += seconds
        rows[key, default: Row()].calls += 1
        return result
    }

    /// "16→32 3×3/2 @28×28": a convolution's channels, kernel, stride and input size.
    static func shape(_ c: Int, _ o: Int, kernel k: Int, stride s: Int, _ h: Int, _ w: Int) -> String {
        "\(c)→\(o) \(k)×\(k)/\(s) @\(h)×\(w)"
    }
}
