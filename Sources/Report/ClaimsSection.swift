import Foundation
import StageKit

/// The papers' claims against a study's rows (`report --claims FILE`): for each claim relating row A to
/// row B, the difference of the means over seeds (A − B) in the tuned probe's and the backbone kNN's
/// top-1, its standard error, and a verdict at this scale. The seed-to-seed spread is pooled over every
/// row that ran under several seeds (one number for the study), so single-seed rows get an error bar too.
///
/// The claims file: one claim per line, `text | row A | relation | row B | source`; `#` starts a comment.
/// Relations: `>` (A beats B), `>=` (A is no worse than B), `~M` (A and B within M points). Row names
/// are experiment names (folders `NAME-seedK` group as NAME). One optional line `target: probe P, knn K`
/// states the best rows' mean top-1 against those targets.
enum ClaimsSection {
    enum Relation: Equatable { case better, noWorse, within(Double) }
    struct Claim { let text, a, b, source: String; let relation: Relation }

    static func load(_ path: String) throws -> (claims: [Claim], targets: [String: Double]) {
        let text = try String(decoding: Data(readFileBytes(path)), as: UTF8.self)
        var claims: [Claim] = [], targets: [String: Double] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if line.isEmpty { continue }
            if line.hasPrefix("target:") {
                for item in line.dropFirst("target:".count).split(separator: ",") {
                    let words = item.split(separator: " ")
                    guard words.count == 2, ["probe", "knn"].contains(String(words[0])), let v = Double(words[1]) else {
                        throw StageError(path, "line \(i + 1): expected 'target: probe P, knn K', got '\(line)'")
                    }
                    targets[String(words[0])] = v
                }
                continue
            }
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 5, !parts[0].isEmpty, !parts[1].isEmpty, !parts[3].isEmpty else {
                throw StageError(path, "line \(i + 1): expected 'claim | row A | relation | row B | source', got '\(line)'")
            }
            let relation: Relation
            switch parts[2] {
            case ">": relation = .better
            case ">=": relation = .noWorse
            case let r where r.hasPrefix("~") && Double(r.dropFirst()).map({ $0 > 0 }) == true: relation = .within(Double(r.dropFirst())!)
            default: throw StageError(path, "line \(i + 1): relation '\(parts[2])' is not >, >= or ~M (M points)")
            }
            claims.append(Claim(text: parts[0], a: parts[1], b: parts[3], source: parts[4], relation: relation))
        }
        return (claims, targets)
    }

    /// Mean, sample variance (nil for one seed) and count of a metric over an experiment's seeds.
    struct Summary { let mean: Double; let variance: Double?; let count: Int }

    static func summarise(_ values: [Double]) -> Summary? {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { return nil }
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.count > 1 ? v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count - 1) : nil
        return Summary(mean: mean, variance: variance, count: v.count)
    }

    /// The seed-to-seed variance pooled over every experiment with several seeds (degrees-of-freedom
    /// weighted), and those degrees of freedom; nil when no experiment has repeats yet.
    static func pooledVariance(_ summaries: [Summary]) -> (Double, Int)? {
        let repeated = summaries.filter { $0.variance != nil }
        let df = repeated.reduce(0) { $0 + $1.count - 1 }
        guard df > 0 else { return nil }
        return (repeated.reduce(0) { $0 + $1.variance! * Double($1.count - 1) } / Double(df), df)
    }

    static func make(_ runs: [RunData], claimsFile: String) throws -> ReportBuilder.Section {
        let (claims, targets) = try load(claimsFile)
        let groups = Dictionary(grouping: runs.filter { !$0.results.isEmpty }, by: { ComparisonTable.experimentName($0.name) })
        let metrics: [(String, (RunData) -> Double)] = [("probe", { ComparisonTable.top1($0, "probe") }),
                                                         ("kNN", { ComparisonTable.top1($0, "knn", "backbone") })]
        var header = ["claim", "rows (seeds)"]
        var pooled: [String: (Double, Int)] = [:]
        for (name, metric) in metrics {
            header += ["\(name) Δ ± se", "\(name) verdict"]
            pooled[name] = pooledVariance(groups.values.compactMap { summarise($0.map(metric)) })
        }
        header += ["source", "what would change it"]
        var rows: [[String]] = []
        for c in claims {
            let a = groups[c.a] ?? [], b = groups[c.b] ?? []
            let op: String
            switch c.relation { case .better: op = ">"; case .noWorse: op = "≥"; case let .within(m): op = "≈ (±\(ComparisonTable.shortNumber(m)))" }
            var row = [c.text, "\(c.a) (\(a.count)) \(op) \(c.b) (\(b.count))"]
            var changes: [(String, String)] = []
            for (name, metric) in metrics {
                guard let sa = summarise(a.map(metric)), let sb = summarise(b.map(metric)) else {
                    row += ["—", "waiting for rows"]; changes.append((name, "its rows")); continue
                }
                let delta = sa.mean - sb.mean
                guard let (variance, _) = pooled[name] else {
                    row += [signed(delta), "no seed repeats yet"]; changes.append((name, "seed repeats")); continue
                }
                let se = (variance * (1 / Double(sa.count) + 1 / Double(sb.count))).squareRoot()
                let margin = studentT975(degreesOfFreedom: pooled[name]!.1) * se
                let verdict: String
                switch c.relation {
                case .better: verdict = delta > margin ? "supported" : delta < -margin ? "contradicted" : "within noise"
                case .noWorse: verdict = delta < -margin ? "contradicted" : "not contradicted"
                case let .within(m): verdict = abs(delta) + margin <= m ? "supported" : abs(delta) - margin > m ? "contradicted" : "within noise"
                }
                row += ["\(signed(delta)) ± \(fixed(se, 2))", verdict]
                changes.append((name, change(verdict: verdict, delta: delta, variance: variance, relation: c.relation)))
            }
            row.append(c.source)
            row.append(Set(changes.map(\.1)).count == 1 ? changes[0].1 : changes.map { "\($0.0): \($0.1)" }.joined(separator: "; "))
            rows.append(row)
        }
        var notes = ""
        notes += "Δ: row A's mean top-1 minus row B's (points; rows in brackets: seeds); se: the standard error of that difference "
            + "from the seed-to-seed spread pooled over every experiment run under several seeds"
        for (name, _) in metrics {
            if let (v, df) = pooled[name] { notes += "; \(name): sd \(fixed(v.squareRoot(), 2)) points, \(df) degrees of freedom" }
        }
        notes += ". "
        for (name, metric) in metrics {
            guard let target = targets[name == "kNN" ? "knn" : "probe"] else { continue }
            let best = groups.compactMap { key, runs in summarise(runs.map(metric)).map { (key, $0) } }
                .max { $0.1.mean != $1.1.mean ? $0.1.mean < $1.1.mean : $0.0 > $1.0 }
            if let (row, s) = best {
                notes += "Best \(name): \(row) \(fixed(s.mean, 2)) % (\(s.count) seed\(s.count == 1 ? "" : "s")) against the target of ≥ \(ComparisonTable.shortNumber(target)) % — "
                    + (s.mean >= target ? "reached. " : "\(fixed(target - s.mean, 2)) points short. ")
            }
        }
        notes += "Verdicts, with t the two-sided 95 % Student quantile for the pooled degrees of freedom — A > B: supported when "
            + "Δ > t·se, contradicted when Δ < −t·se; A ≥ B: contradicted when Δ < −t·se, else not contradicted; A ≈ B (±M): "
            + "supported when |Δ| + t·se ≤ M, contradicted when |Δ| − t·se > M; otherwise within noise. At this scale (the "
            + "study's epochs, width and data), not the papers'. What would change it: for a verdict within noise, the seeds "
            + "per row that would settle it if Δ and the spread stay as measured (n = 2·(2·sd / gap)², gap = |Δ|, or the "
            + "distance of |Δ| from M); a settled verdict holds at this scale and could change only at another (the "
            + "papers' epochs and width)."
        return ReportBuilder.Section(title: "The papers' claims at this scale",
                                     html: ReportBuilder.htmlTable(header, rows) + "<p>\(escapeXML(notes))</p>\n",
                                     markdown: ReportBuilder.markdownTable(header, rows) + "\n" + notes + "\n")
    }

    /// What would move a verdict: seeds per row for one within noise (if Δ and sd stay as measured, at
    /// t ≈ 2: se = sd·√(2/n) must fall below gap/2), a different scale for a settled one.
    static func change(verdict: String, delta: Double, variance: Double, relation: Relation) -> String {
        guard verdict == "within noise" || verdict == "not contradicted" else {
            return "only another scale (the papers' epochs and width)"
        }
        let gap: Double
        switch relation {
        case .better, .noWorse: gap = abs(delta)
        case let .within(m): gap = abs(abs(delta) - m)
        }
        guard gap > 0 else { return "no number of seeds (Δ sits on the threshold)" }
        let seeds = Int((8 * variance / (gap * gap) - 1e-9).rounded(.up))   // 2·(2·sd/gap)², exact counts not bumped by rounding
        return seeds > 50 ? "more than 50 seeds per row (Δ is far below the spread)" : "≈ \(max(seeds, 2)) seeds per row"
    }

    /// Student's t 97.5 % quantile (two-sided 95 %) for `df` degrees of freedom (table, rounded down to a listed df).
    static func studentT975(degreesOfFreedom df: Int) -> Double {
        let table: [(Int, Double)] = [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365), (8, 2.306),
                                      (9, 2.262), (10, 2.228), (12, 2.179), (15, 2.131), (20, 2.086), (30, 2.042), (60, 2.000), (120, 1.980)]
        return table.last(where: { $0.0 <= max(df, 1) })!.1
    }

    static func signed(_ v: Double) -> String { (v >= 0 ? "+" : "") + fixed(v, 2) }
}
