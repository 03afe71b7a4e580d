/// When the collapse monitor calls a training log row suspect. One definition, used by `pretrain`
/// (a one-line warning) and by `report` (the run is flagged). Values are log.csv columns:
///   sim_p50  median query–candidate similarity (unit vectors; ≈ 0 for spread-out embeddings)
///   uniform  Wang & Isola's uniformity log E exp(−2‖a−b‖²) over a batch (−4 spread … 0 one point)
///   erank    effective rank of a batch's embeddings (Roy & Vetterli; 1 … embedding dimension)
/// The thresholds are documented in docs/pretrain.md with the values healthy runs show.
public enum CollapseThresholds {
    public static let maxMedianSimilarity = 0.5
    public static let maxUniformity = -1.0
    public static let minEffectiveRank = 8.0

    /// The reasons a log row is suspect (empty = clean); cells that are absent are not judged.
    public static func reasons(_ row: [String: String]) -> [String] {
        func value(_ key: String) -> Double? { row[key].flatMap(Double.init) }
        var out: [String] = []
        if let p = value("sim_p50"), p > maxMedianSimilarity {
            out.append("median query–negative similarity \(short(p)) > \(maxMedianSimilarity)")
        }
        if let u = value("uniform"), u > maxUniformity { out.append("uniformity \(short(u)) > \(maxUniformity)") }
        if let r = value("erank"), r < minEffectiveRank { out.append("effective rank \(short(r)) < \(minEffectiveRank)") }
        return out
    }

    static func short(_ x: Double) -> String { String(Double((x * 1000).rounded()) / 1000) }
}
