import Foundation

/// Shared helpers for the test targets: where the repository and the built stage binaries are, running
/// them (or a Python script) with captured output, and scratch folders.
public enum TestSupport {
    /// The repository root (the folder holding Package.swift).
    public static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("cannot find the repository root from \(#filePath)")
    }()

    /// The folder holding the built executables (the same one as the test bundle).
    public static let binDir: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // The runner may be `swift-testing`/`xctest` with the bundle elsewhere; find the folder with our binaries.
        for candidate in [url.deletingLastPathComponent(), Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL] {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("inspect").path) { return candidate }
        }
        url = repoRoot.appendingPathComponent(".build/release")
        return url
    }()

    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs a stage binary (e.g. "ingest") with arguments; never throws for a non-zero exit.
    @discardableResult
    public static func runStage(_ name: String, _ args: [String], env: [String: String] = [:], cwd: URL? = nil) throws -> Result {
        try run(binDir.appendingPathComponent(name).path, args, env: env, cwd: cwd)
    }

    /// Runs `python3 scripts/<script> args…` from the repository root.
    @discardableResult
    public static func python(_ script: String, _ args: [String], env: [String: String] = [:]) throws -> Result {
        try run("/usr/bin/env", ["python3", repoRoot.appendingPathComponent("scripts/\(script)").path] + args, env: env, cwd: repoRoot)
    }

    /// True when python3 can import every module named.
    public static func pythonHas(_ modules: [String]) -> Bool {
        let r = try? run("/usr/bin/env", ["python3", "-c", modules.map { "import \($0)" }.joined(separator: "; ")])
        return r?.status == 0
    }

    @discardableResult
    public static func run(_ executable: String, _ args: [String], env: [String: String] = [:], cwd: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["NS_QUIET"] = environment["NS_QUIET"] ?? "1"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh empty folder under the system temporary folder.
    public static func scratchDir(_ label: String = "ns-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The names of the entries in a folder (sorted), e.g. to assert that no output appeared.
    public static func listing(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }
}
