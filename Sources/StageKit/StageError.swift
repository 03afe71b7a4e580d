import Foundation
import TensorFiles

/// The one error type a stage reports: a file (when one is at fault) and what is wrong with it.
/// Printed as a single line `path: message` so that a user sees at once which input to fix.
public struct StageError: Error, CustomStringConvertible, Sendable {
    public let file: String?
    public let message: String
    /// A bad flag or flag combination rather than a bad input file: the stage exits 64 (EX_USAGE).
    public let isUsage: Bool

    public init(_ file: String?, _ message: String) {
        self.file = file
        self.message = message
        isUsage = false
    }

    public init(_ message: String) { self.init(nil, message) }

    private init(usage message: String) {
        file = nil
        self.message = message
        isUsage = true
    }

    /// An error in the command line (a flag's value or a combination of flags), naming the flag.
    public static func usage(_ message: String) -> StageError { StageError(usage: message) }

    public var description: String {
        let text = message.replacingOccurrences(of: "\n", with: " ")
        guard let file else { return text }
        return "\(file): \(text)"
    }
}

/// Runs a stage's body and turns any error into one line on stderr and exit status 64 for usage
/// errors (as the argument parser's own), 1 for everything else.
public enum Stage {
    public static let usageExitCode: Int32 = 64

    public static func run(_ name: String, _ body: () throws -> Void) -> Never {
        do {
            try body()
            exit(0)
        } catch {
            let line = "\(error)"
            FileHandle.standardError.write(Data("\(name): error: \(line.replacingOccurrences(of: "\n", with: " "))\n".utf8))
            exit((error as? StageError)?.isUsage == true ? usageExitCode : 1)
        }
    }
}

/// Turns a TensorFileError raised inside `body` into the StageError every stage reports.
public func wrapping<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as TensorFileError { throw StageError(e.path, e.message) }
}
