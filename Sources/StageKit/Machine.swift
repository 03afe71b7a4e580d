import Foundation

/// The machine a figure was measured on: results are bit-identical for a given CPU kernel and thread
/// count, not across them, so benchmarks (and provenance) name the CPU.
public enum Machine {
    /// The CPU model as /proc/cpuinfo names it ("unknown CPU" elsewhere).
    public static let cpuModel: String = cpuinfo("model name") ?? "unknown CPU"

    /// The vector extensions that decide which kernels run (a subset of the CPU's flags, in this order).
    public static let simdFlags: [String] = {
        let flags = Set((cpuinfo("flags") ?? "").split(separator: " ").map(String.init))
        return ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"].filter(flags.contains)
    }()

    /// One line: model, vector extensions and core count.
    public static var summary: String {
        "\(cpuModel) (\(simdFlags.joined(separator: " ")); \(ProcessInfo.processInfo.activeProcessorCount) cores)"
    }

    static let cpuinfoText = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)

    static func cpuinfo(_ key: String) -> String? {
        guard let text = cpuinfoText else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }
}
