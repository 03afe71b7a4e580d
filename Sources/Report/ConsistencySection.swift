import Foundation
import TensorFiles

/// Cai et al.'s consistency picture: how many queries count each candidate among their hardest x %,
/// as a histogram over the candidates, against the Binomial null (hardness drawn at random: every
/// candidate Binomial(n̄, p̄), n̄ the queries it was eligible for, p̄ the mean hard fraction) and
/// against the shuffled control the analysis computed. A long right tail = consistently hard negatives.
enum ConsistencySection {
    static func make(_ runs: [RunData], chart: (String, String) -> (String, String)) throws -> ReportBuilder.Section? {
        var html = "", md = ""
        for (i, r) in runs.enumerated() {
            guard let folder = r.folder else { continue }
            let path = folder + "/hardness/stats.safetensors.zst"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let file = try TensorFile.read(path)
            guard file.has("hard_count"), file.has("eligible_count") else { continue }
            let hard = try file.integers("hard_count"), eligible = try file.integers("eligible_count", shape: [hard.count])
            let control = file.has("hard_count_control") ? try file.integers("hard_count_control", shape: [hard.count]) : nil
            guard !hard.isEmpty else { continue }
            let trials = Int((Double(eligible.reduce(0, +)) / Double(eligible.count)).rounded())
            let p = trials > 0 ? Double(hard.reduce(0, +)) / Double(hard.count) / Double(trials) : 0
            let top = Int(max(hard.max() ?? 0, control?.max() ?? 0, Int64(trials > 0 ? upper(n: trials, p: p) : 0)))
            let width = max(1, (top + 1 + 59) / 60)               // at most 60 bins of `width` counts
            let bins = (top + 1 + width - 1) / width
            func histogram(_ counts: [Int64]) -> [(Double, Double)] {
                var h = [Double](repeating: 0, count: bins)
                for c in counts { h[min(bins - 1, Int(c) / width)] += 1 }
                return h.enumerated().map { (Double($0.offset * width) + Double(width - 1) / 2, $0.element / Double(counts.count)) }
            }
            var null = [Double](repeating: 0, count: bins)
            if trials > 0 && p > 0 && p < 1 {
                let lgamma: (Double) -> Double = Foundation.lgamma
                let logP = log(p), logQ = log1p(-p), logN = lgamma(Double(trials) + 1)
                for k in 0...min(trials, top) {
                    null[k / width] += exp(logN - lgamma(Double(k) + 1) - lgamma(Double(trials - k) + 1) + Double(k) * logP + Double(trials - k) * logQ)
                }
            }
            var series = [LineSeries("observed", histogram(hard), color: SVG.color(0))]
            if let control { series.append(LineSeries("shuffled control", histogram(control), color: SVG.color(1), dashed: true)) }
            series.append(LineSeries(String(format: "Binomial(%d, %.4f) null", trials, p), null.enumerated().map { (Double($0.offset * width) + Double(width - 1) / 2, $0.element) },
                                     color: SVG.color(2), dashed: true))
            let c = chart("consistency_\(i)", Charts.line(title: "\(r.name): how often each candidate is among the hardest",
                                                          xLabel: "queries that rank it among their hardest", yLabel: "fraction of candidates",
                                                          series: series, includeZero: true))
            let limit = upper(n: trials, p: p), beyond = hard.filter { Int($0) > limit }.count
            let text = "\(r.name): \(beyond) of \(hard.count) candidates are among the hardest for more queries than the Binomial null "
                + "allows (mean + 6 sd = \(limit) of \(trials)); chance would put none there."
            html += c.0 + "<p>\(escapeXML(text))</p>\n"
            md += c.1 + "\n" + text + "\n"
        }
        guard !html.isEmpty else { return nil }
        return ReportBuilder.Section(title: "Consistency of hardness against the Binomial null", html: html, markdown: md)
    }

    /// A count well into the null's upper tail (mean + 6 sd), so the plotted range shows the null whole.
    static func upper(n: Int, p: Double) -> Int { min(n, Int((Double(n) * p + 6 * (Double(n) * p * (1 - p)).squareRoot()).rounded(.up))) }
}
