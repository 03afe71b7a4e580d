import Foundation
import NN
import StageKit
import TensorFiles

/// The `probe` stage: frozen train / test features → a linear classifier → top-1 / top-5 on the test
/// split (results JSON + one line on stdout), with the protocol recorded.
///
/// The probe never loads encoder weights: it reads features only. To prove the encoder was untouched
/// it hashes `--checkpoint` before and after the run (the run fails if they differ), and, when the
/// features record the checkpoint they were made from, checks that it is this one.
public enum ProbeStage {
    public struct Options: Sendable {
        public var trainPath: String
        public var testPath: String
        public var outPath: String
        public var checkpointPath: String?
        public var feature: FeatureKind = .backbone
        public var protocolName: ProbeProtocol = .tuned
        public var hyper: ProbeHyperparameters = ProbeProtocol.moco.hyperparameters
        public var tuned = TunedProbeSettings()
        public var seed: UInt64 = 0
        public var threads: Int = defaultThreadCount

        public init(trainPath: String, testPath: String, outPath: String) {
            self.trainPath = trainPath
            self.testPath = testPath
            self.outPath = outPath
        }
    }

    /// Most weights (classes × feature dimensions) a probe fits.
    public static let weightLimit = 1 << 23

    @discardableResult
    public static func run(_ o: Options) throws -> String {
        try o.hyper.validate()
        try requireWritableOutput(o.outPath)
        try requireDistinctOutput(o.outPath, flag: "--out", from: [("--train", o.trainPath), ("--test", o.testPath), ("--checkpoint", o.checkpointPath)])
        var checkpointBefore: String?
        if let ckpt = o.checkpointPath {
            try requireReadableFile(ckpt)
            checkpointBefore = try SHA256.hex(file: ckpt)
        }
        var train = try LabeledFeatures.read(o.trainPath, kind: o.feature)
        var test = try LabeledFeatures.read(o.testPath, kind: o.feature)
        try requireCompatible(train: train, trainPath: o.trainPath, test: test, testPath: o.testPath, kind: o.feature)
        if let before = checkpointBefore {
            for path in [o.trainPath, o.testPath] {
                let recorded = Provenance.decode(try wrapping(path) { try TensorFile.metadata(path) }["inputs"])["checkpoint"]
                if let recorded, recorded != before {
                    throw StageError(path, "features were made from checkpoint \(recorded.prefix(12))…, not from \(o.checkpointPath!) (\(before.prefix(12))…)")
                }
            }
        }
        let classes = max(train.classCount, test.classCount)
        guard classes >= 2 else { throw StageError(o.trainPath, "labels name only \(classes) class; a probe needs at least 2") }
        // The weights [D, C] and the optimiser's copies of them stay within memory (≈ 40 copies × 32 MiB at the limit).
        guard classes * train.dim <= ProbeStage.weightLimit else {
            throw StageError(o.trainPath, "\(classes) classes × \(train.dim) dimensions exceed the probe's \(ProbeStage.weightLimit) weights")
        }

        var provenance = Provenance(stage: "probe", seed: o.seed)
        try provenance.addInput("train", path: o.trainPath)
        try provenance.addInput("test", path: o.testPath)
        let h = o.hyper
        let tuned = o.protocolName == .tuned
        provenance.set("protocol", o.protocolName.rawValue)
        provenance.set("feature", o.feature.rawValue)
        provenance.set("threads", o.threads)
        provenance.extra = BLASRuntime.provenance
        if tuned {
            provenance.set("l2_grid", o.tuned.grid.map { "\($0)" }.joined(separator: ","))
            provenance.set("holdout_fraction", o.tuned.holdoutFraction)
            provenance.set("max_iterations", o.tuned.maxIterations)
            provenance.set("tolerance", o.tuned.tolerance)
            provenance.set("standardize", true)
        } else {
            provenance.set("lr", h.lr)
            provenance.set("momentum", h.momentum)
            provenance.set("weight_decay", h.weightDecay)
            provenance.set("epochs", h.epochs)
            provenance.set("batch", h.batch)
            provenance.set("milestone_epochs", h.milestoneEpochs.map(String.init).joined(separator: ","))
            provenance.set("gamma", h.gamma)
            provenance.set("standardize", h.standardize)
            provenance.set("init", h.initialization.rawValue)
        }

        if h.standardize || tuned {
            let standardizer = Standardizer(fitting: train)
            standardizer.apply(&train, threads: o.threads)
            standardizer.apply(&test, threads: o.threads)
        }
        let started = Date()
        let seed = o.seed, n = train.count
        let model: LinearClassifier
        var tunedResult: TunedProbeResult?
        if tuned {
            let progress = StageKit.Progress("probe (tuned)", total: o.tuned.grid.count + 1, unit: "fit")
            let r = TunedProbe.run(train, classes: classes, settings: o.tuned, seed: seed, threads: o.threads, progress: progress)
            progress.finish(status: String(format: "λ %g, loss %.4f", r.chosenL2, r.classifier.finalLoss))
            model = r.classifier
            tunedResult = r
        } else {
            let progress = StageKit.Progress("probe", total: h.epochs, unit: "epoch")
            model = LinearProbe.train(train, classes: classes, hyper: h, seed: seed,
                                      order: { LinearProbe.epochOrder(seed: seed, epoch: $0, count: n) }, progress: progress)
            progress.finish(status: String(format: "loss %.4f", model.finalLoss))
        }
        let (top1, top5) = model.accuracy(on: test)
        let trainTop1 = model.accuracy(on: train).top1
        let seconds = Date().timeIntervalSince(started)

        var results: [String: Any] = [
            "top1": top1, "top5": top5, "train_top1": trainTop1, "final_train_loss": (model.finalLoss * 1e6).rounded() / 1e6,
            "classes": classes, "train_count": train.count, "test_count": test.count, "dim": train.dim,
            "per_class_top1": perClassTop1(predictions: model.predictions(on: test), labels: test.labels, classes: classes),
        ]
        if let r = tunedResult {
            results["l2"] = r.chosenL2
            results["holdout_top1"] = r.holdoutTop1
            results["iterations"] = r.iterations
            results["converged"] = r.converged
        }
        if let before = checkpointBefore, let ckpt = o.checkpointPath {
            let after = try SHA256.hex(file: ckpt)
            guard after == before else {
                throw StageError(ckpt, "checkpoint changed during the probe (sha256 \(before) before, \(after) after)")
            }
            provenance.inputs["checkpoint"] = before
            results["checkpoint_sha256_before"] = before
            results["checkpoint_sha256_after"] = after
            results["checkpoint_unchanged"] = true
        }
        var file = ResultsFile(provenance: provenance)
        file.results = results
        try file.write(to: o.outPath)
        note(String(format: "probe: %.2f s", seconds))
        let how = tunedResult.map { String(format: "λ %g chosen on a %g %% hold-out, standardised", $0.chosenL2, 100 * o.tuned.holdoutFraction) }
            ?? String(format: "lr %g, %d epochs, batch %d%@", h.lr, h.epochs, h.batch, h.standardize ? ", standardised" : "")
        return String(format: "probe: top1 %.2f %%  top5 %.2f %%  (protocol %@, feature %@, %@; %d train × %d test, dim %d)",
                      top1, top5, o.protocolName.rawValue, o.feature.rawValue, how, train.count, test.count, train.dim)
    }
}
