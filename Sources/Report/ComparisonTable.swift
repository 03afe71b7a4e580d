import Foundation

/// The cross-run tables of `make results`: one row per run folder with the settings that tell the runs
/// apart (read from `params/pretrain.args`), its kNN / probe top-1, and the headline numbers of its
/// hardness summary; then, where an experiment ran under several seeds (folders `NAME`, `NAME-seed1`, …),
/// the mean ± sample standard deviation over its seeds.
enum ComparisonTable {
    static let header = ["run", "objective", "negatives", "epochs", "steps", "seed", "kNN backbone", "kNN projection", "probe top-1",
                         "same-class hardest 0.1 %", "hardest 1 %", "49–50 %", "easiest 1 %", "shuffled",
                         "dispersion hardest", "dispersion easiest"]

    /// `nil` when no run carries pretraining parameters (e.g. only baselines or hand-made result files).
    static func make(_ runs: [RunData]) -> ReportBuilder.Section? {
        let trained = runs.filter { !$0.parameters.isEmpty && !$0.results.isEmpty }
        guard !trained.isEmpty else { return nil }
        let rows = trained.map(row)
        var html = ReportBuilder.htmlTable(header, rows), md = ReportBuilder.markdownTable(header, rows)

        let groups = Dictionary(grouping: trained, by: { experimentName($0.name) })
        let repeated = groups.keys.sorted().filter { groups[$0]!.count > 1 }
        if !repeated.isEmpty {
            let seedHeader = ["experiment", "seeds", "kNN backbone", "kNN projection", "probe top-1"]
            let seedRows = repeated.map { name -> [String] in
                let g = groups[name]!.sorted { (Int($0.parameters["seed"] ?? "") ?? 0) < (Int($1.parameters["seed"] ?? "") ?? 0) }
                return [name, g.map { $0.parameters["seed"] ?? "?" }.joined(separator: ", "),
                        meanSD(g.map { top1($0, "knn", "backbone") }), meanSD(g.map { top1($0, "knn", "projection") }),
                        meanSD(g.map { top1($0, "probe") })]
            }
            let note = "Mean ± sample standard deviation over seeds."
            html += "<p>\(note)</p>\n" + ReportBuilder.htmlTable(seedHeader, seedRows)
            md += "\n\(note)\n\n" + ReportBuilder.markdownTable(seedHeader, seedRows)
        }
        let legend = "same-class: fraction of a query's negatives in that difficulty bucket that share its label "
            + "(shuffled: the same with labels permuted, i.e. chance); dispersion: variance of how often each queue entry "
            + "is among a query's hardest / easiest x % over the Binomial null's (1 = chance)."
        return ReportBuilder.Section(title: "Runs compared", html: html + "<p>\(escapeXML(legend))</p>\n", markdown: md + "\n" + legend + "\n")
    }

    /// `moco-ring-seed2` → `moco-ring`; other names unchanged.
    static func experimentName(_ run: String) -> String {
        guard let r = run.range(of: "-seed", options: .backwards), !run[r.upperBound...].isEmpty,
              run[r.upperBound...].allSatisfy(\.isNumber) else { return run }
        return String(run[..<r.lowerBound])
    }

    static func row(_ r: RunData) -> [String] {
        let p = r.parameters
        let steps = r.column("step")?.last(where: { $0.isFinite }).map { fixed($0, 0) } ?? "—"
        var cells = [r.name, p["objective"] ?? "—", negatives(p), p["epochs"] ?? "—", steps, p["seed"] ?? "—",
                     cell(top1(r, "knn", "backbone")), cell(top1(r, "knn", "projection")), cell(top1(r, "probe"))]
        if let h = r.hardness.first?.1 {
            let fine = HardnessSection.doubles(h["fine_same_class"]), coarse = HardnessSection.doubles(h["coarse_same_class"])
            let shuffled = HardnessSection.doubles(h["coarse_same_class_shuffled"]).filter(\.isFinite)
            func dispersion(_ side: String) -> Double { HardnessSection.consistency(h, side, "dispersion_ratio") }
            cells += [frac(fine.first), frac(coarse.first), frac(coarse.count == 100 ? coarse[49] : nil), frac(coarse.last),
                      frac(shuffled.isEmpty ? nil : shuffled.reduce(0, +) / Double(shuffled.count)),
                      cell(dispersion("hard"), 0), cell(dispersion("easy"), 0)]
        } else {
            cells += Array(repeating: "—", count: 7)
        }
        return cells
    }

    /// Which negatives enter the loss, in the words of SPEC §2.
    static func negatives(_ p: [String: String]) -> String {
        /// The flag's value as a short number ("?" if unreadable), or `absent` when the flag was not given.
        func v(_ k: String, absent: String = "?") -> String { p[k].map { Double($0).map(shortNumber) ?? "?" } ?? absent }
        // pretrain's defaults where a flag is absent: anneal over half the run, band [0, 5).
        func ring() -> String {
            let outer = Double(p["ring-outer"] ?? "0.1") ?? .nan, inner = Double(p["ring-inner"] ?? "0.1") ?? .nan
            let ranks = "ranks \(shortNumber(100 * inner * outer))–\(shortNumber(100 * outer)) %"
            if p["no-anneal"] != nil { return "ring \(ranks), constant" }
            let epochs = p["anneal-epochs"] ?? p["epochs"].flatMap { Double($0) }.map { shortNumber($0 / 2) } ?? "?"
            return "ring \(ranks), annealed over \(epochs) ep"
        }
        func band() -> String { "band [\(v("band-lo", absent: "0")), \(v("band-hi", absent: "5"))) %" }
        switch p["sampler"] ?? "" {
        case "uniform": return "uniform"
        case "ring": return ring()
        case "band": return band()
        case "subset": return "random subset as large as the \(p["subset-of"] == "band" ? band() : ring())"
        case "hcl": return "HCL β \(v("hcl-beta")), τ⁺ \(v("tau-plus"))"
        case "dcl": return "DCL τ⁺ \(v("tau-plus"))"
        case "mochi": return "MoCHi N \(p["mochi-n"] ?? "?"), s \(p["mochi-s"] ?? "?"), s′ \(p["mochi-s-prime"] ?? "?")"
        case let s: return s.isEmpty ? "—" : s
        }
    }

    static func top1(_ r: RunData, _ kind: String, _ feature: String? = nil) -> Double {
        (kind == "probe" ? r.result(kind, protocolName: "tuned") : r.result(kind, feature: feature))?.top1 ?? .nan
    }
    static func cell(_ v: Double, _ digits: Int = 2) -> String { v.isFinite ? fixed(v, digits) : "—" }
    static func frac(_ v: Double?) -> String { v.map { cell($0, 3) } ?? "—" }
    static func shortNumber(_ v: Double) -> String {
        guard v.isFinite else { return "?" }
        let s = String(format: "%.3f", v).replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression)
        return s.isEmpty ? "0" : s
    }

    static func meanSD(_ xs: [Double]) -> String {
        let v = xs.filter(\.isFinite)
        guard !v.isEmpty else { return "—" }
        let mean = v.reduce(0, +) / Double(v.count)
        guard v.count > 1 else { return fixed(mean, 2) }
        let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
        return "\(fixed(mean, 2)) ± \(fixed(sd, 2)) (n = \(v.count))"
    }
}
