/// The report's "Training" section from the runs' log.csv: loss and kNN per epoch, loss and learning
/// rate per step (when the log has rows within epochs), the ring/band bounds, what the sampler selected
/// (negatives per query, their same-class fraction), the similarity percentiles and the collapse
/// monitor, with each run's verdict. Every chart appears once.
enum TrainingSection {
    typealias Chart = (String, String) -> (String, String)

    static func make(_ runs: [RunData], chart: Chart) -> ReportBuilder.Section? {
        let runs = runs.filter { !$0.columns.isEmpty }
        guard !runs.isEmpty else { return nil }
        var html = "", md = ""
        func add(_ c: (String, String)) { html += c.0; md += c.1 }
        /// One series per run (and per column of `columns`), per epoch or per logged step.
        func series(_ columns: [String], byStep: Bool, label: (RunData, String) -> String) -> [LineSeries] {
            runs.enumerated().flatMap { (i, r) in
                columns.enumerated().compactMap { (j, col) -> LineSeries? in
                    let pts = byStep ? r.perStep(col) : r.perEpoch(col)
                    return pts.isEmpty ? nil : LineSeries(label(r, col), pts, color: SVG.color(i * columns.count + j), dashed: j % 2 == 1)
                }
            }
        }

        let loss = series(["loss"], byStep: false) { r, _ in "\(r.name) loss" }
        let knn = runs.enumerated().compactMap { (i, r) -> LineSeries? in
            let pts = r.perEpoch("knn_top1"); return pts.isEmpty ? nil : LineSeries("\(r.name) kNN", pts, color: SVG.color(i), dashed: true)
        }
        if !loss.isEmpty || !knn.isEmpty {
            add(chart("loss_knn", Charts.dualLine(title: "Loss (solid, left) and kNN top-1 (dashed, right) per epoch", xLabel: "epoch",
                                                  leftLabel: "loss", rightLabel: "kNN top-1", left: loss, right: knn)))
        }
        let top1 = series(["top1"], byStep: false) { r, _ in r.name }
        if !top1.isEmpty { add(chart("contrastive_top1", Charts.line(title: "Contrastive top-1 per epoch", xLabel: "epoch", yLabel: "top-1", series: top1))) }
        if runs.contains(where: \.logsWithinEpochs) {
            add(chart("loss_per_step", Charts.line(title: "Training loss per logged step", xLabel: "step", yLabel: "loss",
                                                   series: series(["loss"], byStep: true) { r, _ in r.name })))
            add(chart("lr_per_step", Charts.line(title: "Learning rate per logged step", xLabel: "step", yLabel: "learning rate",
                                                 series: series(["lr"], byStep: true) { r, _ in r.name }, includeZero: true)))
        }
        let byStep = runs.contains(where: \.logsWithinEpochs), x = byStep ? "step" : "epoch"
        let bounds = series(["ring_outer", "ring_inner"], byStep: byStep) { r, c in "\(r.name) \(c == "ring_outer" ? "outer" : "inner")" }
        if !bounds.isEmpty {
            add(chart("ring_bounds", Charts.line(title: "Ring bounds over training (outer: fraction of K; inner: fraction of outer)", xLabel: x,
                                                 yLabel: "fraction", series: bounds, includeZero: true)))
        }
        let band = series(["band_lo", "band_hi"], byStep: byStep) { r, c in "\(r.name) \(c == "band_lo" ? "from" : "to")" }
        if !band.isEmpty {
            add(chart("band_bounds", Charts.line(title: "Band bounds over training (hardness percent of K)", xLabel: x, yLabel: "percent",
                                                 series: band, includeZero: true)))
        }
        let selected = series(["negatives"], byStep: byStep) { r, _ in r.name }
        if !selected.isEmpty {
            add(chart("selected_negatives", Charts.line(title: "Negatives each query's loss used", xLabel: x, yLabel: "negatives per query",
                                                        series: selected, includeZero: true)))
        }
        let sameClass = series(["same_class_frac"], byStep: byStep) { r, _ in r.name }
        if !sameClass.isEmpty {
            add(chart("selected_same_class", Charts.line(title: "Selected negatives that share the query's class", xLabel: x, yLabel: "fraction",
                                                         series: sameClass, includeZero: true)))
        }
        let sims = series(["sim_p50", "sim_p90", "sim_p99", "sim_p999"], byStep: byStep) { r, c in "\(r.name) \(c.dropFirst(4))" }
        if !sims.isEmpty {
            add(chart("similarity_percentiles", Charts.line(title: "Query–negative similarity percentiles (p50 above 0.5: collapsing)",
                                                            xLabel: x, yLabel: "similarity", series: sims)))
        }
        let monitor = series(["align", "uniform"], byStep: byStep) { r, c in "\(r.name) \(c == "align" ? "alignment" : "uniformity")" }
        if !monitor.isEmpty {
            add(chart("collapse_alignment_uniformity", Charts.line(title: "Collapse monitor: alignment (solid, 0 … 4) and uniformity (dashed, −4 spread … 0 collapsed)",
                                                                   xLabel: x, yLabel: "value", series: monitor, includeZero: true)))
        }
        let erank = series(["erank"], byStep: byStep) { r, _ in r.name }
        if !erank.isEmpty {
            add(chart("collapse_effective_rank", Charts.line(title: "Collapse monitor: effective rank of a batch's embeddings (1 … 128)",
                                                             xLabel: x, yLabel: "effective rank", series: erank, includeZero: true)))
        }
        for r in runs {
            guard let flags = r.collapseFlags else { continue }
            let text = flags.isEmpty ? "\(r.name): collapse monitor clean (no log row crosses a threshold)."
                : "\(r.name): collapse monitor FLAGGED — " + flags.joined(separator: " · ")
            html += "<p>\(escapeXML(text))</p>\n"; md += "\n" + text + "\n"
        }
        return ReportBuilder.Section(title: "Training", html: html, markdown: md)
    }
}
