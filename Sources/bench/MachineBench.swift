import ArgumentParser
import Foundation
import NN
import StageKit

/// `bench machine`: the machine and build a run is measured on, as one JSON object (the Makefile puts
/// it in every run folder's run.json): CPU model and vector extensions, cores, the OpenBLAS kernel the
/// stages would run with these settings, threads, and the commit and compiler of these binaries.
struct MachineBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "machine",
        abstract: "The CPU, BLAS kernel, threads, commit and compiler, as JSON (for provenance).")
    @Option(help: "Threads the stages run with.") var threads = 1
    @Option(help: "OpenBLAS kernel (auto or a name; default NS_BLAS_CORE or auto).") var blasCore: String?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        Stage.run("bench") {
            try BLASRuntime.configure(core: blasCore, threads: threads)
            let info: [String: Any] = [
                "cpu_model": Machine.cpuModel, "cpu_vector_extensions": Machine.simdFlags, "build_target": Machine.buildTarget,
                "cores": ProcessInfo.processInfo.activeProcessorCount, "threads": threads,
                "blas_core": BLASRuntime.coreName, "commit": BuildInfo.current.commit,
                "dirty": BuildInfo.current.dirty, "swift": BuildInfo.current.swift, "version": Provenance.version,
            ]
            let data = try JSONSerialization.data(withJSONObject: info, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
