import Foundation

/// The one error type a stage reports: a file (when one is at fault) and what is wrong with it.
/// Printed as a single line `path: message` so that a user sees at once which input to fix.
public struct StageError: Error, CustomStringConvertible, Sendable {
    public let file: String?
    public let message: String

    public init(_ file: String?, _ message: String) {
        self.file = file
        self.message = message
    }

    public init(_ message: String) { self.init(nil, message) }

    public var description: String {
        let text = message.replacingOccurrences(of: "\n", with: " ")
        guard let file else { return text }
        return "\(file): \(text)"
    }
}

/// Runs a stage's body and turns any error into one line on stderr and exit status 1.
public enum Stage {
    public static func run(_ name: String, _ body: () throws -> Void) -> Never {
        do {
            try body()
            exit(0)
        } catch {
            let line = "\(error)"
            FileHandle.standardError.write(Data("\(name): error: \(line.replacingOccurrences(of: "\n", with: " "))\n".utf8))
            exit(1)
        }
    }
}
