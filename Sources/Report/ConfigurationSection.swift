import Foundation

/// The configuration panel (HTML only): for each run folder, what made it — its run.json (the make
/// variables, the commits, the compiler, the CPU and BLAS kernel, the threads) and every stage's
/// arguments (params/*.args), so a reader can rerun it.
enum ConfigurationSection {
    static func make(_ runs: [RunData]) -> ReportBuilder.Section? {
        var html = ""
        for r in runs {
            guard let folder = r.folder else { continue }
            var rows: [[String]] = []
            if let data = FileManager.default.contents(atPath: folder + "/run.json"),
               let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
                rows += flatten(obj, prefix: "")
            }
            let params = folder + "/params"
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: params)) ?? []).filter({ $0.hasSuffix(".args") }).sorted() {
                if let text = try? String(contentsOfFile: params + "/" + file, encoding: .utf8) {
                    rows.append(["params/" + file, text.trimmingCharacters(in: .whitespacesAndNewlines)])
                }
            }
            guard !rows.isEmpty else { continue }
            html += "<details><summary>\(escapeXML(r.name)) (\(rows.count) entries)</summary>\n"
                + ReportBuilder.htmlTable(["setting", "value"], rows) + "</details>\n"
        }
        guard !html.isEmpty else { return nil }
        return ReportBuilder.Section(title: "Configuration", html: html, markdown: "", inMarkdown: false)
    }

    /// Nested JSON as (dotted key, value) rows in key order; arrays of scalars joined by spaces.
    static func flatten(_ value: Any, prefix: String) -> [[String]] {
        if let dict = value as? [String: Any] {
            return dict.keys.sorted().flatMap { flatten(dict[$0]!, prefix: prefix.isEmpty ? $0 : prefix + "." + $0) }
        }
        if let array = value as? [Any] {
            if array.allSatisfy({ !($0 is [String: Any]) && !($0 is [Any]) }) { return [[prefix, array.map(scalar).joined(separator: " ")]] }
            return array.enumerated().flatMap { flatten($0.element, prefix: "\(prefix)[\($0.offset)]") }
        }
        return [[prefix, scalar(value)]]
    }

    static func scalar(_ v: Any) -> String {
        if v is NSNull { return "null" }
        if let n = v as? NSNumber, String(cString: n.objCType) == "c" { return n.boolValue ? "true" : "false" }   // a JSON boolean
        return "\(v)"
    }
}
