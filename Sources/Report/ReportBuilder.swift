import Foundation
import StageKit

/// Builds the report: `index.html` (charts inline), `summary.md` (charts linked) and `charts/*.svg`.
/// No timestamps and fixed number formatting, so identical inputs give identical bytes.
public struct ReportInputs {
    public var runs: [String] = []                      // run folders (or single result JSONs)
    public var baselines: [(String, String)] = []       // (label, result JSON or folder), e.g. raw pixels
    public var cnce: String?                            // cnce.json from `hardness cnce-study`
    public var hardness: [String] = []                  // extra hardness summaries
    public var title = "Negative sampling report"
    public init() {}
}

public enum ReportBuilder {
    struct Section { var title: String; var html: String; var markdown: String }

    public static func build(_ inputs: ReportInputs, outDir: String) throws {
        let inputFiles = (inputs.runs + inputs.baselines.map(\.1) + inputs.hardness + [inputs.cnce].compactMap { $0 }).map { ("--run/--baseline/--cnce/--hardness", Optional($0)) }
        for output in [outDir, outDir + "/index.html", outDir + "/summary.md"] {
            try requireDistinctOutput(output, flag: "--out", from: inputFiles)
        }
        let runs = try inputs.runs.map { try RunData.load($0) }
        let baselines = try inputs.baselines.map { try RunData.load($0.1, name: $0.0) }
        var extraHardness: [(String, [String: Any])] = []
        for p in inputs.hardness {
            let obj = try RunData.readJSONObject(p)
            guard (obj["kind"] as? String) == "hardness" else { throw StageError(p, "not a hardness summary JSON") }
            extraHardness.append((URL(fileURLWithPath: p).lastPathComponent, obj))
        }
        var cnce: [String: Any]?
        if let p = inputs.cnce {
            let obj = try RunData.readJSONObject(p)
            guard (obj["kind"] as? String) == "cnce-study" else { throw StageError(p, "not a cnce-study JSON") }
            cnce = obj
        }
        var charts: [(String, String)] = []                  // (file name, svg)
        var sections: [Section] = []
        func chart(_ name: String, _ svg: String) -> (String, String) {
            charts.append((name, svg))
            return (svg, "![\(name)](charts/\(name).svg)\n")
        }

        sections.append(resultsSection(runs + baselines))
        if let comparison = ComparisonTable.make(runs) { sections.append(comparison) }
        let trainingRuns = runs.filter { !$0.columns.isEmpty }
        if !trainingRuns.isEmpty {
            var html = "", md = ""
            let loss = trainingRuns.enumerated().compactMap { (i, r) -> LineSeries? in
                let pts = r.perEpoch("loss"); return pts.isEmpty ? nil : LineSeries("\(r.name) loss", pts, color: SVG.color(i))
            }
            let knn = trainingRuns.enumerated().compactMap { (i, r) -> LineSeries? in
                let pts = r.perEpoch("knn_top1"); return pts.isEmpty ? nil : LineSeries("\(r.name) kNN", pts, color: SVG.color(i), dashed: true)
            }
            if !loss.isEmpty || !knn.isEmpty {
                let c = chart("loss_knn", Charts.dualLine(title: "Loss (solid, left) and kNN top-1 (dashed, right) per epoch", xLabel: "epoch",
                                                         leftLabel: "loss", rightLabel: "kNN top-1", left: loss, right: knn))
                html += c.0; md += c.1
            }
            for (name, title, column, label) in [("loss", "Training loss per epoch", "loss", "loss"),
                                                 ("knn", "kNN top-1 per epoch", "knn_top1", "kNN top-1"),
                                                 ("contrastive_top1", "Contrastive top-1 per epoch", "top1", "top-1")] {
                let series = trainingRuns.enumerated().compactMap { (i, r) -> LineSeries? in
                    let pts = r.perEpoch(column)
                    return pts.isEmpty ? nil : LineSeries(r.name, pts, color: SVG.color(i))
                }
                if series.isEmpty { continue }
                let c = chart(name, Charts.line(title: title, xLabel: "epoch", yLabel: label, series: series))
                html += c.0; md += c.1
            }
            var ring: [LineSeries] = []
            for (i, r) in trainingRuns.enumerated() {
                let outer = r.perEpoch("ring_outer"), inner = r.perEpoch("ring_inner")
                if !outer.isEmpty { ring.append(LineSeries("\(r.name) outer", outer, color: SVG.color(i))) }
                if !inner.isEmpty { ring.append(LineSeries("\(r.name) inner", inner, color: SVG.color(i), dashed: true)) }
            }
            if !ring.isEmpty {
                let c = chart("ring_bounds", Charts.line(title: "Ring / band bounds over training", xLabel: "epoch", yLabel: "fraction of K", series: ring, includeZero: true))
                html += c.0; md += c.1
            }
            var sims: [LineSeries] = []
            for (i, r) in trainingRuns.enumerated() {
                for (j, col) in ["sim_p50", "sim_p90", "sim_p99", "sim_p999"].enumerated() {
                    let pts = r.perEpoch(col)
                    if !pts.isEmpty { sims.append(LineSeries("\(r.name) \(col.dropFirst(4))", pts, color: SVG.color(i * 4 + j), dashed: i % 2 == 1)) }
                }
            }
            if !sims.isEmpty {
                let c = chart("similarity_percentiles", Charts.line(title: "Query–negative similarity percentiles", xLabel: "epoch", yLabel: "similarity", series: sims))
                html += c.0; md += c.1
            }
            var monitor: [LineSeries] = []
            for (i, r) in trainingRuns.enumerated() {
                for (j, col) in ["align", "uniform"].enumerated() {
                    let pts = r.perEpoch(col)
                    if !pts.isEmpty { monitor.append(LineSeries("\(r.name) \(col == "align" ? "alignment" : "uniformity")", pts, color: SVG.color(i * 2 + j), dashed: j == 1)) }
                }
            }
            if !monitor.isEmpty {
                let c = chart("collapse_alignment_uniformity", Charts.line(title: "Collapse monitor: alignment (solid, 0 … 4) and uniformity (dashed, −4 spread … 0 collapsed)",
                                                                            xLabel: "epoch", yLabel: "value", series: monitor, includeZero: true))
                html += c.0; md += c.1
            }
            let erank = trainingRuns.enumerated().compactMap { (i, r) -> LineSeries? in
                let pts = r.perEpoch("erank"); return pts.isEmpty ? nil : LineSeries(r.name, pts, color: SVG.color(i))
            }
            if !erank.isEmpty {
                let c = chart("collapse_effective_rank", Charts.line(title: "Collapse monitor: effective rank of a batch's embeddings (1 … 128)",
                                                                      xLabel: "epoch", yLabel: "effective rank", series: erank, includeZero: true))
                html += c.0; md += c.1
            }
            for r in trainingRuns {
                guard let flags = r.collapseFlags else { continue }
                let text = flags.isEmpty ? "\(r.name): collapse monitor clean (no log row crosses a threshold)."
                    : "\(r.name): collapse monitor FLAGGED — " + flags.joined(separator: " · ")
                html += "<p>\(escapeXML(text))</p>\n"; md += "\n" + text + "\n"
            }
            sections.append(Section(title: "Training", html: html, markdown: md))
        }
        let allHardness = runs.flatMap { r in r.hardness.map { ("\(r.name) / \($0.0)", $0.1) } } + extraHardness
        for (i, (label, h)) in allHardness.enumerated() {
            sections.append(HardnessSection.make(label: label, summary: h, id: "h\(i)", chart: chart))
        }
        if let cnce { sections.append(CNCESection.make(cnce, chart: chart)) }

        try FileManager.default.createDirectory(atPath: outDir + "/charts", withIntermediateDirectories: true)
        for (name, svg) in charts { try writeTextAtomically(svg, to: "\(outDir)/charts/\(name).svg") }
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>\(escapeXML(inputs.title))</title>\n"
        html += "<style>body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}svg{display:block;margin:10px 0}</style>\n</head>\n<body>\n"
        html += "<h1>\(escapeXML(inputs.title))</h1>\n"
        var md = "# \(inputs.title)\n\n"
        for s in sections {
            html += "<h2>\(escapeXML(s.title))</h2>\n\(s.html)\n"
            md += "## \(s.title)\n\n\(s.markdown)\n"
        }
        html += "</body>\n</html>\n"
        try writeTextAtomically(html, to: outDir + "/index.html")
        try writeTextAtomically(md, to: outDir + "/summary.md")
    }

    static func resultsSection(_ runs: [RunData]) -> Section {
        let rows = runs.filter { !$0.results.isEmpty }
        guard !rows.isEmpty else { return Section(title: "Results", html: "<p>No result files found.</p>\n", markdown: "No result files found.\n") }
        func cell(_ e: ResultEntry?, _ top5: Bool = false) -> String {
            guard let e else { return "—" }
            let v = top5 ? e.top5 : e.top1
            return v.isFinite ? fixed(v, 2) : "—"
        }
        let withMoCoProbe = rows.contains { $0.results.contains { $0.kind == "probe" && $0.protocolName == "moco" } }
        var header = ["run", "kNN backbone top-1", "kNN projection top-1", "kNN backbone top-5", "probe top-1", "probe top-5"]
        if withMoCoProbe { header.append("probe top-1 (MoCo lr 30)") }
        header.append("collapse monitor")
        let body = rows.map { r -> [String] in
            var cells = [r.name, cell(r.result("knn", feature: "backbone")), cell(r.result("knn", feature: "projection")),
                         cell(r.result("knn", feature: "backbone"), true),
                         cell(r.result("probe", protocolName: "tuned")), cell(r.result("probe", protocolName: "tuned"), true)]
            if withMoCoProbe { cells.append(cell(r.results.first { $0.kind == "probe" && $0.protocolName == "moco" })) }
            cells.append(r.collapseFlags.map { $0.isEmpty ? "clean" : "flagged (\($0.count) row\($0.count == 1 ? "" : "s"))" } ?? "—")
            return cells
        }
        var html = htmlTable(header, body), md = markdownTable(header, body)
        let legend = "probe: the tuned probe (standardised features, L2 chosen on a 10 % hold-out of the training split). "
            + "collapse monitor: \"flagged\" when a training log row crosses a threshold (median query–negative similarity > "
            + "\(CollapseThresholds.maxMedianSimilarity), uniformity > \(CollapseThresholds.maxUniformity), effective rank < "
            + "\(CollapseThresholds.minEffectiveRank)); the flagged rows are listed under Training."
        html += "<p>\(escapeXML(legend))</p>\n"; md += "\n" + legend + "\n"
        return Section(title: "Results (top-1 / top-5, %)", html: html, markdown: md)
    }

    static func htmlTable(_ header: [String], _ rows: [[String]]) -> String {
        var s = "<table>\n<tr>" + header.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr>\n"
        for r in rows { s += "<tr>" + r.map { "<td>\(escapeXML($0))</td>" }.joined() + "</tr>\n" }
        return s + "</table>\n"
    }

    static func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
        var s = "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---|" }.joined() + "\n"
        for r in rows { s += "| " + r.joined(separator: " | ") + " |\n" }
        return s
    }
}
