/// The frame every chart shares: plot area, linear scales, axes with ticks, title, axis labels and a
/// legend on the right. Charts (LineChart, HistogramChart, BarChart) draw inside it.
public struct ChartFrame {
    public var svg: SVG
    public let left = 64.0, right = 170.0, top = 34.0, bottom = 48.0
    public let xRange: (Double, Double)
    public let yRange: (Double, Double)
    public var plotWidth: Double { svg.width - left - right }
    public var plotHeight: Double { svg.height - top - bottom }

    public init(width: Double = 680, height: Double = 340, x: (Double, Double), y: (Double, Double)) {
        svg = SVG(width: width, height: height)
        xRange = x.1 > x.0 ? x : (x.0 - 0.5, x.0 + 0.5)
        yRange = y.1 > y.0 ? y : (y.0 - 0.5, y.0 + 0.5)
    }

    public func px(_ x: Double) -> Double { left + (x - xRange.0) / (xRange.1 - xRange.0) * plotWidth }
    public func py(_ y: Double) -> Double { top + plotHeight - (y - yRange.0) / (yRange.1 - yRange.0) * plotHeight }

    /// Axes, grid, ticks and labels. `xTicks` overrides the numeric x ticks (position, label).
    public mutating func drawAxes(title: String, xLabel: String, yLabel: String, xTicks: [(Double, String)]? = nil) {
        svg.text(svg.width / 2 - (right - left) / 2, 20, title, size: 14, anchor: .middle, bold: true)
        let (yt, yd) = niceTicks(yRange.0, yRange.1)
        for t in yt {
            svg.line(left, py(t), left + plotWidth, py(t), stroke: "#e4e4e4")
            svg.line(left - 4, py(t), left, py(t))
            svg.text(left - 7, py(t) + 4, fixed(t, yd), size: 10, anchor: .end)
        }
        let xt: [(Double, String)]
        if let xTicks { xt = xTicks } else {
            let (ticks, xd) = niceTicks(xRange.0, xRange.1)
            xt = ticks.map { ($0, fixed($0, xd)) }
        }
        for (t, label) in xt {
            svg.line(px(t), top + plotHeight, px(t), top + plotHeight + 4)
            svg.text(px(t), top + plotHeight + 16, label, size: 10, anchor: .middle)
        }
        svg.line(left, top + plotHeight, left + plotWidth, top + plotHeight)
        svg.line(left, top, left, top + plotHeight)
        svg.text(left + plotWidth / 2, svg.height - 10, xLabel, size: 11, anchor: .middle)
        svg.text(16, top + plotHeight / 2, yLabel, size: 11, anchor: .middle, rotate: -90)
    }

    /// A second y axis on the right for `range` (ticks and a rotated label); returns the mapping.
    public mutating func drawRightAxis(range: (Double, Double), label: String) -> (Double) -> Double {
        let r = range.1 > range.0 ? range : (range.0 - 0.5, range.0 + 0.5)
        let x = left + plotWidth, top = self.top, h = plotHeight
        let map = { (v: Double) in top + h - (v - r.0) / (r.1 - r.0) * h }
        svg.line(x, top, x, top + h)
        let (ticks, digits) = niceTicks(r.0, r.1)
        for t in ticks {
            svg.line(x, map(t), x + 4, map(t))
            svg.text(x + 7, map(t) + 4, fixed(t, digits), size: 10)
        }
        svg.text(x + 44, top + h / 2, label, size: 11, anchor: .middle, rotate: 90)
        return map
    }

    /// Legend entries (name, colour, dashed) stacked in the right margin.
    public mutating func drawLegend(_ entries: [(String, String, Bool)], offset: Double = 14) {
        let x = left + plotWidth + offset
        for (i, e) in entries.enumerated() {
            let y = top + 8 + Double(i) * 17
            svg.line(x, y, x + 22, y, stroke: e.1, width: 2.5, dash: e.2 ? "5,3" : nil)
            svg.text(x + 28, y + 4, e.0.count > 22 ? String(e.0.prefix(21)) + "…" : e.0, size: 10)
        }
    }
}

/// Pads a data range by 5 % on each side (and handles empty or constant data).
public func paddedRange(_ values: [Double], includeZero: Bool = false) -> (Double, Double) {
    var v = values.filter { $0.isFinite }
    if includeZero { v.append(0) }
    guard let lo = v.min(), let hi = v.max() else { return (0, 1) }
    if hi == lo { return (lo - 0.5, hi + 0.5) }
    let pad = (hi - lo) * 0.05
    return (includeZero && lo == 0 ? 0 : lo - pad, hi + pad)
}
