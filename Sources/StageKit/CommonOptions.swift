import ArgumentParser

/// Options every stage takes. Stages embed this with `@OptionGroup var common: CommonOptions`.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(help: "Random seed; identical inputs, seed and thread count give identical outputs.")
    public var seed: UInt64 = 0

    @Option(help: "Worker threads (default: NS_THREADS, else every core).")
    public var threads: Int?

    @Option(name: .customLong("blas-core"),
            help: "OpenBLAS kernel: 'auto' picks the best the CPU supports; a name (e.g. Haswell, SkylakeX) forces it. Default: NS_BLAS_CORE, else auto.")
    public var blasCore: String?

    public init() {}

    public var resolvedThreads: Int { threads ?? defaultThreadCount }

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }
}
