import Foundation

/// How much a stage may allocate for what it makes from its inputs (decoded pixels, views, features):
/// 1 GiB, or 16× the inputs' size on disk when that is more, never more than the machine's memory — so a
/// small file cannot make a stage take gigabytes, while real data (whose outputs are a few times its
/// size) passes. NS_MAX_OUTPUT_BYTES=N replaces the rule. Checked before the allocation.
public enum OutputBudget {
    public static let floor = 1 << 30
    public static let ratio = 16

    public static func limit(inputBytes: Int) -> Int {
        if let text = ProcessInfo.processInfo.environment["NS_MAX_OUTPUT_BYTES"], let v = Int(text), v > 0 { return v }
        let (scaled, overflow) = max(inputBytes, 0).multipliedReportingOverflow(by: ratio)
        return min(Int(clamping: ProcessInfo.processInfo.physicalMemory), max(floor, overflow ? .max : scaled))
    }

    /// Size on disk of the files (0 for one that cannot be read: the stage fails on it anyway).
    public static func size(of paths: [String]) -> Int {
        paths.reduce(0) { $0 + (((try? FileManager.default.attributesOfItem(atPath: $1))?[.size] as? Int) ?? 0) }
    }

    /// Throws, naming `file`, when `bytes` (or an overflowed product) exceeds the limit for `inputBytes`.
    public static func check(_ bytes: Int, overflow: Bool = false, what: String, inputBytes: Int, file: String, hint: String) throws {
        let limit = limit(inputBytes: inputBytes)
        guard !overflow, bytes <= limit else {
            let size = overflow ? "more than \(Int.max)" : "\(bytes)"
            throw StageError(file, "\(what) would take \(size) bytes, over the limit of \(limit) for \(inputBytes) bytes of input (\(hint); NS_MAX_OUTPUT_BYTES=N raises it)")
        }
    }
}
