import Foundation

/// Report sections for a hardness summary (from `hardness`) and for the CNCE study (`hardness cnce-study`).
enum HardnessSection {
    static func doubles(_ v: Any?) -> [Double] { ((v as? [Any]) ?? []).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
    /// A number from a summary's "consistency" block (side: hard, easy, hard_control, easy_control); NaN if absent.
    static func consistency(_ h: [String: Any], _ side: String, _ key: String) -> Double {
        (((h["consistency"] as? [String: Any])?[side] as? [String: Any])?[key] as? NSNumber)?.doubleValue ?? .nan
    }

    static func make(label: String, summary h: [String: Any], id: String,
                     chart: (String, String) -> (String, String)) -> ReportBuilder.Section {
        var html = "", md = ""
        func add(_ c: (String, String)) { html += c.0; md += c.1 }
        let edges = doubles(h["histogram_edges"]), counts = doubles(h["histogram_counts"])
        let coarseEdges = doubles(h["coarse_edge_similarity"]), fineEdges = doubles(h["fine_edge_similarity"])
        if edges.count == counts.count + 1, !counts.isEmpty {
            var markers: [(Double, String)] = []
            if fineEdges.count == 11 { markers.append((fineEdges[1], "hardest 0.1 %")) }
            if coarseEdges.count == 101 {
                markers += [(coarseEdges[1], "hardest 1 %"), (coarseEdges[5], "hardest 5 %"), (coarseEdges[10], "hardest 10 %"), (coarseEdges[50], "median")]
            }
            add(chart("\(id)_similarity_histogram", Charts.histogram(title: "Similarity distribution (mean per-query cut-offs)", xLabel: "query–candidate similarity", edges: edges, counts: counts, markers: markers)))
        }
        let same = doubles(h["coarse_same_class"]), chance = doubles(h["coarse_same_class_shuffled"])
        if same.count == 100 {
            let x = (0..<100).map { Double($0) + 0.5 }
            add(chart("\(id)_same_class", Charts.line(title: "Same-class fraction by difficulty bucket", xLabel: "bucket (hardness percentile, 0 = hardest)", yLabel: "same-class fraction",
                series: [LineSeries("observed", Array(zip(x, same)), color: SVG.color(0)), LineSeries("labels shuffled", Array(zip(x, chance)), color: SVG.color(7), dashed: true)], includeZero: true)))
        }
        let fine = doubles(h["fine_same_class"]), fineChance = doubles(h["fine_same_class_shuffled"])
        if fine.count == 10 {
            let x = (0..<10).map { (Double($0) + 0.5) / 10 }
            add(chart("\(id)_same_class_fine", Charts.line(title: "Same-class fraction, hardest 1 % (0.1 % buckets)", xLabel: "hardness percentile", yLabel: "same-class fraction",
                series: [LineSeries("observed", Array(zip(x, fine)), color: SVG.color(0)), LineSeries("labels shuffled", Array(zip(x, fineChance)), color: SVG.color(7), dashed: true)], includeZero: true)))
        }
        let lca = doubles(h["coarse_lca_depth"])
        if lca.count == 100, lca.contains(where: { $0.isFinite }) {
            let x = (0..<100).map { Double($0) + 0.5 }
            add(chart("\(id)_lca_depth", Charts.line(title: "Mean LCA depth by difficulty bucket", xLabel: "bucket (hardness percentile, 0 = hardest)", yLabel: "LCA depth", series: [LineSeries("LCA depth", Array(zip(x, lca)), color: SVG.color(2))])))
        }
        if h["consistency"] is [String: Any] {
            func v(_ side: String, _ key: String) -> Double { consistency(h, side, key) }
            let pct = (h["consistency_percent"] as? NSNumber)?.doubleValue ?? .nan
            var observed = [v("hard", "dispersion_ratio"), v("easy", "dispersion_ratio")]
            var control = [v("hard_control", "dispersion_ratio"), v("easy_control", "dispersion_ratio")]
            // ratios far above 1 would flatten the control's bars: switch to a log10 axis then
            let logScale = (observed + control).contains { $0 > 20 }
            if logScale { observed = observed.map(log10); control = control.map(log10) }
            add(chart("\(id)_consistency", Charts.bars(title: "Consistency: dispersion of per-candidate counts (x = \(fixed(pct, 1)) %)",
                yLabel: logScale ? "log10(variance / Binomial variance)" : "variance / Binomial variance",
                categories: ["hardest x %", "easiest x %"],
                series: [("observed", observed), ("shuffled control", control)],
                reference: (logScale ? 0 : 1, "null (Binomial)"))))
            let header = ["counts", "dispersion ratio", "above null 99.9th pct", "expected under null", "max count", "null 99.9th pct"]
            let rows = [("hard", "hardest x %"), ("easy", "easiest x %"), ("hard_control", "hardest, control"), ("easy_control", "easiest, control")].map { key, name in
                [name, fixed(v(key, "dispersion_ratio"), 3), fixed(v(key, "exceed_count"), 0), fixed(v(key, "expected_exceed"), 1), fixed(v(key, "max_count"), 0), fixed(v(key, "null_quantile_999"), 0)]
            }
            html += ReportBuilder.htmlTable(header, rows)
            md += "\n" + ReportBuilder.markdownTable(header, rows)
        }
        return ReportBuilder.Section(title: "Hardness: \(label)", html: html, markdown: md)
    }
}

enum CNCESection {
    static func make(_ obj: [String: Any], chart: (String, String) -> (String, String)) -> ReportBuilder.Section {
        let rows = (obj["rows"] as? [[String: Any]]) ?? []
        func num(_ r: [String: Any], _ k: String) -> Double { (r[k] as? NSNumber)?.doubleValue ?? .nan }
        var rhos: [Double] = [], estimators: [String] = []
        for r in rows {
            let rho = num(r, "rho"); if !rhos.contains(rho) { rhos.append(rho) }
            let e = (r["estimator"] as? String) ?? "?"; if !estimators.contains(e) { estimators.append(e) }
        }
        func cell(_ e: String, _ rho: Double, _ k: String) -> Double {
            rows.first { ($0["estimator"] as? String) == e && num($0, "rho") == rho }.map { num($0, k) } ?? .nan
        }
        let categories = rhos.map { "ρ = \(fixed($0, 2))" }
        let bias = estimators.map { e in (e, rhos.map { cell(e, $0, "bias") }) }
        let sd = estimators.map { e in rhos.map { cell(e, $0, "variance").squareRoot() } }
        let variance = estimators.map { e in (e, rhos.map { cell(e, $0, "variance") }) }
        let c1 = chart("cnce_bias", Charts.bars(title: "CNCE study: bias of the MI estimate (± 1 sd over repetitions)", yLabel: "estimate − true MI (nats)", categories: categories, series: bias, errors: sd))
        let c2 = chart("cnce_variance", Charts.bars(title: "CNCE study: variance of the MI estimate", yLabel: "variance (nats²)", categories: categories, series: variance))
        let header = ["ρ", "true MI", "estimator", "mean", "bias", "variance", "looser than NCE", "lower variance"]
        func yn(_ v: Any?) -> String { (v as? Bool).map { $0 ? "yes" : "no" } ?? "—" }
        let table = rows.map { r in
            [fixed(num(r, "rho"), 2), fixed(num(r, "trueMI"), 4), (r["estimator"] as? String) ?? "?", fixed(num(r, "mean"), 4),
             fixed(num(r, "bias"), 4), fixed(num(r, "variance"), 6), yn(r["looserThanNCE"]), yn(r["lowerVarianceThanNCE"])]
        }
        let cnceRows = rows.filter { $0["looserThanNCE"] is Bool }
        let looser = cnceRows.filter { ($0["looserThanNCE"] as? Bool) == true }.count
        let lower = cnceRows.filter { ($0["lowerVarianceThanNCE"] as? Bool) == true }.count
        let verdict = "CNCE looser than NCE in \(looser)/\(cnceRows.count) cells and lower variance in \(lower)/\(cnceRows.count): "
            + ((looser == cnceRows.count && lower == cnceRows.count) ? "the measurements agree with the paper." : "the measurements do not fully agree with the paper.")
        return ReportBuilder.Section(title: "CNCE estimator study",
                                     html: c1.0 + c2.0 + ReportBuilder.htmlTable(header, table) + "<p>\(escapeXML(verdict))</p>\n",
                                     markdown: c1.1 + c2.1 + "\n" + ReportBuilder.markdownTable(header, table) + "\n" + verdict + "\n")
    }
}
