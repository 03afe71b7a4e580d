import Foundation

/// The machine a figure was measured on: results are bit-identical for a given CPU kernel and thread
/// count, not across them, so benchmarks (and provenance) name the CPU.
public enum Machine {
    /// The CPU model as /proc/cpuinfo names it ("unknown CPU" elsewhere).
    public static let cpuModel: String = cpuinfo("model name") ?? "unknown CPU"

    /// The vector extensions that decide which kernels run (a subset of the CPU's flags, in this order).
    public static let simdFlags: [String] = {
        let flags = cpuFlags ?? []
        return ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"].filter(flags.contains)
    }()

    /// One line: model, vector extensions, core count and what the engine was compiled for.
    public static var summary: String {
        "\(cpuModel) (\(simdFlags.joined(separator: " ")); \(ProcessInfo.processInfo.activeProcessorCount) cores; engine built for \(buildTarget))"
    }

    /// The vector extensions the numeric modules were compiled for (Package.swift decides: AVX2 and FMA
    /// when the building CPU has them, none with NS_PORTABLE=1); benchmarks name it beside the CPU.
    public static let buildExtensions: [String] = {
        #if NS_AVX2
        return ["avx2", "fma"]
        #else
        return []
        #endif
    }()

    /// "avx2+fma" or "baseline": the build's line in benchmark headers and `bench machine`.
    public static var buildTarget: String { buildExtensions.isEmpty ? "baseline" : buildExtensions.joined(separator: "+") }

    /// Why this build cannot run on a CPU with `cpuFlags` (nil: it can, or the flags are unknown).
    /// A binary built on a newer machine would otherwise die of an illegal instruction mid-run.
    public static func unsupportedBuild(needs: [String] = buildExtensions, cpuFlags: Set<String>?) -> String? {
        guard let cpuFlags else { return nil }
        let missing = needs.filter { !cpuFlags.contains($0) }
        guard !missing.isEmpty else { return nil }
        return "this build uses \(missing.map { $0.uppercased() }.joined(separator: " and ")), which this CPU lacks (it was compiled on a machine "
            + "that has them): rebuild here with `swift build -c release`, or anywhere with NS_PORTABLE=1 for a build that runs on any x86-64"
    }

    /// This CPU's flags from /proc/cpuinfo (nil where there is none).
    public static let cpuFlags: Set<String>? = cpuinfo("flags").map { Set($0.split(separator: " ").map(String.init)) }

    static let cpuinfoText = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)

    static func cpuinfo(_ key: String) -> String? {
        guard let text = cpuinfoText else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }
}
