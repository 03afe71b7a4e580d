/// Line charts, histograms with cut-off markers, and grouped bar charts with optional error bars.
/// Each returns a complete SVG document. Adding a chart kind: a new function here on `ChartFrame`.
public struct LineSeries {
    public var name: String
    public var points: [(Double, Double)]    // NaN y values break the line
    public var dashed = false
    public var color: String
    public init(_ name: String, _ points: [(Double, Double)], color: String, dashed: Bool = false) {
        self.name = name; self.points = points; self.color = color; self.dashed = dashed
    }
}

public enum Charts {
    public static func line(title: String, xLabel: String, yLabel: String, series: [LineSeries],
                            yRange: (Double, Double)? = nil, includeZero: Bool = false) -> String {
        let xs = series.flatMap { $0.points.map(\.0) }, ys = series.flatMap { $0.points.map(\.1) }
        var frame = ChartFrame(x: paddedRange(xs), y: yRange ?? paddedRange(ys, includeZero: includeZero))
        frame.drawAxes(title: title, xLabel: xLabel, yLabel: yLabel)
        for s in series {
            var run: [(Double, Double)] = []
            for p in s.points {
                if p.0.isFinite && p.1.isFinite { run.append((frame.px(p.0), frame.py(p.1))) }
                else { frame.svg.polyline(run, stroke: s.color, dash: s.dashed ? "5,3" : nil); run = [] }
            }
            frame.svg.polyline(run, stroke: s.color, dash: s.dashed ? "5,3" : nil)
        }
        frame.drawLegend(series.map { ($0.name, $0.color, $0.dashed) })
        if series.isEmpty { frame.svg.text(frame.px((frame.xRange.0 + frame.xRange.1) / 2), frame.py((frame.yRange.0 + frame.yRange.1) / 2), "no data", anchor: .middle) }
        return frame.svg.document
    }

    /// Two quantities over the same x: `left` series against the left axis (solid), `right` series against
    /// a right axis (dashed), e.g. loss and kNN accuracy per epoch for every run.
    public static func dualLine(title: String, xLabel: String, leftLabel: String, rightLabel: String,
                                left: [LineSeries], right: [LineSeries]) -> String {
        let all = left + right
        var frame = ChartFrame(width: 740, x: paddedRange(all.flatMap { $0.points.map(\.0) }),
                               y: paddedRange(left.flatMap { $0.points.map(\.1) }))
        frame.drawAxes(title: title, xLabel: xLabel, yLabel: leftLabel)
        let rightY = frame.drawRightAxis(range: paddedRange(right.flatMap { $0.points.map(\.1) }), label: rightLabel)
        for (s, isRight) in left.map({ ($0, false) }) + right.map({ ($0, true) }) {
            let pts = s.points.filter { $0.0.isFinite && $0.1.isFinite }.map { (frame.px($0.0), isRight ? rightY($0.1) : frame.py($0.1)) }
            frame.svg.polyline(pts, stroke: s.color, dash: isRight ? "5,3" : nil)
        }
        frame.drawLegend(left.map { ($0.name, $0.color, false) } + right.map { ($0.name, $0.color, true) }, offset: 60)
        return frame.svg.document
    }

    /// Bars for `counts` over `edges`; vertical dashed markers at each (x, label).
    public static func histogram(title: String, xLabel: String, edges: [Double], counts: [Double],
                                 markers: [(Double, String)], color: String = SVG.color(0)) -> String {
        // show only the occupied span so narrow similarity distributions stay readable
        let occupied = counts.indices.filter { counts[$0] > 0 }
        let lo = occupied.first.map { edges[$0] } ?? (edges.first ?? 0)
        let hi = occupied.last.map { edges[$0 + 1] } ?? (edges.last ?? 1)
        let xs = [lo, hi] + markers.map(\.0)
        var frame = ChartFrame(x: (xs.min()!, xs.max()!), y: (0, (counts.max() ?? 1) * 1.08 + 1e-12))
        frame.drawAxes(title: title, xLabel: xLabel, yLabel: "count")
        for i in counts.indices where counts[i] > 0 {
            let x0 = frame.px(edges[i]), x1 = frame.px(edges[i + 1])
            frame.svg.rect(x0, frame.py(counts[i]), x1 - x0, frame.py(0) - frame.py(counts[i]), fill: color)
        }
        var legend: [(String, String, Bool)] = [("similarity", color, false)]
        for (j, m) in markers.enumerated() {
            let c = SVG.color(j + 1)
            frame.svg.line(frame.px(m.0), frame.top, frame.px(m.0), frame.py(0), stroke: c, width: 1.5, dash: "5,3")
            legend.append((m.1, c, true))
        }
        frame.drawLegend(legend)
        return frame.svg.document
    }

    /// Grouped bars: one group per category, one bar per series; `errors` (same shape) draws ± whiskers.
    public static func bars(title: String, yLabel: String, categories: [String], series: [(String, [Double])],
                            errors: [[Double]]? = nil, reference: (Double, String)? = nil) -> String {
        var ys = series.flatMap(\.1)
        if let errors { for (s, e) in zip(series, errors) { ys += zip(s.1, e).flatMap { [$0 + $1, $0 - $1] } } }
        if let reference { ys.append(reference.0) }
        var frame = ChartFrame(x: (0, Double(max(categories.count, 1))), y: paddedRange(ys, includeZero: true))
        frame.drawAxes(title: title, xLabel: "", yLabel: yLabel,
                       xTicks: categories.enumerated().map { (Double($0.offset) + 0.5, $0.element) })
        let groupWidth = 0.8, barWidth = groupWidth / Double(max(series.count, 1))
        for (si, s) in series.enumerated() {
            for (ci, v) in s.1.enumerated() where v.isFinite {
                let x0 = Double(ci) + 0.1 + Double(si) * barWidth
                let yTop = frame.py(max(v, 0)), yBottom = frame.py(min(v, 0))
                frame.svg.rect(frame.px(x0), yTop, frame.px(x0 + barWidth) - frame.px(x0) - 1, yBottom - yTop, fill: SVG.color(si))
                if let e = errors?[si][ci], e.isFinite, e > 0 {
                    let xm = frame.px(x0 + barWidth / 2)
                    frame.svg.line(xm, frame.py(v - e), xm, frame.py(v + e), stroke: "#000")
                    frame.svg.line(xm - 3, frame.py(v + e), xm + 3, frame.py(v + e), stroke: "#000")
                    frame.svg.line(xm - 3, frame.py(v - e), xm + 3, frame.py(v - e), stroke: "#000")
                }
            }
        }
        if frame.yRange.0 < 0 { frame.svg.line(frame.left, frame.py(0), frame.left + frame.plotWidth, frame.py(0), stroke: "#555") }
        var legend = series.enumerated().map { ($0.element.0, SVG.color($0.offset), false) }
        if let reference {
            frame.svg.line(frame.left, frame.py(reference.0), frame.left + frame.plotWidth, frame.py(reference.0), stroke: "#000", width: 1.5, dash: "5,3")
            legend.append((reference.1, "#000", true))
        }
        frame.drawLegend(legend)
        return frame.svg.document
    }
}
