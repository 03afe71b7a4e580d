import COpenBLAS
import Foundation
import StageKit

/// Chooses the OpenBLAS kernel ("core") a run uses, and reports it for provenance.
///
/// OpenBLAS reads OPENBLAS_CORETYPE once, when the library loads — before `main` runs — so the only
/// way to change the kernel is to set the variable and re-execute the process. Some machines set
/// OPENBLAS_CORETYPE=Haswell (and OPENBLAS_L2_SIZE) environment-wide, which halves sgemm speed on
/// AVX-512 CPUs. By default we therefore replace the inherited choice with the best kernel the CPU
/// and OS can actually execute (from CPUID/XGETBV); an explicit per-run choice (`--blas-core NAME` or
/// NS_BLAS_CORE=NAME) wins, and 'auto' asks for the default.
public enum BLASRuntime {
    /// Kernels we may choose, weakest first; each needs the features of the ones before it.
    public static let knownCores = ["Prescott", "Nehalem", "Sandybridge", "Haswell", "SkylakeX", "Cooperlake"]

    /// OPENBLAS_THREAD_TIMEOUT unless the environment sets one: after a multi-threaded call OpenBLAS's idle
    /// threads spin in sched_yield for 2^28 cycles by default (≈ 0.1 s) before they sleep, sharing the cores with
    /// the engine's own workers (≈ 4.6 % of a w16 `bench engine` run's perf samples on Zen 5); 2^4 cycles, its
    /// minimum, puts them to sleep at once (0.1 %), at the price of a wake-up per multi-threaded call.
    /// Like the kernel, it is read when the library loads, so it travels with the same re-exec.
    static let defaultThreadTimeout = "4"

    /// The environment marker that stops a second re-exec.
    static let reexecMarker = "NS_BLAS_REEXEC"

    /// Call at the start of a stage, before any matrix math. May re-execute the process (same
    /// arguments) so that the chosen kernel takes effect; returns normally once it has.
    public static func configure(core requested: String?, threads: Int) throws {
        let env = ProcessInfo.processInfo.environment
        let choice = requested ?? env["NS_BLAS_CORE"] ?? "auto"
        let target: String?
        if choice.lowercased() == "auto" {
            target = bestCore()
        } else {
            guard let name = knownCores.first(where: { $0.lowercased() == choice.lowercased() }) else {
                throw StageError.usage("unknown --blas-core '\(choice)' (choose auto or one of: \(knownCores.joined(separator: ", ")))")
            }
            guard supports(name) else {
                throw StageError.usage("--blas-core \(name) needs instructions this CPU (or OS) does not provide; best available: \(bestCore() ?? "unknown")")
            }
            target = name
        }
        let current = env["OPENBLAS_CORETYPE"]
        let needsTimeout = env["OPENBLAS_THREAD_TIMEOUT"] == nil
        if env[reexecMarker] == nil,
           needsTimeout || current != target || (choice.lowercased() == "auto" && env["OPENBLAS_L2_SIZE"] != nil) {
            if needsTimeout { setenv("OPENBLAS_THREAD_TIMEOUT", defaultThreadTimeout, 1) }
            if let target { setenv("OPENBLAS_CORETYPE", target, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
            // The cache-size override travels with the inherited core choice; drop it with that choice.
            if choice.lowercased() == "auto" { unsetenv("OPENBLAS_L2_SIZE") }
            setenv(reexecMarker, "1", 1)
            reexec()
        }
        unsetenv(reexecMarker)
        openblas_set_num_threads(Int32(max(1, threads)))
    }

    /// Runs `body` with OpenBLAS limited to one thread (restored afterwards), so that sgemm calls made
    /// from the engine's own worker threads each run in their caller and never hand off to (or wake)
    /// OpenBLAS's thread pool. Not reentrant across threads: call it from the thread that drives the step.
    @inline(__always)
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        let saved = openblas_get_num_threads()
        if saved == 1 { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(saved) }
        return try body()
    }

    /// The kernel OpenBLAS is running, as it names it.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// What provenance records about the math library.
    public static var provenance: [String: String] {
        ["blas_core": coreName, "blas_threads": String(openblas_get_num_threads()),
         "blas_config": String(cString: openblas_get_config()),
         "blas_thread_timeout": ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] ?? "OpenBLAS's default"]
    }

    /// The best kernel the CPU and OS support, or nil when unknown (OpenBLAS then detects by itself).
    public static func bestCore() -> String? {
        knownCores.last(where: supports)
    }

    /// Whether this CPU and OS can run the given kernel.
    public static func supports(_ core: String) -> Bool {
        let ecx1 = ns_cpuid_reg(1, 0, 2), edx1 = ns_cpuid_reg(1, 0, 3)
        let ebx7 = ns_cpuid_reg(7, 0, 1), eax7_1 = ns_cpuid_reg(7, 1, 0)
        let xcr0 = ns_xgetbv0()
        func bit(_ r: UInt32, _ b: UInt32) -> Bool { r & (1 << b) != 0 }
        let sse3 = bit(ecx1, 0) && bit(edx1, 26)
        let sse42 = sse3 && bit(ecx1, 20)
        let avx = sse42 && bit(ecx1, 28) && (xcr0 & 0x6) == 0x6
        let avx2 = avx && bit(ebx7, 5) && bit(ecx1, 12)
        let avx512 = avx2 && (xcr0 & 0xE6) == 0xE6 && bit(ebx7, 16) && bit(ebx7, 17) && bit(ebx7, 28) && bit(ebx7, 30) && bit(ebx7, 31)
        switch core {
        case "Prescott": return sse3
        case "Nehalem": return sse42
        case "Sandybridge": return avx
        case "Haswell": return avx2
        case "SkylakeX": return avx512
        case "Cooperlake": return avx512 && bit(eax7_1, 5)
        default: return false
        }
    }

    private static func reexec() -> Never {
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // Only reached if exec failed: say so and go on with the kernel already loaded.
        FileHandle.standardError.write(Data("warning: could not re-execute to select the BLAS kernel: \(String(cString: strerror(errno)))\n".utf8))
        unsetenv(reexecMarker)
        exit(execFallbackStatus)
    }

    static let execFallbackStatus: Int32 = 1
}
