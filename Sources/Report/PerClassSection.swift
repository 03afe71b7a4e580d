/// Per-class top-1 (the tuned probe and kNN on the backbone) for every run whose result files carry
/// it: which classes a representation separates and which it confuses.
enum PerClassSection {
    static func make(_ runs: [RunData], classNames: [String]?) -> ReportBuilder.Section? {
        var columns: [(String, [Double])] = []
        for r in runs {
            if let v = r.result("probe", protocolName: "tuned")?.perClassTop1 { columns.append(("\(r.name) probe", v)) }
            if let v = r.result("knn", feature: "backbone")?.perClassTop1 { columns.append(("\(r.name) kNN", v)) }
        }
        guard let classes = columns.map(\.1.count).max(), classes > 0 else { return nil }
        let header = ["class"] + columns.map(\.0)
        let rows = (0..<classes).map { c -> [String] in
            let name = classNames.flatMap { c < $0.count ? $0[c] : nil } ?? "\(c)"
            return [name] + columns.map { c < $0.1.count && $0.1[c].isFinite ? fixed($0.1[c], 2) : "—" }
        }
        return ReportBuilder.Section(title: "Per-class top-1 (%)", html: ReportBuilder.htmlTable(header, rows),
                                     markdown: ReportBuilder.markdownTable(header, rows))
    }
}
