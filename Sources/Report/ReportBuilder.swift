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
    public var grids: ImageGridInputs?                  // the image grids of the first run (HTML only)
    public var classNames: [String]?                    // label → name (a class hierarchy's), for tables and grids
    public var claims: String?                          // a claims file: the papers' claims against the runs
    public init() {}
}

public enum ReportBuilder {
    struct Section {
        var title: String; var html: String; var markdown: String
        var inMarkdown = true            // false: the HTML page only (images, the configuration panel)
    }

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
        if let claims = inputs.claims { sections.append(try ClaimsSection.make(runs, claimsFile: claims)) }
        if let perClass = PerClassSection.make(runs + baselines, classNames: inputs.classNames) { sections.append(perClass) }
        if let training = TrainingSection.make(runs, chart: chart) { sections.append(training) }
        let allHardness = runs.flatMap { r in r.hardness.map { ("\(r.name) / \($0.0)", $0.1) } } + extraHardness
        for (i, (label, h)) in allHardness.enumerated() {
            sections.append(HardnessSection.make(label: label, summary: h, id: "h\(i)", chart: chart))
        }
        if let consistency = try ConsistencySection.make(runs, chart: chart) { sections.append(consistency) }
        if let cnce { sections.append(CNCESection.make(cnce, chart: chart)) }
        if let grids = inputs.grids { sections.append(try ImageGrids.make(grids)) }
        if let configuration = ConfigurationSection.make(runs) { sections.append(configuration) }

        try FileManager.default.createDirectory(atPath: outDir + "/charts", withIntermediateDirectories: true)
        for (name, svg) in charts { try writeTextAtomically(svg, to: "\(outDir)/charts/\(name).svg") }
        // charts an earlier report wrote here and this one does not (its own folder: only .svg files go)
        let written = Set(charts.map { $0.0 + ".svg" })
        for file in (try? FileManager.default.contentsOfDirectory(atPath: outDir + "/charts")) ?? [] where file.hasSuffix(".svg") && !written.contains(file) {
            try? FileManager.default.removeItem(atPath: "\(outDir)/charts/\(file)")
        }
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>\(escapeXML(inputs.title))</title>\n"
        html += "<style>body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}svg{display:block;margin:10px 0}table.grid td{text-align:center;vertical-align:top;font-size:11px;padding:2px;border:2px solid #ddd}table.grid img{width:56px;height:56px;image-rendering:pixelated}table.grid td.query{border-color:#1f77b4}table.grid td.same{border-color:#d62728}</style>\n</head>\n<body>\n"
        html += "<h1>\(escapeXML(inputs.title))</h1>\n<nav><p>Contents</p><ol>\n"
        for (i, s) in sections.enumerated() { html += "<li><a href=\"#section-\(i)\">\(escapeXML(s.title))</a></li>\n" }
        html += "</ol></nav>\n"
        var md = "# \(inputs.title)\n\n"
        for (i, s) in sections.enumerated() {
            html += "<h2 id=\"section-\(i)\">\(escapeXML(s.title))</h2>\n\(s.html)\n"
            if s.inMarkdown { md += "## \(s.title)\n\n\(s.markdown)\n" }
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
            + "collapse monitor: \"flagged\" when an epoch's training log row crosses a threshold (median query–negative similarity > "
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
