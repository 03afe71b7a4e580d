import Foundation
import StageKit

/// The per-epoch training log (`log.csv`). Rows travel inside every checkpoint, so a resumed run
/// rewrites the same file without duplicated or missing rows.
public struct TrainLog: Sendable, Equatable {
    public static let columns = [
        "epoch", "step", "lr", "loss", "top1", "ring_outer", "ring_inner", "band_lo", "band_hi", "negatives",
        "sim_p50", "sim_p90", "sim_p99", "sim_p999", "sel_sim_mean", "same_class_frac",
        "align", "uniform", "erank", "knn_top1",
    ]

    public private(set) var rows: [[String: String]] = []

    public init() {}

    /// Parses the CSV text stored in a checkpoint's metadata.
    public init(csv: String) {
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { return }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for line in lines {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            var row: [String: String] = [:]
            for (k, v) in zip(header, cells) where !v.isEmpty { row[k] = v }
            rows.append(row)
        }
    }

    public mutating func append(_ row: [String: String]) { rows.append(row) }

    /// The fixed columns, then any other a sampler logs (sorted), so a new sampler's columns are kept.
    public var header: [String] {
        let known = Set(TrainLog.columns)
        return TrainLog.columns + Set(rows.flatMap(\.keys)).subtracting(known).sorted()
    }

    public var csv: String {
        let header = self.header
        var out = header.joined(separator: ",") + "\n"
        for row in rows { out += header.map { row[$0] ?? "" }.joined(separator: ",") + "\n" }
        return out
    }

    /// Fixed formatting so identical runs give identical bytes.
    public static func format(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        return String(format: "%.6g", x)
    }
}
