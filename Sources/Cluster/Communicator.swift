import CMPI
import Foundation

/// The processes of one data-parallel run and the three collectives training needs, over OpenMPI.
///
/// A process started by `mpirun` (or `srun --mpi=pmix`) joins its world; any other process is a world
/// of one that never touches MPI, so single-process runs are exactly what they were before MPI existed.
/// Every collective is called by every rank in the same order (the trainer's step is the same program
/// on every rank); time spent inside them is counted for the run's summary line.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private let mpi: Bool

    /// Seconds inside collectives, bytes each rank contributed to all-reduces and all-gathers, calls.
    public private(set) var seconds = 0.0
    public private(set) var bytesReduced = 0
    public private(set) var bytesGathered = 0
    public private(set) var calls = 0

    /// Floats per all-reduce call: the flat gradient buffer goes in buckets of this size (4 MiB).
    public static let bucketElements = 1 << 20

    /// This process's world: MPI's when a launcher started it, else a world of one.
    public static let world = Communicator(launched: Communicator.launchedByMPI)

    /// A world of one (tests, and every stage that is not data-parallel).
    public static let single = Communicator(launched: false)

    /// OpenMPI's mpirun sets OMPI_COMM_WORLD_SIZE; PMIx launchers (srun --mpi=pmix) set PMIX_RANK.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// Why this process looks like one of several copies started without MPI (e.g. `srun -n 4` with
    /// --mpi=none or pmi2), which would otherwise train N whole runs into the same files; nil if not.
    public static var unjoinedCopies: String? {
        guard !launchedByMPI else { return nil }
        let env = ProcessInfo.processInfo.environment
        for key in ["SLURM_STEP_NUM_TASKS", "PMI_SIZE"] {
            if let n = env[key].flatMap(Int.init), n > 1 {
                return "started as one of \(n) tasks (\(key)) without an MPI launcher this OpenMPI joins; use mpirun, or srun --mpi=pmix"
            }
        }
        return nil
    }

    private init(launched: Bool) {
        guard launched else { rank = 0; size = 1; mpi = false; return }
        if ns_mpi_initialized() == 0 { Communicator.check(ns_mpi_init(), "MPI_Init") }
        rank = Int(ns_mpi_rank())
        size = Int(ns_mpi_size())
        mpi = true
    }

    public var isRoot: Bool { rank == 0 }

    /// x[0 ..< count] ← Σ over ranks, in buckets of `bucketElements`.
    public func allReduceSum(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1 else { return }
        timed {
            for start in stride(from: 0, to: count, by: Communicator.bucketElements) {
                let n = min(Communicator.bucketElements, count - start)
                Communicator.check(ns_mpi_allreduce_sum_float(x + start, Int32(n)), "MPI_Allreduce")
            }
            bytesReduced += count * MemoryLayout<Float>.size
        }
    }

    /// values ← Σ over ranks (a handful of statistics).
    public func allReduceSum(_ values: inout [Double]) {
        guard size > 1, !values.isEmpty else { return }
        let n = values.count
        timed {
            values.withUnsafeMutableBufferPointer { Communicator.check(ns_mpi_allreduce_sum_double($0.baseAddress!, Int32(n)), "MPI_Allreduce") }
        }
    }

    /// Every rank's `x` (the same count on every rank), concatenated in rank order.
    public func allGather(_ x: [Float]) -> [Float] {
        guard size > 1 else { return x }
        if x.count > Int(Int32.max) / size {
            FileHandle.standardError.write(Data("error: all-gather of \(x.count) floats × \(size) ranks exceeds one MPI call\n".utf8))
            ns_mpi_abort(70)
        }
        var out = [Float](repeating: 0, count: x.count * size)
        timed {
            x.withUnsafeBufferPointer { sent in
                out.withUnsafeMutableBufferPointer { received in
                    Communicator.check(ns_mpi_allgather_float(sent.baseAddress!, Int32(x.count), received.baseAddress!), "MPI_Allgather")
                }
            }
            bytesGathered += x.count * MemoryLayout<Float>.size
        }
        return out
    }

    /// Ends every rank of the job now (a failure on one rank must not leave the others waiting in a
    /// collective: mpirun would stop them, `srun` without --kill-on-bad-exit would not).
    public func abort(_ code: Int32) -> Never {
        if mpi { ns_mpi_abort(code) }
        exit(code)
    }

    public func barrier() {
        guard size > 1 else { return }
        timed { Communicator.check(ns_mpi_barrier(), "MPI_Barrier") }
    }

    /// Leaves the world (every rank, once, at the end of a successful run).
    public func finalize() {
        guard mpi else { return }
        _ = ns_mpi_finalize()
    }

    private func timed(_ body: () -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        calls += 1
    }

    /// MPI's default error handler aborts the job on a failed call; this catches any that return.
    private static func check(_ code: Int32, _ call: String) {
        if code != 0 {
            FileHandle.standardError.write(Data("error: \(call) failed with MPI error \(code)\n".utf8))
            ns_mpi_abort(code)
        }
    }
}
