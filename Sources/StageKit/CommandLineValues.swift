import ArgumentParser
import Foundation

/// What every executable does with its command line before the argument parser sees it.
public enum CommandLineValues {
    /// `--flag -1` → `--flag=-1`. The parser takes a word that starts with '-' for a flag, so a negative
    /// value would read as "missing value"; joined, it reaches the stage's range check, whose message
    /// says what the flag accepts.
    public static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count, isNegativeNumber(arguments[i + 1]) {
                out.append("\(a)=\(arguments[i + 1])")
                i += 2
            } else {
                out.append(a)
                i += 1
            }
        }
        return out
    }

    static func isNegativeNumber(_ word: String) -> Bool {
        guard word.hasPrefix("-"), let second = word.dropFirst().first else { return false }
        return second.isNumber || second == "."
    }
}

/// A stage's root command: `@main struct X: StageCommand` enters through `stageMain()`.
public protocol StageCommand: ParsableCommand {}

extension StageCommand {
    public static func main() { stageMain() }
}

extension ParsableCommand {
    /// The entry point of every stage: negative values are joined to their flags, `--help` prints as
    /// usual, and a parse or validation error is one line `stage: error: …` with exit status 64.
    public static func stageMain() {
        if let problem = Machine.unsupportedBuild(cpuFlags: Machine.cpuFlags) {   // before any numeric module's code runs
            let name = configuration.commandName ?? "\(Self.self)".lowercased()
            FileHandle.standardError.write(Data("\(name): error: \(problem)\n".utf8))
            Foundation.exit(69)   // EX_UNAVAILABLE
        }
        let arguments = CommandLineValues.joiningNegativeValues(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            guard code != .success, !(error is CleanExit) else { exit(withError: error) }   // --help, --version
            let name = configuration.commandName ?? "\(Self.self)".lowercased()
            let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("\(name): error: \(line)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
