import Foundation
import Report
import StageKit
import TensorFiles
import TestSupport
import XCTest

final class ReportTests: XCTestCase {
    /// Builds run folders like pretrain / probe / knn / hardness leave them (one with columns and files
    /// missing), renders the report twice (identical bytes), checks every SVG parses and that headless
    /// Chromium draws a non-blank page.
    func testReportRendersAndIsDeterministic() throws {
        let dir = try TestSupport.scratchDir("report")
        let runA = dir.appendingPathComponent("moco-ring"), runB = dir.appendingPathComponent("moco-uniform")
        for r in [runA, runB] { try FileManager.default.createDirectory(at: r.appendingPathComponent("results"), withIntermediateDirectories: true) }
        var csv = "epoch,step,lr,loss,top1,ring_outer,ring_inner,negatives,sim_p50,sim_p90,sim_p99,sim_p999,sel_sim_mean,same_class_frac,align,uniform,erank,knn_top1\n"
        for e in 0..<10 {
            let outer = max(0.1, 1 - 0.18 * Double(e))
            // the last epoch collapses: median similarity 0.66 (threshold 0.5), effective rank 4 (threshold 8)
            let (p50, erank) = e == 9 ? (0.66, 4.0) : (0.1, 30.0)
            csv += "\(e),\(e * 100),0.06,\(8 - 0.4 * Double(e)),\(0.1 * Double(e)),\(outer),0.1,\(Int(outer * 4096)),\(p50),0.3,0.5,0.7,0.4,0.2,0.5,-2.5,\(erank),\(e % 2 == 0 ? String(60 + 2 * e) : "")\n"
        }
        try csv.write(to: runA.appendingPathComponent("log.csv"), atomically: true, encoding: .utf8)
        try "epoch,loss\n0,7.9\n1,7.5\n2,7.2\n".write(to: runB.appendingPathComponent("log.csv"), atomically: true, encoding: .utf8)
        try #"{"stage": "probe", "top1": 0.874, "top5": 0.991}"#.write(to: runA.appendingPathComponent("results/probe.json"), atomically: true, encoding: .utf8)
        try #"{"stage": "knn", "metrics": {"top1": 85.2, "top5": 98.0}}"#.write(to: runA.appendingPathComponent("results/knn.json"), atomically: true, encoding: .utf8)
        try #"{"stage": "knn", "top1": 0.81}"#.write(to: runB.appendingPathComponent("results/knn.json"), atomically: true, encoding: .utf8)
        let raw = dir.appendingPathComponent("raw-probe.json")
        try #"{"stage": "probe", "top1": 0.84, "top5": 0.99}"#.write(to: raw, atomically: true, encoding: .utf8)

        // a real hardness summary and CNCE study from the hardness binary
        let feats = dir.appendingPathComponent("f.safetensors.zst").path
        var rng = RNG(seed: 1, stream: [1])
        let n = 400, d = 16
        var v = (0..<(n * d)).map { _ in Float(rng.normal()) }
        let labels = (0..<n).map { Int64($0 % 10) }
        for i in 0..<n { v[i * d + Int(labels[i])] += 3; let s = (0..<d).reduce(Float(0)) { $0 + v[i * d + $1] * v[i * d + $1] }.squareRoot(); for j in 0..<d { v[i * d + j] /= s } }
        var w = TensorFileWriter(metadata: ["stage": "test"])
        w.add("projection", v, shape: [n, d]); w.add("labels", labels, shape: [n]); w.add("index", (0..<Int64(n)).map { $0 }, shape: [n])
        try w.write(to: feats)
        let h = try TestSupport.runStage("hardness", ["--queries", feats, "--candidates", feats, "--exclude-self", "--hierarchy",
                                                      TestSupport.repoRoot.appendingPathComponent("resources/hierarchy/fashion-mnist.json").path,
                                                      "--out", runA.appendingPathComponent("results/hardness.safetensors.zst").path])
        XCTAssertEqual(h.status, 0, h.stderr)
        let cnceDir = dir.appendingPathComponent("cnce").path
        let c = try TestSupport.runStage("hardness", ["cnce-study", "--out", cnceDir, "--repetitions", "10", "--batch", "16", "--pool", "128", "--rhos", "0.5,0.9"])
        XCTAssertEqual(c.status, 0, c.stderr)

        let args = ["--run", runA.path, "--run", runB.path, "--baseline", "raw pixels=\(raw.path)", "--cnce", cnceDir + "/cnce.json"]
        let out1 = dir.appendingPathComponent("report1").path, out2 = dir.appendingPathComponent("report2").path
        for o in [out1, out2] {
            let r = try TestSupport.runStage("report", args + ["--out", o])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let files = TestSupport.listing(URL(fileURLWithPath: out1 + "/charts"))
        XCTAssertFalse(files.contains("loss.svg") || files.contains("knn.svg"), "loss and kNN appear once, in loss_knn: \(files)")
        for name in ["loss_knn.svg", "contrastive_top1.svg", "selected_negatives.svg", "selected_same_class.svg", "ring_bounds.svg", "h0_similarity_histogram.svg", "h0_same_class.svg", "h0_lca_depth.svg", "h0_consistency.svg", "cnce_bias.svg", "cnce_variance.svg"] {
            XCTAssertTrue(files.contains(name), "missing chart \(name): \(files)")
        }
        for f in ["index.html", "summary.md"] + files.map({ "charts/" + $0 }) {
            XCTAssertEqual(FileManager.default.contents(atPath: out1 + "/" + f), FileManager.default.contents(atPath: out2 + "/" + f), "\(f) differs between identical runs")
        }
        let md = try String(contentsOfFile: out1 + "/summary.md", encoding: .utf8)
        XCTAssertTrue(md.contains("| moco-ring | 85.20 | 85.20 | 98.00 | 87.40 | 99.10 | flagged (1 row) |"), md)
        XCTAssertTrue(md.contains("moco-ring: collapse monitor FLAGGED — epoch 9 step 900: median query–negative similarity 0.66 > 0.5; effective rank 4.0 < 8.0"), md)
        XCTAssertTrue(md.contains("| moco-uniform | 81.00 | 81.00 |"), md)
        XCTAssertTrue(files.contains("collapse_alignment_uniformity.svg") && files.contains("collapse_effective_rank.svg"), "\(files)")
        XCTAssertTrue(md.contains("| moco-ring | 85.20 | 85.20 | 98.00 | 87.40 | 99.10 |"), md)
        XCTAssertTrue(md.contains("| raw pixels | — | — | — | 84.00 | 99.00 | — |"), md)

        // every SVG (files and inline) parses as XML
        let svgCheck = try TestSupport.python("ref_analysis_report_check.py", [out1, "-"])
        XCTAssertEqual(svgCheck.status, 0, svgCheck.stderr)
        let svgResult = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(svgCheck.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((svgResult["errors"] as? [String]) ?? ["?"], [])
        XCTAssertEqual((svgResult["parsed"] as! NSNumber).intValue, 2 * files.count)

        // render in headless Chromium
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("chromium is not installed (apt-get install -y chromium); SVG/HTML rendering not checked")
        }
        guard TestSupport.pythonHas(["numpy", "PIL"]) else { throw XCTSkip("numpy/pillow missing for the screenshot check") }
        let shot = dir.appendingPathComponent("shot.png").path
        let render = try TestSupport.run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                                    "--window-size=1200,2400", "--screenshot=\(shot)", "file://\(out1)/index.html"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: shot), "no screenshot: \(render.stderr.suffix(500))")
        let check = try TestSupport.python("ref_analysis_report_check.py", [out1, shot])
        XCTAssertEqual(check.status, 0, check.stderr)
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan((result["pixel_std"] as! NSNumber).doubleValue, 10)
        XCTAssertGreaterThan((result["non_white_fraction"] as! NSNumber).doubleValue, 0.01)
    }

    /// `make results`: one row per run with the settings from params/pretrain.args, the results and the
    /// hardness headline numbers; experiments run under several seeds get a mean ± sd row.
    func testRunsComparedTable() throws {
        let dir = try TestSupport.scratchDir("report-compare")
        func run(_ name: String, args: String, knn: Double, probe: Double, hardness: String? = nil) throws -> String {
            let r = dir.appendingPathComponent(name)
            for sub in ["results", "params", "hardness"] { try FileManager.default.createDirectory(at: r.appendingPathComponent(sub), withIntermediateDirectories: true) }
            try (args + "\n").write(to: r.appendingPathComponent("params/pretrain.args"), atomically: true, encoding: .utf8)
            try "epoch,step,loss\n1,234,6.1\n2,468,5.9\n".write(to: r.appendingPathComponent("log.csv"), atomically: true, encoding: .utf8)
            try #"{"stage": "knn", "top1": \#(knn)}"#.write(to: r.appendingPathComponent("results/knn.json"), atomically: true, encoding: .utf8)
            try #"{"stage": "probe", "top1": \#(probe)}"#.write(to: r.appendingPathComponent("results/probe.json"), atomically: true, encoding: .utf8)
            if let hardness { try hardness.write(to: r.appendingPathComponent("hardness/summary.json"), atomically: true, encoding: .utf8) }
            return r.path
        }
        let coarse = (0..<100).map { String(format: "%.4f", 0.5 - 0.005 * Double($0)) }.joined(separator: ",")
        let hardness = #"{"kind": "hardness", "fine_same_class": [0.61, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], "coarse_same_class": [\#(coarse)], "#
            + #""coarse_same_class_shuffled": [\#(Array(repeating: "0.1", count: 100).joined(separator: ","))], "#
            + #""consistency": {"hard": {"dispersion_ratio": 212.4}, "easy": {"dispersion_ratio": 1318}}}"#
        let common = "--objective moco --width 16 --epochs 2 --ring-outer 0.1 --ring-inner 0.1 --anneal-epochs 1"
        let runs = [try run("moco-ring", args: "--seed 0 --sampler ring \(common)", knn: 0.70, probe: 0.80, hardness: hardness),
                    try run("moco-ring-seed1", args: "--seed 1 --sampler ring \(common)", knn: 0.72, probe: 0.81),
                    try run("band-next5", args: "--seed 0 --sampler band \(common) --band-lo 5 --band-hi 10", knn: 0.65, probe: 0.78),
                    try run("ring-constant", args: "--seed 0 --sampler ring \(common) --no-anneal", knn: 0.6, probe: 0.7)]
        let out = dir.appendingPathComponent("report").path
        let r = try TestSupport.runStage("report", runs.flatMap { ["--run", $0] } + ["--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let md = try String(contentsOfFile: out + "/summary.md", encoding: .utf8)
        XCTAssertTrue(md.contains("## Runs compared"), md)
        XCTAssertTrue(md.contains("| moco-ring | moco | ring ranks 1–10 %, annealed over 1 ep | 2 | 468 | 0 | 70.00 | 70.00 | 80.00 | 0.610 | 0.500 | 0.255 | 0.005 | 0.100 | 212 | 1318 |"), md)
        XCTAssertTrue(md.contains("| band-next5 | moco | band [5, 10) % | 2 | 468 | 0 | 65.00 | 65.00 | 78.00 | — |"), md)
        XCTAssertTrue(md.contains("| ring-constant | moco | ring ranks 1–10 %, constant |"), md)
        XCTAssertTrue(md.contains("| moco-ring | 0, 1 | 71.00 ± 1.41 (n = 2) | 71.00 ± 1.41 (n = 2) | 80.50 ± 0.71 (n = 2) |"), md)
        XCTAssertFalse(md.contains("| band-next5 | 0 |"), "a single-seed experiment gets no mean row: \(md)")
    }

    func testMissingRunFolderFails() throws {
        let dir = try TestSupport.scratchDir("report-bad")
        let r = try TestSupport.runStage("report", ["--run", dir.path + "/nope", "--out", dir.path + "/out"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("nope"), r.stderr)
        XCTAssertEqual(TestSupport.listing(dir), [])
    }

    func testNiceTicksAndFixedFormatting() {
        let t = niceTicks(0, 1)
        XCTAssertEqual(t.ticks.count, 6)
        XCTAssertEqual(t.ticks.first, 0)
        XCTAssertEqual(t.ticks.last!, 1, accuracy: 1e-12)
        XCTAssertEqual(t.digits, 1)
        XCTAssertEqual(niceTicks(0, 37).ticks, [0, 10, 20, 30])
        XCTAssertEqual(fixed(-0.0001, 2), "0.00")
        XCTAssertEqual(escapeXML("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;")
    }
}
