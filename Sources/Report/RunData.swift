import Foundation
import StageKit

/// What the report reads from a run folder, tolerating anything missing: `log.csv` (any subset of the
/// columns epoch,step,lr,loss,top1,ring_outer,ring_inner,negatives,sim_p50,…,knn_top1), result JSONs
/// in `results/` (probe / knn: any keys named top1/top5, fractions or percent), and hardness summaries
/// (JSON with "kind": "hardness") in the folder, `results/`, `analysis/` or `hardness/`.
public struct RunData {
    public var name: String
    public var columns: [String: [Double]] = [:]          // column → values per row (NaN where missing)
    public var results: [ResultEntry] = []
    public var hardness: [(String, [String: Any])] = []    // (file name, summary)
    public var parameters: [String: String] = [:]          // pretrain options from params/pretrain.args ("no-anneal" → "true")
    public var folder: String?                              // the run folder (nil for a single result JSON)

    public func column(_ name: String) -> [Double]? { columns[name] }

    /// The first result of `kind` whose recorded feature / protocol match (nil = any; a result that
    /// records none matches any).
    public func result(_ kind: String, feature: String? = nil, protocolName: String? = nil) -> ResultEntry? {
        results.first { e in
            e.kind == kind && (feature == nil || e.feature == nil || e.feature == feature)
                && (protocolName == nil || e.protocolName == nil || e.protocolName == protocolName)
        }
    }

    /// The collapse monitor's verdict on the training log (StageKit.CollapseThresholds): nil without
    /// a log, [] when clean, else "epoch E step S: reasons" for each flagged row. Only each epoch's last
    /// row counts: rows logged within an epoch (--log-every) measure one batch, and the first steps of
    /// any run sit above the thresholds before the embedding spreads out.
    public var collapseFlags: [String]? {
        guard let steps = columns["step"], !steps.isEmpty else { return nil }
        var out: [String] = []
        let epochs = columns["epoch"]
        let epochEnds = steps.indices.filter { i in
            guard let epochs, i < epochs.count, i + 1 < steps.count, i + 1 < epochs.count else { return true }
            return epochs[i + 1] != epochs[i]
        }
        for i in epochEnds {
            var row: [String: String] = [:]
            for (k, v) in columns where i < v.count && v[i].isFinite { row[k] = String(v[i]) }
            let reasons = CollapseThresholds.reasons(row)
            if !reasons.isEmpty {
                out.append("epoch \(row["epoch"].flatMap { Double($0) }.map { fixed($0, 0) } ?? "?") step \(fixed(steps[i], 0)): "
                           + reasons.joined(separator: "; "))
            }
        }
        return out
    }

    /// (epoch, value) pairs of a column, the last row of each epoch, NaN rows dropped.
    public func perEpoch(_ name: String) -> [(Double, Double)] {
        guard let ys = columns[name] else { return [] }
        let xs = columns["epoch"] ?? ys.indices.map(Double.init)
        var last: [Double: Double] = [:]
        for (x, y) in zip(xs, ys) where x.isFinite && y.isFinite { last[x] = y }
        return last.keys.sorted().map { ($0, last[$0]!) }
    }

    /// (step, value) pairs of a column for every logged row, NaN rows dropped.
    public func perStep(_ name: String) -> [(Double, Double)] {
        guard let ys = columns[name], let xs = columns["step"] else { return [] }
        return zip(xs, ys).filter { $0.0.isFinite && $0.1.isFinite }.map { ($0.0, $0.1) }
    }

    /// True when the log has rows within epochs (pretrain --log-every), not only one per epoch.
    public var logsWithinEpochs: Bool {
        guard let epochs = columns["epoch"], let steps = columns["step"] else { return false }
        return Set(steps.filter(\.isFinite)).count > Set(epochs.filter(\.isFinite)).count
    }

    public static func load(_ dir: String, name: String? = nil) throws -> RunData {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { throw StageError(dir, "no such run folder or file") }
        var run = RunData(name: name ?? URL(fileURLWithPath: dir).lastPathComponent)
        if !isDir.boolValue {                                    // a single result JSON (e.g. a baseline)
            run.add(try readJSONObject(dir), file: URL(fileURLWithPath: dir).lastPathComponent)
            return run
        }
        run.folder = dir
        if FileManager.default.fileExists(atPath: dir + "/log.csv") {
            guard let text = try? String(contentsOfFile: dir + "/log.csv", encoding: .utf8) else { throw StageError(dir + "/log.csv", "is not readable UTF-8 text") }
            run.columns = try parseCSV(text, path: dir + "/log.csv")
        }
        if let text = try? String(contentsOfFile: dir + "/params/pretrain.args", encoding: .utf8) { run.parameters = parseOptions(text) }
        for sub in ["", "/results", "/analysis", "/hardness"] {
            let folder = dir + sub
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            for file in names { run.add(try readJSONObject(folder + "/" + file), file: file) }
        }
        return run
    }

    mutating func add(_ obj: [String: Any], file: String) {
        if (obj["kind"] as? String) == "hardness" { hardness.append((file, obj)); return }
        if (obj["kind"] as? String) == "cnce-study" { return }
        if let r = ResultEntry(obj, file: file) { results.append(r) }
    }

    /// The JSON object in `path`, or a one-line error naming it (a truncated or corrupt file is not skipped).
    static func readJSONObject(_ path: String) throws -> [String: Any] {
        let data = Data(try readFileBytes(path))
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw StageError(path, "is not a JSON object (truncated or corrupt?)")
        }
        return obj
    }

    /// `--name value` pairs of a command line; a flag with no value maps to "true".
    public static func parseOptions(_ text: String) -> [String: String] {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        var out: [String: String] = [:]
        for (i, w) in words.enumerated() where w.hasPrefix("--") {
            let next = i + 1 < words.count ? words[i + 1] : nil
            out[String(w.dropFirst(2))] = next.flatMap { $0.hasPrefix("--") ? nil : $0 } ?? "true"
        }
        return out
    }

    /// Columns by header name; cells that are empty or not numbers become NaN. With `path`, a row whose
    /// cell count differs from the header's (a truncated or corrupt log) is an error naming the file.
    public static func parseCSV(_ text: String, path: String) throws -> [String: [Double]] {
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.isEmpty }
        guard let header = lines.first else { throw StageError(path, "is empty (expected a header line)") }
        func cells(_ line: Substring) -> Int { line.split(separator: ",", omittingEmptySubsequences: false).count }
        let width = cells(header)
        for (i, line) in lines.enumerated().dropFirst() where cells(line) != width {
            throw StageError(path, "line \(i + 1) has \(cells(line)) cells, the header \(width) (truncated or corrupt?)")
        }
        return parseCSV(text)
    }

    /// Columns by header name; cells that are empty or not numbers become NaN.
    public static func parseCSV(_ text: String) -> [String: [Double]] {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) else { return [:] }
        var cols = [String: [Double]]()
        for h in header where !h.isEmpty { cols[h] = [] }
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            for (i, h) in header.enumerated() where !h.isEmpty {
                cols[h]!.append(i < cells.count ? Double(cells[i].trimmingCharacters(in: .whitespaces)) ?? .nan : .nan)
            }
        }
        return cols
    }
}

/// One evaluation result: which evaluation (probe / knn / other) and its top-1 / top-5 in percent.
public struct ResultEntry {
    public var kind: String
    public var top1: Double
    public var top5: Double
    public var file: String
    public var feature: String?          // parameters.feature (knn: backbone / projection)
    public var protocolName: String?     // parameters.protocol (probe: tuned / moco / ring)
    public var perClassTop1: [Double]?   // results.per_class_top1 (percent; NaN for a class without test items)

    init?(_ obj: [String: Any], file: String) {
        let flat = ResultEntry.flatten(obj)
        func find(_ keys: [String]) -> Double {
            for k in keys { if let v = flat[k] { return v <= 1 ? v * 100 : v } }
            return .nan
        }
        top1 = find(["top1", "top_1", "top1_accuracy", "test_top1", "accuracy"])
        top5 = find(["top5", "top_5", "top5_accuracy", "test_top5"])
        guard top1.isFinite || top5.isFinite else { return nil }
        let label = ((obj["stage"] as? String) ?? (obj["kind"] as? String) ?? (obj["evaluation"] as? String) ?? file).lowercased()
        kind = label.contains("probe") || label.contains("linear") ? "probe" : label.contains("knn") ? "knn" : label
        self.file = file
        let parameters = obj["parameters"] as? [String: Any]
        feature = parameters?["feature"] as? String
        protocolName = parameters?["protocol"] as? String
        if let list = (obj["results"] as? [String: Any])?["per_class_top1"] as? [Any] {
            perClassTop1 = list.map { ($0 as? NSNumber)?.doubleValue ?? .nan }
        }
    }

    /// Numeric leaves by their last key (the first occurrence wins, objects visited in key order).
    static func flatten(_ obj: [String: Any]) -> [String: Double] {
        var out: [String: Double] = [:]
        for k in obj.keys.sorted() {
            if let n = obj[k] as? NSNumber, String(cString: n.objCType) != "c" { if out[k.lowercased()] == nil { out[k.lowercased()] = n.doubleValue } }
            else if let sub = obj[k] as? [String: Any] { for (kk, v) in flatten(sub) where out[kk] == nil { out[kk] = v } }
        }
        return out
    }
}
