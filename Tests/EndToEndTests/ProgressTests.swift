import Foundation
import TestSupport
import XCTest

/// Progress a user sees on long work: the CNCE study's counter, and make's pretraining estimate
/// (scripts/progress.sh, from the run's epoch-times).
final class ProgressTests: XCTestCase {
    func testCNCEStudyShowsProgress() throws {
        let dir = try TestSupport.scratchDir("cnce-progress")
        let r = try TestSupport.runStage("hardness", ["cnce-study", "--repetitions", "20", "--batch", "16", "--pool", "128", "--rhos", "0.5,0.9",
                                                      "--out", dir.path + "/cnce"], env: ["NS_QUIET": ""])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("cnce-study: 100% 40/40 rep"), r.stderr)
    }

    func testMakeProgressLineEstimatesTheRestOfPretraining() throws {
        let run = try TestSupport.scratchDir("progress-run")
        let script = TestSupport.repoRoot.path + "/scripts/progress.sh"
        func line(_ args: [String]) throws -> String { try TestSupport.run("/usr/bin/env", ["bash", script] + args).stdout }
        XCTAssertEqual(try line(["3", "8", "pretrain", run.path, "001", "10"]), "make: [3/8] pretrain epoch 1 of 10\n", "no estimate before two epochs")
        // 150 s an epoch (the median gap; an interrupted make's idle hours do not count); epochs 4…10 left: 7 × 150 s = 17.5 min
        try "001 1000\n002 1150\n003 9000\n004 9150\n".write(toFile: run.path + "/epoch-times", atomically: true, encoding: .utf8)
        XCTAssertEqual(try line(["3", "8", "pretrain", run.path, "005", "10"]),
                       "make: [3/8] pretrain epoch 5 of 10 — about 15 min left of pretraining (3 min an epoch), then 5 shorter stages\n")
        try "001 1000\n002 1150\n003 1300\n".write(toFile: run.path + "/epoch-times", atomically: true, encoding: .utf8)
        XCTAssertEqual(try line(["3", "8", "pretrain", run.path, "004", "10"]),
                       "make: [3/8] pretrain epoch 4 of 10 — about 18 min left of pretraining (3 min an epoch), then 5 shorter stages\n")
        XCTAssertEqual(try line(["7", "8", "hardness"]), "make: [7/8] hardness\n")
    }
}
