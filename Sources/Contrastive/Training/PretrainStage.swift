import Cluster
import Evaluation
import Foundation
import NN
import StageKit
import TensorFiles

/// The `pretrain` stage: trains for one or more epochs (one views file each), continuing from a
/// checkpoint, and writes a checkpoint holding everything needed to continue exactly — encoders, BN
/// statistics, optimiser state, queue/banks with each entry's index and label, the step (which fixes
/// the anneal position, the learning rate and every random draw) and the log rows.
///
/// Randomness is a function of (seed, epoch, step), never of wall time or thread scheduling, so a run
/// killed at any moment and restarted from its last checkpoint ends bit-identical to one that was not.
///
/// Under `mpirun -np N` the N ranks train one run data-parallel (Trainer.step): each loads the views and
/// the checkpoint, trains on its share of every batch, and rank 0 alone runs the kNN monitor and writes
/// the checkpoint and the log. The state is the same on every rank, so a run resumes at any N.
public enum PretrainStage {
    public static func run(_ o: PretrainOptions) throws {
        let threads = o.common.resolvedThreads
        try BLASRuntime.configure(core: o.common.blasCore, threads: threads)   // may re-execute: before MPI_Init
        NNRuntime.threads = threads
        if let copies = Communicator.unjoinedCopies { throw StageError.usage(copies) }
        let comm = Communicator.world
        Console.secondary = !comm.isRoot
        do {
            try train(o, threads: threads, comm: comm)
        } catch where comm.size > 1 {
            // one rank's failure ends the job: report it as Stage.run would, then take every rank down
            FileHandle.standardError.write(Data("pretrain (rank \(comm.rank) of \(comm.size)): error: \(error)\n".utf8))
            comm.abort((error as? StageError)?.isUsage == true ? Stage.usageExitCode : 1)
        }
        comm.finalize()
    }

    static func train(_ o: PretrainOptions, threads: Int, comm: Communicator) throws {
        let inputs = o.views.map { ("--views", Optional($0)) } + [("--resume", o.resume), ("--knn-train", o.knnTrain), ("--knn-test", o.knnTest)]
        try requireDistinctOutput(o.out, flag: "--out", from: inputs)
        if let log = o.log { try requireDistinctOutput(log, flag: "--log", from: inputs + [("--out", o.out)]) }
        try requireCreatableParent(of: o.out)
        if let log = o.log { try requireCreatableParent(of: log) }

        let first = try ViewsData.load(o.views[0])
        let stepsPerEpoch = first.count / o.batch
        guard stepsPerEpoch >= 1 else {
            throw StageError(o.views[0], "holds \(first.count) images, fewer than one batch of \(o.batch)")
        }
        if first.shape1[2] < 16 || first.shape1[3] < 16 {
            throw StageError(o.views[0], "views are \(first.shape1[2])×\(first.shape1[3]); the ResNet needs at least 16×16 (augment --size)")
        }
        if o.objective == .cmc && (first.shape1[1] != 1 || first.shape2[1] != 2) {
            throw StageError(o.views[0], "cmc needs L (1 channel) and ab (2 channels) views; these have \(first.shape1[1]) and \(first.shape2[1]) (use --recipe cmc)")
        }
        if o.objective != .cmc && first.shape1[1] != first.shape2[1] {
            throw StageError(o.views[0], "view1 and view2 differ in channels (\(first.shape1[1]) vs \(first.shape2[1])); only cmc uses such views")
        }
        try checkShares(o, ranks: comm.size)
        let sampler = try o.negativeSampler(stepsPerEpoch: stepsPerEpoch)
        let candidates: Int
        switch o.objective {
        case .moco: candidates = o.queue
        case .ir, .cmc: candidates = first.count - 1
        case .simclr: candidates = 2 * o.batch - 2
        }
        try sampler.check(objective: o.objective, candidates: candidates)

        let model = ContrastiveModel(options: o, views: first, ranks: comm.size)
        var epochsDone = 0, step = 0
        var log = TrainLog()
        var provenance = Provenance(stage: "pretrain", seed: o.common.seed)
        provenance.parameters = o.identity
        provenance.parameters["views"] = o.views.joined(separator: ",")
        provenance.parameters["threads"] = "\(threads)"
        if comm.size > 1 { provenance.parameters["ranks"] = "\(comm.size)" }   // one process: as before MPI
        for (i, path) in o.views.enumerated() { try provenance.addInput("views\(i)", path: path) }

        if let resume = o.resume {
            try provenance.addInput("resume", path: resume)
            let f: TensorFile
            do { f = try TensorFile.read(resume) } catch let e as TensorFileError { throw StageError(e.path, e.message) }
            guard f.metadata["stage"] == "pretrain" else { throw StageError(resume, "not a pretrain checkpoint") }
            let saved = Provenance.decode(f.metadata["identity"])
            for (key, value) in o.identity where saved[key] != value {
                throw StageError(resume, "was trained with \(key) = \(saved[key] ?? "unset"), this run asks for \(value); use the same settings or start a new run")
            }
            // the views must be those the run trained on: the same image shape and the same number of images
            // (older checkpoints without the record are taken as they are)
            let shape = "\(first.shape1.dropFirst().map(String.init).joined(separator: "×")) / \(first.shape2.dropFirst().map(String.init).joined(separator: "×"))"
            if let saved = f.metadata["view_shapes"], saved != shape {
                throw StageError(o.views[0], "views of \(shape) images, but \(resume) was trained on \(saved); use the run's own views")
            }
            if let saved = f.metadata["views_count"], saved != "\(first.count)" {
                throw StageError(o.views[0], "views of \(first.count) images, but \(resume) was trained on \(saved) per epoch; use the run's own views")
            }
            try model.load(from: f)
            epochsDone = Int(f.metadata["epochs_done"] ?? "") ?? -1
            step = Int(f.metadata["step"] ?? "") ?? -1
            guard epochsDone >= 0, step >= 0 else { throw StageError(resume, "checkpoint lacks epochs_done/step metadata") }
            log = TrainLog(csv: f.metadata["log_csv"] ?? "")
        }

        let trainer = Trainer(options: o, model: model, sampler: sampler, stepsPerEpoch: stepsPerEpoch, threads: threads,
                              comm: comm)
        if o.resume == nil && !model.banks.isEmpty && o.bankInit == .forward {
            try trainer.fillBanks(views: first, batch: o.batch)
            note("pretrain: memory bank filled by one forward pass of the initial encoder (\(first.count) items)")
        }
        let monitor = comm.isRoot ? try KNNMonitor(options: o, threads: threads) : nil
        let started = DispatchTime.now().uptimeNanoseconds
        for (i, path) in o.views.enumerated() {
            let views = i == 0 ? first : try ViewsData.load(path)
            let epoch = epochsDone + 1
            guard epoch <= o.epochs else { throw StageError(path, "the run is already complete (\(o.epochs) epochs)") }
            guard views.shape1 == first.shape1, views.shape2 == first.shape2 else {
                throw StageError(path, "views shapes \(views.shape1)/\(views.shape2) differ from \(first.shape1)/\(first.shape2)")
            }
            if let e = views.epoch, e != epoch {
                throw StageError(path, "views were made for epoch \(e) but this run continues with epoch \(epoch)")
            }
            var order = Array(0..<views.count)
            var rng = RNG(seed: o.common.seed, stream: [0x5348_5546, UInt64(epoch)])
            order.shuffle(using: &rng)
            var sum = EpochSums()
            let progress = Progress("pretrain epoch \(epoch)/\(o.epochs)", total: stepsPerEpoch * o.batch, unit: "img")
            for s in 0..<stepsPerEpoch {
                let rows = order[(s * o.batch)..<((s + 1) * o.batch)]
                let last = s == stepsPerEpoch - 1
                let logThis = o.logEvery > 0 && (step + 1) % o.logEvery == 0
                let st = try trainer.step(views: views, rows: rows, step: step, percentiles: last || logThis)
                sum.add(st)
                if logThis && !last {
                    // a row within the epoch: one batch's figures, not checked by the collapse monitor
                    log.append(row(epoch: epoch, step: step + 1, lr: trainer.learningRate(step: step), stats: st, mean: nil,
                                   sampler: sampler, options: o, knn: nil))
                }
                if last { sum.percentiles = st.percentiles; sum.health = st.health }
                step += 1
                progress.advance(o.batch, status: String(format: "loss %.4f", st.loss))
            }
            progress.finish(status: String(format: "loss %.4f", sum.mean.loss))
            let knn = try monitor?.top1(model: model)
            log.append(row(epoch: epoch, step: step, lr: trainer.learningRate(step: step - 1), stats: sum.mean, mean: sum,
                           sampler: sampler, options: o, knn: knn))
            warnIfCollapsing(log.rows.last!)
            note("epoch \(epoch): loss \(TrainLog.format(sum.mean.loss)), top-1 \(TrainLog.format(sum.mean.top1))"
                 + (knn.map { ", kNN top-1 \(TrainLog.format($0))%" } ?? ""))
            epochsDone = epoch
        }

        if comm.size > 1 { note(communicationSummary(comm, steps: stepsPerEpoch * o.views.count, started: started)) }
        guard comm.isRoot else { return }    // rank 0 writes the checkpoint and the log

        var meta = provenance.metadata
        for (k, v) in BLASRuntime.provenance { meta[k] = v }
        meta["identity"] = Provenance.json(o.identity)
        meta["epochs_done"] = "\(epochsDone)"
        meta["step"] = "\(step)"
        meta["steps_per_epoch"] = "\(stepsPerEpoch)"
        meta["view_shapes"] = "\(first.shape1.dropFirst().map(String.init).joined(separator: "×")) / \(first.shape2.dropFirst().map(String.init).joined(separator: "×"))"
        meta["views_count"] = "\(first.count)"
        meta["log_csv"] = log.csv
        meta["sampler"] = Provenance.json(sampler.identity.merging(["name": sampler.name, "steps_per_epoch": "\(stepsPerEpoch)"]) { a, _ in a })
        model.describe(into: &meta)
        var writer = TensorFileWriter(metadata: meta)
        model.save(into: &writer)
        try ensureParentDirectory(of: o.out)
        do { try writer.write(to: o.out) } catch let e as TensorFileError { throw StageError(e.path, e.message) }
        if let logPath = o.log {
            try ensureParentDirectory(of: logPath)
            try writeTextAtomically(log.csv, to: logPath)
        }
        print("pretrain: wrote \(o.out) (epoch \(epochsDone)/\(o.epochs), step \(step))")
    }

    /// Every rank trains on whole BN groups of an equal share of the batch, so N must divide the batch and
    /// the BN groups (SimCLR's: those of each view's half).
    static func checkShares(_ o: PretrainOptions, ranks n: Int) throws {
        guard n > 1 else { return }
        if o.batch % n != 0 { throw StageError.usage("--batch \(o.batch) is not divisible by the \(n) ranks") }
        let groups = o.objective == .simclr ? 2 * n : n
        if o.bnSplits % groups != 0 {
            throw StageError.usage("--bn-splits \(o.bnSplits) is not divisible by \(groups) (the \(n) ranks\(o.objective == .simclr ? " × SimCLR's two views" : "")): every rank normalises whole BN groups")
        }
    }

    /// One line on what the ranks spent in collectives.
    static func communicationSummary(_ comm: Communicator, steps: Int, started: UInt64) -> String {
        let wall = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let perStep = Double(comm.bytesReduced) / Double(max(steps, 1)) / 1e6
        return String(format: "pretrain: %d ranks: %.2f s of %.2f s in collectives (%.1f %%, %.1f ms/step); %.2f MB all-reduced and %.2f MB all-gathered per step by each rank",
                      comm.size, comm.seconds, wall, 100 * comm.seconds / max(wall, 1e-9), 1000 * comm.seconds / Double(max(steps, 1)),
                      perStep, Double(comm.bytesGathered) / Double(max(steps, 1)) / 1e6)
    }

    /// The collapse monitor's one-line warning (thresholds: StageKit.CollapseThresholds, docs/pretrain.md).
    static func warnIfCollapsing(_ row: [String: String]) {
        let reasons = CollapseThresholds.reasons(row)
        guard !reasons.isEmpty else { return }
        note("pretrain: warning: collapse monitor at epoch \(row["epoch"] ?? "?") step \(row["step"] ?? "?"): "
             + reasons.joined(separator: "; "))
    }

    static func row(epoch: Int, step: Int, lr: Double, stats: ContrastiveStats, mean: EpochSums?, sampler: any NegativeSampler,
                    options o: PretrainOptions, knn: Double?) -> [String: String] {
        let f = TrainLog.format
        var r: [String: String] = [
            "epoch": "\(epoch)", "step": "\(step)", "lr": f(lr), "loss": f(stats.loss), "top1": f(stats.top1),
            "negatives": f(stats.negativesPerQuery), "sel_sim_mean": f(stats.meanSelectedSimilarity),
        ]
        if let s = stats.sameLabelFraction { r["same_class_frac"] = f(s) }
        let p = mean?.percentiles ?? stats.percentiles
        if p.count == 4 { for (k, v) in zip(["sim_p50", "sim_p90", "sim_p99", "sim_p999"], p) { r[k] = f(v) } }
        if let h = mean?.health ?? stats.health {
            r["align"] = f(h.alignment); r["uniform"] = f(h.uniformity); r["erank"] = f(h.effectiveRank)
        }
        for (column, value) in sampler.logColumns(step: max(step - 1, 0)) { r[column] = f(value) }
        if let knn { r["knn_top1"] = f(knn) }
        return r
    }
}

/// Running means of the per-step statistics over an epoch.
struct EpochSums {
    var n = 0
    var loss = 0.0, top1 = 0.0, negatives = 0.0, selected = 0.0, same = 0.0, sameCount = 0
    var percentiles: [Double] = []
    var health: EmbeddingHealth?

    mutating func add(_ s: ContrastiveStats) {
        n += 1
        loss += s.loss; top1 += s.top1; negatives += s.negativesPerQuery; selected += s.meanSelectedSimilarity
        if let f = s.sameLabelFraction { same += f; sameCount += 1 }
    }

    var mean: ContrastiveStats {
        var s = ContrastiveStats()
        let d = Double(max(n, 1))
        s.loss = loss / d; s.top1 = top1 / d; s.negativesPerQuery = negatives / d; s.meanSelectedSimilarity = selected / d
        s.sameLabelFraction = sameCount > 0 ? same / Double(sameCount) : nil
        s.percentiles = percentiles
        s.health = health
        return s
    }
}
