import Foundation

/// Progress for long work on stderr: a redrawn bar with ETA on a terminal, plain periodic lines otherwise
/// (so logs of `make` runs stay readable). Silent when NS_QUIET is set to anything but the empty string.
public final class Progress {
    private let label: String
    private let total: Int
    private let unit: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let interactive: Bool
    private let quiet: Bool
    private let interval: TimeInterval
    public private(set) var done = 0

    public init(_ label: String, total: Int, unit: String = "it") {
        self.label = label
        self.total = max(total, 0)
        self.unit = unit
        interactive = isatty(STDERR_FILENO) != 0
        quiet = !(ProcessInfo.processInfo.environment["NS_QUIET"] ?? "").isEmpty || Console.secondary
        interval = interactive ? 0.2 : 10
    }

    /// Advances by `n` items; `status` is shown after the counters (e.g. "loss 6.91").
    public func advance(_ n: Int = 1, status: String = "") {
        done += n
        let now = Date()
        if done < total && now.timeIntervalSince(lastDraw) < interval { return }
        lastDraw = now
        draw(status: status, final: false)
    }

    public func finish(status: String = "") { draw(status: status, final: true) }

    private func draw(status: String, final: Bool) {
        guard !quiet else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let pct = total > 0 ? 100 * Double(done) / Double(total) : 100
        let counters = String(format: "%d/%d %@ %.1f %@/s", done, total, unit, rate, unit)
        let time = final ? "in \(Progress.clock(elapsed))" : "ETA \(Progress.clock(eta))"
        let line: String
        if interactive {
            let width = 24, filled = total > 0 ? min(width, width * done / total) : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            line = "\r\(label) [\(bar)] \(String(format: "%3.0f%%", pct)) \(counters) \(time) \(status)\u{1B}[K" + (final ? "\n" : "")
        } else {
            line = "\(label): \(String(format: "%.0f%%", pct)) \(counters) \(time) \(status)\n"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}

/// Who speaks for a process on stderr.
public enum Console {
    /// Set by every data-parallel rank but the first, so one rank reports progress and notes for the
    /// run (errors are still every rank's own).
    nonisolated(unsafe) public static var secondary = false
}

/// One informational line on stderr (stdout stays for results).
public func note(_ text: String) {
    guard ProcessInfo.processInfo.environment["NS_QUIET"] == nil, !Console.secondary else { return }
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
