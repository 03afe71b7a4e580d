import Foundation
import NN
import StageKit

/// The `knn` stage: train and test features files → weighted-kNN top-1 / top-5 (results JSON + one line).
///
/// Default feature: `projection`. The MoCo CIFAR-10 demo's monitor feeds the encoder's final fc output
/// (its 128-d head, no MLP) through F.normalize, and InstDisc votes with its 128-d normalised
/// embedding, so the head output is what their kNN figures measure; `--feature backbone` gives the
/// pooled pre-head variant (what some libraries, e.g. lightly's benchmarks, use).
public enum KNNStage {
    public struct Options: Sendable {
        public var trainPath: String
        public var testPath: String
        public var outPath: String
        public var feature: FeatureKind = .projection
        public var parameters = KNNParameters()
        public var seed: UInt64 = 0
        public var threads: Int = defaultThreadCount

        public init(trainPath: String, testPath: String, outPath: String) {
            self.trainPath = trainPath
            self.testPath = testPath
            self.outPath = outPath
        }
    }

    /// Runs the stage; returns the line printed on stdout.
    @discardableResult
    public static func run(_ o: Options) throws -> String {
        try o.parameters.validate()
        try requireWritableOutput(o.outPath)
        try requireDistinctOutput(o.outPath, flag: "--out", from: [("--train", o.trainPath), ("--test", o.testPath)])
        let train = try LabeledFeatures.read(o.trainPath, kind: o.feature)
        let test = try LabeledFeatures.read(o.testPath, kind: o.feature)
        try requireCompatible(train: train, trainPath: o.trainPath, test: test, testPath: o.testPath, kind: o.feature)
        let classes = max(train.classCount, test.classCount)

        var provenance = Provenance(stage: "knn", seed: o.seed)
        try provenance.addInput("train", path: o.trainPath)
        try provenance.addInput("test", path: o.testPath)
        provenance.set("k", o.parameters.k)
        provenance.set("tau", o.parameters.tau)
        provenance.set("feature", o.feature.rawValue)
        provenance.set("chunk_rows", o.parameters.resolvedChunkRows(train: train.count, test: test.count))
        provenance.set("threads", o.threads)
        provenance.extra = BLASRuntime.provenance

        let started = Date()
        let outcome = WeightedKNN.evaluate(train: train, test: test, classes: classes, parameters: o.parameters, threads: o.threads)
        let seconds = Date().timeIntervalSince(started)

        var file = ResultsFile(provenance: provenance)
        file.results = [
            "top1": outcome.top1, "top5": outcome.top5, "k_used": outcome.kUsed, "classes": classes,
            "train_count": train.count, "test_count": test.count, "dim": train.dim,
            "per_class_top1": perClassTop1(predictions: outcome.predictions, labels: test.labels, classes: classes),
        ]
        try file.write(to: o.outPath)
        note(String(format: "knn: %.2f s", seconds))
        return String(format: "knn: top1 %.2f %%  top5 %.2f %%  (k=%d, tau=%g, feature=%@, %d train × %d test, dim %d)",
                      outcome.top1, outcome.top5, outcome.kUsed, o.parameters.tau, o.feature.rawValue, train.count, test.count, train.dim)
    }
}
