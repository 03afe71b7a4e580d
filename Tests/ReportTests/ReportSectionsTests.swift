import Foundation
import Images
import Report
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// The researcher's sections of the report on a hand-made run folder whose answers the test computes
/// itself: the image grids (each cell's picture and order against a brute-force cosine ranking, the
/// same-class marks), the configuration panel, per-class accuracy, the consistency histogram against the
/// Binomial null, and the contents list.
final class ReportSectionsTests: XCTestCase {
    func testGridsConfigurationPerClassConsistencyAndContents() throws {
        let dir = try TestSupport.scratchDir("report-sections")
        let run = dir.appendingPathComponent("run")
        for sub in ["features", "results", "params", "hardness"] {
            try FileManager.default.createDirectory(at: run.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        var rng = RNG(seed: 7, stream: [3])
        func floats(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.normal()) } }
        let classes = ["ant", "bee", "cat", "dog"]
        // datasets: 40 training images whose index (source position) is not their row, 8 test images
        let nTrain = 40, nTest = 8, pixels = 1 * 4 * 5
        let trainPixels = (0..<(nTrain * pixels)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let testPixels = (0..<(nTest * pixels)).map { UInt8(truncatingIfNeeded: $0 &* 53 &+ 5) }
        let trainIndex = (0..<Int64(nTrain)).map { 1000 + 3 * $0 }, testIndex = (0..<Int64(nTest)).map { $0 }
        let trainLabels = (0..<Int64(nTrain)).map { $0 % 4 }, testLabels = (0..<Int64(nTest)).map { ($0 * 3) % 4 }
        func dataset(_ path: String, _ images: [UInt8], _ n: Int, _ labels: [Int64], _ index: [Int64]) throws {
            var w = TensorFileWriter(metadata: ["stage": "ingest", "classes": #"["ant","bee","cat","dog"]"#])
            w.add("images", images, shape: [n, 1, 4, 5]); w.add("labels", labels, shape: [n]); w.add("index", index, shape: [n])
            try w.write(to: path)
        }
        let trainData = dir.path + "/train.safetensors.zst", testData = dir.path + "/test.safetensors.zst"
        try dataset(trainData, trainPixels, nTrain, trainLabels, trainIndex)
        try dataset(testData, testPixels, nTest, testLabels, testIndex)
        // features and a MoCo-style queue of 12 training images
        let trainBackbone = floats(nTrain * 3), testBackbone = floats(nTest * 3), testProjection = floats(nTest * 5)
        func features(_ path: String, _ backbone: [Float], _ projection: [Float], _ n: Int, _ labels: [Int64], _ index: [Int64]) throws {
            var w = TensorFileWriter(metadata: ["stage": "embed"])
            w.add("backbone", backbone, shape: [n, 3]); w.add("projection", projection, shape: [n, 5])
            w.add("labels", labels, shape: [n]); w.add("index", index, shape: [n])
            try w.write(to: path)
        }
        try features(run.path + "/features/train.safetensors.zst", trainBackbone, floats(nTrain * 5), nTrain, trainLabels, trainIndex)
        try features(run.path + "/features/test.safetensors.zst", testBackbone, testProjection, nTest, testLabels, testIndex)
        let queueRows = (0..<12).map { ($0 * 7) % nTrain }, queue = floats(12 * 5)
        var q = TensorFileWriter(metadata: ["stage": "pretrain"])
        q.add("queue", queue, shape: [12, 5]); q.add("queue_label", queueRows.map { trainLabels[$0] }, shape: [12])
        q.add("queue_index", queueRows.map { trainIndex[$0] }, shape: [12])
        let checkpoint = dir.path + "/ckpt.safetensors.zst"
        try q.write(to: checkpoint)
        // results with per-class accuracy, run.json, params, hardness counts
        try #"{"stage": "probe", "parameters": {"protocol": "tuned"}, "results": {"top1": 62.5, "top5": 100, "per_class_top1": [50, 100, null, 25]}}"#
            .write(to: run.appendingPathComponent("results/probe.json"), atomically: true, encoding: .utf8)
        try #"{"make_variables": {"LR": "0.06", "EPOCHS": "3"}, "machine": {"blas_core": "Haswell", "threads": 2}, "checkout": {"dirty": false}}"#
            .write(to: run.appendingPathComponent("run.json"), atomically: true, encoding: .utf8)
        try "--seed 0 --lr 0.06\n".write(to: run.appendingPathComponent("params/pretrain.args"), atomically: true, encoding: .utf8)
        // a log with rows within epochs (--log-every): the first row, mid-epoch, sits above the collapse thresholds
        try "epoch,step,lr,loss,sim_p50,erank\n1,5,0.06,7.0,0.9,2\n1,10,0.05,6.5,0.2,40\n2,15,0.04,6.0,0.2,40\n2,20,0.03,5.5,0.2,40\n"
            .write(to: run.appendingPathComponent("log.csv"), atomically: true, encoding: .utf8)
        let hard: [Int64] = (0..<200).map { $0 < 5 ? 90 : Int64(5 + $0 % 7) }      // 5 candidates far in the tail
        var h = TensorFileWriter(metadata: ["stage": "hardness"])
        h.add("hard_count", hard, shape: [200]); h.add("eligible_count", [Int64](repeating: 100, count: 200), shape: [200])
        try h.write(to: run.appendingPathComponent("hardness/stats.safetensors.zst").path)

        let out = dir.path + "/report"
        let r = try TestSupport.runStage("report", ["--run", run.path, "--grid-candidates", checkpoint, "--grid-train-images", trainData,
                                                    "--grid-test-images", testData, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        let md = try String(contentsOfFile: out + "/summary.md", encoding: .utf8)

        // contents: every section linked once
        for title in ["Results (top-1 / top-5, %)", "Per-class top-1 (%)", "Consistency of hardness against the Binomial null",
                      "Queries, neighbours and hardest negatives", "Configuration"] {
            XCTAssertTrue(html.contains("\">\(title)</a></li>"), "contents lack \(title)")
        }
        XCTAssertFalse(md.contains("Queries, neighbours") || md.contains("## Configuration"), "HTML-only sections stay out of summary.md")

        // grids: 6 queries spread over the test split; each row = the query, its 8 nearest training images by
        // backbone cosine, then its 8 hardest queue entries by projection cosine (ties by row)
        func cosineRanking(_ query: ArraySlice<Float>, _ pool: [Float], dim: Int) -> [Int] {
            let qn = query.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let scores = (0..<(pool.count / dim)).map { i -> Double in
                let v = pool[(i * dim)..<((i + 1) * dim)]
                return zip(query, v).reduce(0) { $0 + Double($1.0) * Double($1.1) } / (qn * v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot())
            }
            return scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        }
        func uri(_ images: [UInt8], _ row: Int) -> String {
            images.withUnsafeBufferPointer { PNG.dataURI(PNG.encode(planar: UnsafeBufferPointer(rebasing: $0[(row * pixels)..<((row + 1) * pixels)]), channels: 1, height: 4, width: 5)) }
        }
        let rows = html.components(separatedBy: "<tr><td class=\"query\">").dropFirst()
        XCTAssertEqual(rows.count, 6)
        var sameExpected = 0
        for (k, rowHTML) in rows.enumerated() {
            let queryRow = k * nTest / 6
            let cells = rowHTML.components(separatedBy: "<img src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
            XCTAssertEqual(cells.count, 17)
            XCTAssertEqual(cells[0], uri(testPixels, queryRow), "query \(k)")
            let neighbours = cosineRanking(testBackbone[(queryRow * 3)..<((queryRow + 1) * 3)], trainBackbone, dim: 3).prefix(8)
            XCTAssertEqual(Array(cells[1...8]), neighbours.map { uri(trainPixels, $0) }, "neighbours of query \(k)")
            let hardest = cosineRanking(testProjection[(queryRow * 5)..<((queryRow + 1) * 5)], queue, dim: 5).prefix(8)
            XCTAssertEqual(Array(cells[9...16]), hardest.map { uri(trainPixels, queueRows[$0]) }, "hardest negatives of query \(k)")
            sameExpected += hardest.filter { trainLabels[queueRows[$0]] == testLabels[queryRow] }.count
        }
        XCTAssertEqual(html.components(separatedBy: "<td class=\"same\">").count - 1, sameExpected)
        XCTAssertTrue(html.contains("\(sameExpected) of the 48 hardest negatives shown share their query's class."), html)
        XCTAssertTrue(html.contains("alt=\"bee\""), "class names from the dataset's metadata")

        // configuration panel, per-class accuracy, consistency against the null
        XCTAssertTrue(html.contains("<td>make_variables.LR</td><td>0.06</td>"), html)
        XCTAssertTrue(html.contains("<td>checkout.dirty</td><td>false</td>"), html)
        XCTAssertTrue(html.contains("<td>params/pretrain.args</td><td>--seed 0 --lr 0.06</td>"), html)
        XCTAssertTrue(md.contains("| class | run probe |\n|---|---|\n| ant | 50.00 |\n| bee | 100.00 |\n| cat | — |\n| dog | 25.00 |"), "class names from the test dataset: \(md)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/charts/consistency_0.svg"))
        for chart in ["loss_per_step", "lr_per_step", "loss_knn"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/charts/\(chart).svg"), "missing chart \(chart)")
        }
        XCTAssertTrue(md.contains("run: collapse monitor clean"), "only each epoch's last row counts: \(md)")
        // the null: Binomial(100, p̄) with p̄ = mean count / 100; mean + 6 sd of it
        let p = Double(hard.reduce(0, +)) / 200 / 100
        let limit = min(100, Int((100 * p + 6 * (100 * p * (1 - p)).squareRoot()).rounded(.up)))
        XCTAssertTrue(md.contains("run: 5 of 200 candidates are among the hardest for more queries than the Binomial null allows (mean + 6 sd = \(limit) of 100)"), md)

        // every SVG parses, and headless Chromium draws the page (grids included)
        let svgCheck = try TestSupport.python("ref_analysis_report_check.py", [out, "-"])
        XCTAssertEqual(svgCheck.status, 0, svgCheck.stderr)
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
              TestSupport.pythonHas(["numpy", "PIL"]) else { throw XCTSkip("chromium or numpy/pillow missing: the page's rendering not checked") }
        let shot = dir.path + "/shot.png"
        let render = try TestSupport.run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                                    "--window-size=1200,3000", "--screenshot=\(shot)", "file://\(out)/index.html"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: shot), "no screenshot: \(render.stderr.suffix(500))")
        let check = try TestSupport.python("ref_analysis_report_check.py", [out, shot])
        XCTAssertEqual(check.status, 0, check.stderr)
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan((result["non_white_fraction"] as! NSNumber).doubleValue, 0.01)
    }

    func testGridFlagsGoTogether() throws {
        let dir = try TestSupport.scratchDir("report-grid-flags")
        let r = try TestSupport.runStage("report", ["--run", dir.path, "--grid-candidates", dir.path + "/x", "--out", dir.path + "/out"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("--grid-candidates, --grid-train-images and --grid-test-images go together"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/out"))
    }
}

/// `report --claims`: differences of seed means, the pooled seed-to-seed error and each relation's verdict,
/// computed here by hand on made-up rows.
final class ClaimsSectionTests: XCTestCase {
    func testClaimsTable() throws {
        let dir = try TestSupport.scratchDir("report-claims")
        func row(_ name: String, probe: Double, knn: Double) throws -> String {
            let r = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: r.appendingPathComponent("results"), withIntermediateDirectories: true)
            try #"{"stage": "probe", "parameters": {"protocol": "tuned"}, "results": {"top1": \#(probe)}}"#
                .write(to: r.appendingPathComponent("results/probe.json"), atomically: true, encoding: .utf8)
            try #"{"stage": "knn", "parameters": {"feature": "backbone"}, "results": {"top1": \#(knn)}}"#
                .write(to: r.appendingPathComponent("results/knn-backbone.json"), atomically: true, encoding: .utf8)
            return r.path
        }
        // ring: seeds 80, 82; uniform: 70, 72 (sample variance 2 each → pooled variance 2 on 2 degrees of freedom,
        // Student's t 97.5 % = 4.303)
        let runs = [try row("ring-seed0", probe: 80, knn: 70), try row("ring-seed1", probe: 82, knn: 72),
                    try row("uniform-seed0", probe: 70, knn: 71), try row("uniform-seed1", probe: 72, knn: 73),
                    try row("band-seed0", probe: 71.5, knn: 60)]
        let claims = dir.path + "/x.claims"
        try """
        # comment
        target: probe 80, knn 75
        Ring beats uniform   | ring    | >    | uniform | paper A
        Band matches uniform | band    | ~0.7 | uniform | paper B
        Band no worse        | band    | >=   | uniform | paper B
        Missing rows         | nothing | >    | uniform | paper C
        """.write(toFile: claims, atomically: true, encoding: .utf8)
        let out = dir.path + "/report"
        let r = try TestSupport.runStage("report", runs.flatMap { ["--run", $0] } + ["--claims", claims, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let md = try String(contentsOfFile: out + "/summary.md", encoding: .utf8)
        // ring − uniform: probe +10 ± √(2·(1/2 + 1/2)) = 1.41, beyond 4.303 × 1.41 = 6.09 → supported; kNN −1 → within noise
        XCTAssertTrue(md.contains("| Ring beats uniform | ring (2) > uniform (2) | +10.00 ± 1.41 | supported | -1.00 ± 1.41 | within noise | paper A |"), md)
        // band (1 seed) − uniform: probe +0.5 ± √(2·(1 + 1/2)) = 1.73 (t·se 7.45): not shown within ±0.7 → within noise;
        // kNN −12: 12 − 7.45 > 0.7 → contradicted
        XCTAssertTrue(md.contains("| Band matches uniform | band (1) ≈ (±0.7) uniform (2) | +0.50 ± 1.73 | within noise | -12.00 ± 1.73 | contradicted | paper B |"), md)
        XCTAssertTrue(md.contains("| Band no worse | band (1) ≥ uniform (2) | +0.50 ± 1.73 | not contradicted | -12.00 ± 1.73 | contradicted | paper B |"), md)
        XCTAssertTrue(md.contains("| Missing rows | nothing (0) > uniform (2) | — | waiting for rows | — | waiting for rows | paper C |"), md)
        // what would change it: a settled verdict only another scale; within noise, n = 2·(2·sd/|Δ|)² = 2·(2·1.41/1)² → 16 seeds
        XCTAssertTrue(md.contains("| paper A | probe: only another scale (the papers' epochs and width); kNN: ≈ 16 seeds per row |"), md)
        XCTAssertTrue(md.contains("| paper C | its rows |"), md)
        XCTAssertTrue(md.contains("probe: sd 1.41 points, 2 degrees of freedom"), md)
        XCTAssertTrue(md.contains("Best probe: ring 81.00 % (2 seeds) against the target of ≥ 80 % — reached. "), md)
        XCTAssertTrue(md.contains("Best kNN: uniform 72.00 % (2 seeds) against the target of ≥ 75 % — 3.00 points short. "), md)

        try "Bad | ring | >> | uniform | x\n".write(toFile: claims, atomically: true, encoding: .utf8)
        let bad = try TestSupport.runStage("report", ["--run", runs[0], "--claims", claims, "--out", dir.path + "/bad"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("\(claims): line 1: relation '>>' is not >, >= or ~M"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/bad"))
    }
}
