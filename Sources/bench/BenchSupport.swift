import Foundation
import NN

/// Shared helpers for benchmark subcommands.
enum BenchSupport {
    /// Peak resident set size of this process, in MiB (getrusage reports KiB on Linux).
    static var peakRSSMiB: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Minor page faults so far: steady growth during timed steps means memory is being allocated.
    static var minorFaults: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }

    /// The upper median (the middle element of an odd count), as every bench median is taken.
    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// OpenBLAS's own sgemm rate (GFLOP/s) on an n×n×n product, best of `repeats`.
    static func sgemmGFLOPs(n: Int = 2048, repeats: Int = 3) -> Double {
        let a = Tensor<Float>([n, n]), b = Tensor<Float>([n, n]), c = Tensor<Float>([n, n])
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = now()
            gemm(m: n, n: n, k: n, a.data, b.data, c.data)
            best = min(best, now() - t0)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    /// The repository root: the working directory when it holds Package.swift, else found from this file.
    static var repoRoot: URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        if FileManager.default.fileExists(atPath: cwd.appendingPathComponent("Package.swift").path) { return cwd }
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return cwd
    }

    /// Runs `python3 scripts/<script> args`; returns stdout when it exits 0, nil otherwise.
    static func python(_ script: String, _ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", repoRoot.appendingPathComponent("scripts/\(script)").path] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
