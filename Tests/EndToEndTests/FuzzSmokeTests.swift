import Foundation
import TestSupport
import XCTest

/// A short smoke of every libFuzzer harness (fuzz/run.sh: a libFuzzer + AddressSanitizer build of the
/// readers of untrusted bytes, each run for a few seconds on its seed corpus): the harnesses build with
/// this code, and none crashes, leaks or times out on the corpus and its first mutations. The long runs
/// are `make fuzz FUZZ_SECONDS=1800`.
final class FuzzSmokeTests: XCTestCase {
    func testEveryHarnessBuildsAndRunsClean() throws {
        let work = try TestSupport.scratchDir("fuzz-smoke")     // a fresh corpus and artifacts folder: earlier runs cannot interfere
        let r = try TestSupport.run("/usr/bin/env", ["bash", TestSupport.repoRoot.path + "/fuzz/run.sh"],
                                    env: ["FUZZ_SECONDS": "5", "FUZZ_WORK": work.path])
        XCTAssertEqual(r.status, 0, String((r.stdout + r.stderr).suffix(3000)))
        for harness in ["tensorfile", "idx", "cifar", "jpeg", "views", "checkpoint"] {
            let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("fuzz \(harness) ") }
            XCTAssertNotNil(line, "no result line for \(harness): \(r.stdout)")
            XCTAssertTrue(line?.contains(" 0 crash/leak/timeout inputs  (exit 0;") == true, String(line ?? ""))
        }
    }
}
