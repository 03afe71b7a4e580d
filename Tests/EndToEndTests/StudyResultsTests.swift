import Foundation
import TestSupport
import XCTest

/// `make results STUDY=…` rebuilds a study's report and RESULTS.md's block from the committed small
/// files alone, byte for byte: regenerated into a scratch folder, both must equal what is committed.
final class StudyResultsTests: XCTestCase {
    func testCommittedStudiesRegenerateByteForByte() throws {
        let root = TestSupport.repoRoot
        let studies = ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("studies").path)) ?? [])
            .filter { $0.hasSuffix(".rows") }.map { String($0.dropLast(".rows".count)) }
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("results/\($0)/report/summary.md").path) }
        try XCTSkipIf(studies.isEmpty, "no study has committed results yet")
        for study in studies {
            let dir = try TestSupport.scratchDir("study-results")
            let results = dir.appendingPathComponent("RESULTS.md")
            try FileManager.default.copyItem(at: root.appendingPathComponent("RESULTS.md"), to: results)
            let r = try TestSupport.run("/usr/bin/env", ["make", "--no-print-directory", "results", "STUDY=\(study)",
                                                         "PREBUILT=\(TestSupport.binDir.path)", "STUDY_REPORT=\(dir.path)/report",
                                                         "STUDY_RESULTS=\(results.path)"], cwd: root)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try String(contentsOf: results, encoding: .utf8),
                           try String(contentsOf: root.appendingPathComponent("RESULTS.md"), encoding: .utf8),
                           "RESULTS.md's block for \(study) is not what `make results STUDY=\(study)` writes from results/\(study)")
            let committed = root.appendingPathComponent("results/\(study)/report")
            for file in ["index.html", "summary.md"] + TestSupport.listing(committed.appendingPathComponent("charts")).map({ "charts/" + $0 }) {
                XCTAssertEqual(FileManager.default.contents(atPath: dir.appendingPathComponent("report/\(file)").path),
                               FileManager.default.contents(atPath: committed.appendingPathComponent(file).path), "\(study): report/\(file)")
            }
            XCTAssertEqual(TestSupport.listing(dir.appendingPathComponent("report/charts")), TestSupport.listing(committed.appendingPathComponent("charts")))
        }
    }
}
