import ArgumentParser
import Contrastive
import Foundation
import NN
import StageKit

/// `bench engine`: images/s of a full MoCo v2 training step (query forward+backward, key forward,
/// InfoNCE against a 4096-key queue at τ = 0.2, SGD step, momentum update) at batch 256; with
/// `--objective simclr`, pairs/s of the pretrain stage's own SimCLR step (the default job's) at batch 128.
struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine",
        abstract: "Throughput of a full MoCo (or SimCLR) training step on the NN engine.")

    @Option(help: "Threads for OpenBLAS and the engine's loops.") var threads = 2
    @Option(help: "OpenBLAS kernel (auto or a name).") var blasCore: String?
    @Option(help: "moco: the engine's MoCo v2 step (plain batch norm, as scripts/bench_torch.py builds it); simclr: the pretrain stage's step of the default job's recipe (split batch norm, ShuffleBN, NT-Xent over both views in one forward), beside torch_calibrate.py's.")
    var objective: ObjectiveKind = .moco
    @Option(help: "Batch size: MoCo's queries (default 256), SimCLR's pairs (default 128: 256 views a forward).") var batch: Int?
    var stepBatch: Int { batch ?? (objective == .simclr ? 128 : 256) }
    @Option(help: "Timed steps per round, after two warm-up steps; a round's rate is its median step's (both engines).")
    var steps = 5
    @Option(help: "Rounds per row: the engine's timed steps and PyTorch's alternate this many times, and the row reports the median round (the available CPU drifts on a shared machine).")
    var rounds = 3
    @Option(help: "Rows to run, as width:channels:size (default: the three issue rows).")
    var rows: [String] = ["16:1:28", "32:1:28", "64:3:32"]
    @Flag(help: "Skip the PyTorch comparison even when torch is importable.") var noTorch = false
    @Flag(help: "Also print where a step's time goes: its phases, then every convolution, batch-norm and block pass by layer shape and algorithm.") var phases = false
    @Option(help: "Threads for the engine's own loops (default: --threads).") var loopThreads: Int?
    @Option(help: "im2col and Winograd workspace limit in elements (default: the engine's; with --ab, B's only).") var colLimit: Int?
    @Option(help: "Fewest sgemm columns per chunk (default: the engine's; with --ab, B's only).") var minColumns: Int?
    @Flag(help: "Stride-1 conv input gradients through sgemm + col2im instead of the transposed convolution (A/B).")
    var col2imInputGrad = false
    @Flag(help: "3×3 stride-1 convolutions through im2col + sgemm instead of Winograd (A/B).")
    var noWinograd = false
    @Option(help: "Winograd output tiles at every size: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3)) (A/B; default: the engine's, F(4×4) from 28 wide and up to 8 wide).")
    var winogradTiles: Int?
    @Option(help: "Winograd F(4×4) tiles for images at least this wide (A/B; default: the engine's, 28).")
    var largeTilesFrom: Int?
    @Option(help: "Winograd F(4×4) tiles also for images at most this wide (A/B; 0: none; default: the engine's).")
    var largeTilesUpTo: Int?
    @Flag(help: "Winograd's forward and input-gradient products through sgemm instead of the engine's register kernel (A/B).")
    var blasProducts = false
    @Option(help: "3×3 stride-1 convolutions of at most this many input channels (the stems) by the direct vectorised loops (A/B; 0: none, Winograd as the rest; default: the engine's, 4).")
    var stemUpToChannels: Int?
    @Flag(help: "Parallel sections through Dispatch instead of the spinning worker pool (A/B; with --ab, B's only).")
    var dispatchWorkers = false
    @Flag(help: "Parallel sections give each worker a fixed share of their units (convolutions' runs of images, channels, …) instead of letting free workers claim them (A/B; with --ab, B's only).")
    var fixedSplit = false
    @Flag(help: "Winograd F(4×4)'s input transform of 4×4 to 8×8 images through padded copies, as larger images, instead of eight whole images at a time (A/B; with --ab, B's only).")
    var paddedSmallInputs = false
    @Flag(help: "A/B in one process: the engine's default policy and the one the A/B flags above give take turns, step by step, and each row reports both rates and the median of the per-pair speed ratios (no PyTorch column).")
    var ab = false
    @Flag(help: "Every convolution by the direct reference loops (debugging a fast path; very slow: try --rows 16:1:28 --steps 1 --batch 16).")
    var reference = false

    var policy: ConvolutionPolicy {
        var p = ConvolutionPolicy(winograd: !noWinograd, transposedInputGradient: !col2imInputGrad, reference: reference)
        if let winogradTiles { p.winogradTilesEverywhere(large: winogradTiles == 4) }
        if let largeTilesFrom { p.largeWinogradTilesFromWidth = largeTilesFrom }
        if let largeTilesUpTo { p.largeWinogradTilesUpToWidth = largeTilesUpTo }
        if blasProducts { p.registerProducts = false }
        if let stemUpToChannels { p.stemUpToChannels = stemUpToChannels }
        return p
    }

    /// PyTorch 2.15 CPU-build figures measured when the engine was first benchmarked (same model, batch 256, 2 threads), img/s.
    static let pytorchReference: [String: Double] = ["16:1:28": 567, "32:1:28": 214, "64:3:32": 36]

    func validate() throws {
        guard (2...4096).contains(stepBatch) else { throw ValidationError("--batch must be in 2…4096 (got \(stepBatch))") }
        guard [.moco, .simclr].contains(objective) else { throw ValidationError("--objective must be moco or simclr (got \(objective))") }
        if objective == .simclr && stepBatch % 8 != 0 { throw ValidationError("--batch must be a multiple of 8 for simclr (its 8 batch-norm groups; got \(stepBatch))") }
        if let winogradTiles, winogradTiles != 2 && winogradTiles != 4 {
            throw ValidationError("--winograd-tiles must be 2 or 4 (got \(winogradTiles))")
        }
        if let largeTilesUpTo, largeTilesUpTo < 0 { throw ValidationError("--large-tiles-up-to must be at least 0 (got \(largeTilesUpTo))") }
        if let stemUpToChannels, stemUpToChannels < 0 { throw ValidationError("--stem-up-to-channels must be at least 0 (got \(stemUpToChannels))") }
        if let largeTilesFrom, largeTilesFrom < 1 { throw ValidationError("--large-tiles-from must be at least 1 (got \(largeTilesFrom))") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1 (got \(steps))") }
        guard (1...99).contains(rounds) else { throw ValidationError("--rounds must be in 1…99 (got \(rounds))") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let loopThreads, loopThreads < 1 { throw ValidationError("--loop-threads must be at least 1 (got \(loopThreads))") }
        if let colLimit, colLimit < 1 { throw ValidationError("--col-limit must be at least 1 (got \(colLimit))") }
        if let minColumns, minColumns < 1 { throw ValidationError("--min-columns must be at least 1 (got \(minColumns))") }
        for row in rows {
            guard let (width, channels, size) = EngineBench.parse(row), (1...ResNet<Float>.widthLimit).contains(width),
                  [1, 3].contains(channels), (16...512).contains(size) else {
                throw ValidationError("--rows '\(row)' must be width:channels:size with width 1…\(ResNet<Float>.widthLimit), channels 1 or 3, size 16…512")
            }
        }
    }

    func run() throws {
        try BLASRuntime.configure(core: blasCore, threads: threads)
        NNRuntime.threads = loopThreads ?? threads
        if !ab, let colLimit { NNRuntime.maxColElements = colLimit }
        if !ab, let minColumns { NNRuntime.minColumns = minColumns }
        if !ab, dispatchWorkers { WorkerPool.enabled = false }
        if !ab, paddedSmallInputs { Winograd4.wholeImageInputs = false }
        if !ab, fixedSplit { WorkerPool.claimsUnits = false }
        let sgemm = BenchSupport.sgemmGFLOPs()
        print("bench engine: CPU \(Machine.summary)")
        print("bench engine: \(objective == .simclr ? "SimCLR step (pretrain's, pairs/s)" : "MoCo step"), batch \(stepBatch), \(threads) threads, BLAS core \(BLASRuntime.coreName), "
              + "OpenBLAS sgemm \(String(format: "%.1f", sgemm)) GFLOP/s (2048³; %sgemm uses the rate measured around each row)")
        let torchAvailable = !noTorch && BenchSupport.python("bench_torch.py", ["--check"]) != nil
        if policy.winograd && !policy.reference {
            print("(GFLOP/s counts direct-convolution FLOPs; Winograd 3×3 convolutions do fewer, so it is an effective rate)")
        }
        if ab { return try runAB() }
        print("row (width, input)     img/s   GFLOP/s  %sgemm  peakRSS MiB  vs ref PyTorch  vs measured PyTorch")
        for row in rows {
            let (width, channels, size) = EngineBench.parse(row)!        // validate() checked every row
            let step = try makeStep(width: width, channels: channels, size: size, policy: policy)
            try step.run(); try step.run()                      // warm-up: allocates every workspace
            let sgemmBefore = BenchSupport.sgemmGFLOPs()
            var faults = 0                                      // minor page faults during our timed steps only
            // Rounds: our timed steps, then PyTorch's, `rounds` times over, so both engines see the same
            // drift of a shared machine; each round's ratio is taken within the round, and the row reports
            // the median round (rates and ratio each the median of its own column).
            var engineRates: [Double] = [], torchRates: [Double] = [], ratios: [Double] = []
            PassTimes.reset()
            step.timedSeconds = 0
            for _ in 0..<rounds {
                let faults0 = BenchSupport.minorFaults
                PassTimes.enabled = phases
                let rate = Double(stepBatch) / (try medianStepSeconds(step))
                PassTimes.enabled = false
                faults += BenchSupport.minorFaults - faults0
                engineRates.append(rate)
                if torchAvailable, let torchRate = torchImagesPerSecond(width: width, channels: channels, size: size) {
                    torchRates.append(torchRate)
                    ratios.append(rate / torchRate)
                }
            }
            let faultsPerStep = faults / (steps * rounds)
            let imagesPerSecond = BenchSupport.median(engineRates)
            let gflops = step.flops * imagesPerSecond / Double(stepBatch) / 1e9
            // sgemm again right after the row: on a shared machine the available CPU drifts, so the
            // row is compared with the mean of the rates measured just before and just after it.
            let sgemmAfter = BenchSupport.sgemmGFLOPs()
            let sgemmAround = (sgemmBefore + sgemmAfter) / 2
            var line = String(format: "w%-3d %d×%d×%-3d        %7.1f  %7.1f  %5.0f%%  %11.0f", width, channels, size, size,
                              imagesPerSecond, gflops, 100 * gflops / sgemmAround, BenchSupport.peakRSSMiB)
            if objective == .moco, stepBatch == 256, let ref = EngineBench.pytorchReference[row] {
                line += String(format: "  %6.2f× (%3.0f)", imagesPerSecond / ref, ref)
            } else {
                line += "               -"
            }
            if ratios.count == rounds {
                line += String(format: "  %6.2f× (%.1f)", BenchSupport.median(ratios), BenchSupport.median(torchRates))
            } else if torchAvailable {
                line += "  (PyTorch run failed)"
            } else {
                line += "  (torch not installed)"
            }
            print(line)
            if rounds > 1 {
                var detail = "     rounds: ours " + engineRates.map { String(format: "%.1f", $0) }.joined(separator: " / ") + " img/s"
                if ratios.count == rounds {
                    detail += ", PyTorch " + torchRates.map { String(format: "%.1f", $0) }.joined(separator: " / ")
                        + ", ratio " + ratios.map { String(format: "%.2f×", $0) }.joined(separator: " / ")
                }
                print(detail)
            }
            if phases {
                print(String(format: "     sgemm around this row: %.1f GFLOP/s; page faults per timed step: %d", sgemmAround, faultsPerStep))
                if let step = step as? MoCoStep {
                    let total = step.phaseSeconds.values.reduce(0, +)
                    print("     " + MoCoStep.phaseNames.map { String(format: "%@ %.0f%%", $0, 100 * step.phaseSeconds[$0, default: 0] / total) }
                        .joined(separator: ", "))
                }
                printPassTimes(steps: steps * rounds, stepSeconds: step.timedSeconds)
            }
        }
    }
}

extension EngineBench {
    /// `--ab`: the default policy (A) and the flags' policy (B) alternate step by step on each row, so both
    /// see the same drift of a shared machine; the row reports each one's median step rate and the median
    /// over pairs of B's rate over A's.
    func runAB() throws {
        let p = policy
        // The chunking limits are the engine's globals: B's are set around each of its steps, A's restored after.
        let aLimits = (NNRuntime.maxColElements, NNRuntime.minColumns)
        let bLimits = (colLimit ?? aLimits.0, minColumns ?? aLimits.1)
        func runB(_ step: TimedStep) throws {
            (NNRuntime.maxColElements, NNRuntime.minColumns) = bLimits
            WorkerPool.enabled = !dispatchWorkers
            WorkerPool.claimsUnits = !fixedSplit
            Winograd4.wholeImageInputs = !paddedSmallInputs
            defer {
                Winograd4.wholeImageInputs = true
                (NNRuntime.maxColElements, NNRuntime.minColumns) = aLimits
                WorkerPool.enabled = true
                WorkerPool.claimsUnits = true
            }
            try step.run()
        }
        print("A: the default policy; B: winograd \(p.winograd), F(4×4) tiles \(p.largeTilesDescription), transposed input gradient \(p.transposedInputGradient), register products \(p.registerProducts), stem up to \(p.stemUpToChannels) channels, reference \(p.reference), workspace limit \(bLimits.0) (A \(aLimits.0)), min columns \(bLimits.1) (A \(aLimits.1)), Dispatch workers \(dispatchWorkers), fixed split \(fixedSplit), padded small inputs \(paddedSmallInputs)")
        print("row (width, input)     A img/s   B img/s   B/A (median of \(steps * rounds) pairs)")
        for row in rows {
            let (width, channels, size) = EngineBench.parse(row)!        // validate() checked every row
            let a = try makeStep(width: width, channels: channels, size: size, policy: .fastest)
            let b = try makeStep(width: width, channels: channels, size: size, policy: policy)
            try a.run(); try runB(b); try a.run(); try runB(b)          // warm-up: allocates every workspace
            var (aRates, bRates, ratios) = ([Double](), [Double](), [Double]())
            for _ in 0..<(steps * rounds) {
                var t0 = BenchSupport.now()
                try a.run()
                let aSeconds = BenchSupport.now() - t0
                t0 = BenchSupport.now()
                try runB(b)
                let bSeconds = BenchSupport.now() - t0
                aRates.append(Double(stepBatch) / aSeconds); bRates.append(Double(stepBatch) / bSeconds); ratios.append(aSeconds / bSeconds)
            }
            print(String(format: "w%-3d %d×%d×%-3d        %7.1f   %7.1f   %.3f  (pairs %@)", width, channels, size, size,
                         BenchSupport.median(aRates), BenchSupport.median(bRates), BenchSupport.median(ratios),
                         ratios.map { String(format: "%.2f", $0) }.joined(separator: " ")))
        }
    }

    /// A --rows entry "width:channels:size" as numbers (its integer fields), or nil when it has not three.
    static func parse(_ row: String) -> (width: Int, channels: Int, size: Int)? {
        let parts = row.split(separator: ":").compactMap { Int($0) }
        return parts.count == 3 ? (parts[0], parts[1], parts[2]) : nil
    }

    /// The --objective's step on one row under `policy`.
    func makeStep(width: Int, channels: Int, size: Int, policy: ConvolutionPolicy) throws -> TimedStep {
        objective == .simclr
            ? try SimCLRStep(width: width, channels: channels, size: size, batch: stepBatch, threads: threads, policy: policy)
            : MoCoStep(width: width, channels: channels, size: size, batch: stepBatch, policy: policy)
    }

    /// The median of `steps` timed steps, in seconds: on a shared machine one step in a few is slowed by someone else.
    func medianStepSeconds(_ step: TimedStep) throws -> Double {
        var stepSeconds: [Double] = []
        for _ in 0..<steps {
            let t0 = BenchSupport.now()
            try step.run()
            stepSeconds.append(BenchSupport.now() - t0)
        }
        step.timedSeconds += stepSeconds.reduce(0, +)
        return BenchSupport.median(stepSeconds)
    }

    /// `--phases`: the PassTimes rows of the timed steps, slowest first, per step and as a share of the
    /// step, then what the rows leave (head, pooling, loss, SGD, queue, the hand-offs between passes).
    func printPassTimes(steps: Int, stepSeconds: Double) {
        guard steps > 0, stepSeconds > 0 else { return }
        let rows = PassTimes.rows.sorted { ($0.value.seconds, $1.key) > ($1.value.seconds, $0.key) }
        let perStep = 1000 / Double(steps)
        let kinds: [(name: String, holds: (String) -> Bool)] = [
            ("conv forward", { $0.hasPrefix("conv") && $0.contains(" forward") }),
            ("conv weight gradient", { $0.hasPrefix("conv") && $0.contains(" weight gradient") }),
            ("conv input gradient", { $0.hasPrefix("conv") && $0.contains(" input gradient ") }),
            ("batch norm", { $0.hasPrefix("batch norm") }), ("block", { $0.hasPrefix("block") }),
        ]
        print("     by pass: " + kinds.map { kind in
            let seconds = rows.filter { kind.holds($0.key) }.reduce(0) { $0 + $1.value.seconds }
            return String(format: "%@ %.0f%%", kind.name, 100 * seconds / stepSeconds)
        }.joined(separator: ", "))
        print("     passes (ms per step, share of the step, calls per step; layers of one shape share a row):")
        for (kind, row) in rows {
            print(String(format: "     %8.1f ms %5.1f%%  ×%-3d %@", row.seconds * perStep, 100 * row.seconds / stepSeconds,
                         row.calls / steps, kind))
        }
        let rest = stepSeconds - rows.reduce(0) { $0 + $1.value.seconds }
        print(String(format: "     %8.1f ms %5.1f%%        the rest: head, pooling, loss, SGD, queue, hand-offs", rest * perStep,
                     100 * rest / stepSeconds))
    }

    /// PyTorch's images/s on the same row and protocol (scripts/bench_torch.py), or nil when the run fails.
    func torchImagesPerSecond(width: Int, channels: Int, size: Int) -> Double? {
        guard let out = BenchSupport.python("bench_torch.py", ["--width", "\(width)", "--channels", "\(channels)",
                "--size", "\(size)", "--batch", "\(stepBatch)", "--threads", "\(threads)", "--steps", "\(steps)",
                "--objective", objective.rawValue]) else { return nil }
        return Double(out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "")
    }
}
