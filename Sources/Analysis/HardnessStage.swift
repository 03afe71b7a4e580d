import Foundation
import NN
import StageKit
import TensorFiles

/// The `hardness` stage: read queries and candidates, compute `Hardness.compute`, write the statistics
/// as a .safetensors.zst plus a JSON summary (both carrying provenance).
public struct HardnessStageArguments: Sendable {
    public var queries: String
    public var candidates: String
    public var queryTensor: String?
    public var candidateTensor: String?
    public var hierarchy: String?
    public var out: String
    public var summary: String?              // default: `out` with .safetensors.zst replaced by .json
    public var options: HardnessOptions
    public init(queries: String, candidates: String, out: String, options: HardnessOptions) {
        self.queries = queries; self.candidates = candidates; self.out = out; self.options = options
    }
}

public enum HardnessStage {
    public static func summaryPath(for out: String) -> String {
        out.hasSuffix(".safetensors.zst") ? String(out.dropLast(".safetensors.zst".count)) + ".json" : out + ".json"
    }

    @discardableResult
    public static func run(_ a: HardnessStageArguments, seed: UInt64) throws -> HardnessResult {
        let o = a.options
        guard o.consistencyPercent > 0, o.consistencyPercent <= 50 else {
            throw StageError.usage("--consistency-percent must be in (0, 50] (got \(o.consistencyPercent))")
        }
        guard o.histogramBins >= 2, o.histogramBins <= 10_000 else { throw StageError.usage("--histogram-bins must be in 2…10000") }
        guard o.chunk >= 1 else { throw StageError.usage("--chunk must be at least 1") }
        guard a.out.hasSuffix(".safetensors.zst") else { throw StageError(a.out, "output must end in .safetensors.zst") }
        let inputs = [("--queries", a.queries), ("--candidates", a.candidates), ("--hierarchy", a.hierarchy)]
        try requireDistinctOutput(a.out, flag: "--out", from: inputs)
        try requireDistinctOutput(a.summary ?? summaryPath(for: a.out), flag: "--summary", from: inputs + [("--out", a.out)])
        let queries = try EmbeddingSet.load(a.queries, tensor: a.queryTensor)
        let candidates = try EmbeddingSet.load(a.candidates, tensor: a.candidateTensor)
        guard queries.dim == candidates.dim else {
            throw StageError(a.candidates, "candidates have dimension \(candidates.dim), queries (\(a.queries)) \(queries.dim)")
        }
        guard candidates.count >= 2, candidates.count < Int(UInt32.max) else {
            throw StageError(a.candidates, "need between 2 and 2³² candidates (got \(candidates.count))")
        }
        let hierarchy = try a.hierarchy.map(ClassHierarchy.load)
        if let hierarchy, let path = a.hierarchy {
            for (set, file) in [(queries, a.queries), (candidates, a.candidates)] {
                if let bad = set.labels.first(where: { $0 >= Int64(hierarchy.count) }) {
                    throw StageError(file, "label \(bad) has no class in \(path) (it names \(hierarchy.count) classes)")
                }
            }
        }
        var prov = Provenance(stage: "hardness", seed: seed)
        try prov.addInput("queries", path: a.queries)
        try prov.addInput("candidates", path: a.candidates)
        if let h = a.hierarchy { try prov.addInput("hierarchy", path: h) }
        prov.set("query_tensor", queries.tensorName)
        prov.set("candidate_tensor", candidates.tensorName)
        prov.set("exclude_self", o.excludeSelf)
        prov.set("consistency_percent", o.consistencyPercent)
        prov.set("histogram_bins", o.histogramBins)
        prov.set("chunk", o.chunk)
        prov.set("threads", o.threads)
        prov.set("queries", queries.count)
        prov.set("candidates", candidates.count)
        for (k, v) in BLASRuntime.provenance { prov.extra[k] = v }

        let progress = StageKit.Progress("hardness", total: queries.count, unit: "queries")
        let result = Hardness.compute(queries: queries, candidates: candidates, hierarchy: hierarchy, options: o, progress: progress)
        progress.finish()

        let summaryPath = a.summary ?? summaryPath(for: a.out)
        let summary = summaryJSON(result, provenance: prov, consistencyPercent: o.consistencyPercent)
        prov.extra["summary"] = summary
        var w = TensorFileWriter(metadata: prov.metadata)
        let r = result
        w.add("histogram_edges", r.histogramEdges, shape: [r.histogramEdges.count])
        w.add("histogram_counts", r.histogramCounts, shape: [r.histogramCounts.count])
        w.add("percentile_levels", r.percentileLevels, shape: [r.percentileLevels.count])
        w.add("percentiles", r.percentiles, shape: [r.percentiles.count])
        w.add("coarse_same_class", r.coarseSameClass, shape: [100])
        w.add("coarse_same_class_shuffled", r.coarseSameClassShuffled, shape: [100])
        w.add("coarse_lca_depth", r.coarseLCADepth, shape: [100])
        w.add("coarse_queries", r.coarseQueries, shape: [100])
        w.add("coarse_edge_similarity", r.coarseEdgeSimilarity, shape: [101])
        w.add("fine_same_class", r.fineSameClass, shape: [10])
        w.add("fine_same_class_shuffled", r.fineSameClassShuffled, shape: [10])
        w.add("fine_lca_depth", r.fineLCADepth, shape: [10])
        w.add("fine_queries", r.fineQueries, shape: [10])
        w.add("fine_edge_similarity", r.fineEdgeSimilarity, shape: [11])
        let k = candidates.count
        w.add("hard_count", r.hardCount, shape: [k])
        w.add("easy_count", r.easyCount, shape: [k])
        w.add("hard_count_control", r.hardCountControl, shape: [k])
        w.add("easy_count_control", r.easyCountControl, shape: [k])
        w.add("eligible_count", r.eligibleCount, shape: [k])
        w.add("candidate_index", candidates.index, shape: [k])
        w.add("candidate_label", candidates.labels, shape: [k])
        try ensureParentDirectory(of: a.out)
        try w.write(to: a.out)
        try writeTextAtomically(summary + "\n", to: summaryPath)
        return result
    }

    /// The analysis in one line for stdout: how often the hardest and easiest 1 % of negatives share the
    /// query's class (beside the shuffled-label chance level), and how consistent hardness is.
    public static func headline(_ r: HardnessResult) -> String {
        func pct(_ v: Double?) -> String { v.map { $0.isFinite ? String(format: "%.1f %%", 100 * $0) : "—" } ?? "—" }
        var s = "hardness: \(r.queryCount) queries × \(r.candidateCount) candidates; same class: hardest 1 % \(pct(r.coarseSameClass.first)), "
            + "easiest 1 % \(pct(r.coarseSameClass.last)), chance \(pct(r.coarseSameClassShuffled.first))"
        if let hard = r.consistency["hard"], hard.dispersionRatio.isFinite {
            s += String(format: "; hardness consistency: dispersion %.1f× the chance level", hard.dispersionRatio)
        }
        return s
    }

    /// The JSON summary (sorted keys; NaN written as null). Numbers keep full precision.
    public static func summaryJSON(_ r: HardnessResult, provenance: Provenance, consistencyPercent: Double) -> String {
        func clean(_ v: [Double]) -> [Any] { v.map { $0.isFinite ? $0 as Any : NSNull() } }
        var consistency: [String: Any] = [:]
        for (name, s) in r.consistency {
            consistency[name] = ["mean_count": s.meanCount, "variance": s.variance, "null_variance": s.nullVariance,
                                 "dispersion_ratio": s.dispersionRatio.isFinite ? s.dispersionRatio : NSNull(),
                                 "null_quantile_999": s.nullQuantile999, "exceed_count": s.exceedCount,
                                 "expected_exceed": s.expectedExceed, "max_count": s.maxCount] as [String: Any]
        }
        let obj: [String: Any] = [
            "kind": "hardness",
            "stage": provenance.stage, "version": Provenance.version, "commit": BuildInfo.commit, "seed": provenance.seed.map { Int($0) } ?? 0,
            "parameters": provenance.parameters, "inputs": provenance.inputs,
            "queries": r.queryCount, "candidates": r.candidateCount, "pairs": r.pairs, "out_of_range": r.outOfRange,
            "histogram_edges": r.histogramEdges, "histogram_counts": r.histogramCounts,
            "percentile_levels": r.percentileLevels, "percentiles": clean(r.percentiles),
            "coarse_same_class": clean(r.coarseSameClass), "coarse_same_class_shuffled": clean(r.coarseSameClassShuffled),
            "coarse_lca_depth": clean(r.coarseLCADepth), "coarse_edge_similarity": clean(r.coarseEdgeSimilarity),
            "fine_same_class": clean(r.fineSameClass), "fine_same_class_shuffled": clean(r.fineSameClassShuffled),
            "fine_lca_depth": clean(r.fineLCADepth), "fine_edge_similarity": clean(r.fineEdgeSimilarity),
            "consistency_percent": consistencyPercent,
            "consistency": consistency,
        ]
        let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
        return String(decoding: data, as: UTF8.self)
    }
}
