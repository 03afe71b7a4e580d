import Foundation

/// Which code made an output: the commit (and whether the work tree had uncommitted changes) and the
/// Swift compiler, read from `build-info` beside the executable. make's build rule writes that file
/// (scripts/build_info.sh) after `swift build`; a binary newer than its build-info (rebuilt some other
/// way) or without one says "unknown" rather than claim a commit it may not be.
public enum BuildInfo {
    public struct Fields: Sendable, Equatable {
        public var commit = "unknown"
        public var dirty = false
        public var swift = "unknown"
    }

    public static let current: Fields = {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return Fields() }
        return read(infoPath: (exe as NSString).deletingLastPathComponent + "/build-info", executable: exe)
    }()

    /// Parses `key=value` lines (commit, dirty, swift) when the file is at least as new as the executable.
    static func read(infoPath: String, executable: String) -> Fields {
        let fm = FileManager.default
        guard let infoDate = (try? fm.attributesOfItem(atPath: infoPath))?[.modificationDate] as? Date,
              let exeDate = (try? fm.attributesOfItem(atPath: executable))?[.modificationDate] as? Date,
              infoDate >= exeDate, let text = try? String(contentsOfFile: infoPath, encoding: .utf8) else { return Fields() }
        var f = Fields()
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq], value = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            switch key {
            case "commit" where value.count == 40 && value.allSatisfy(\.isHexDigit): f.commit = value
            case "dirty": f.dirty = value == "true"
            case "swift" where !value.isEmpty: f.swift = String(value.prefix(200))
            default: break
            }
        }
        return f
    }

    /// "abc123…" or "abc123…-dirty" or "unknown": what the outputs' metadata records as `commit`.
    public static var commit: String { current.commit == "unknown" ? "unknown" : current.commit + (current.dirty ? "-dirty" : "") }

    /// What `--version` prints: the project's version, the commit and the compiler.
    public static var versionLine: String { "\(Provenance.version) (commit \(commit); \(current.swift))" }
}
