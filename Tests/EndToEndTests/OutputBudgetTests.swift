import Foundation
import StageKit
import XCTest

/// The output budget's rule: 1 GiB, or 16× the inputs' size when that is more, at most the machine's memory.
final class OutputBudgetTests: XCTestCase {
    func testLimitFollowsTheInputSize() throws {
        try XCTSkipIf(ProcessInfo.processInfo.environment["NS_MAX_OUTPUT_BYTES"] != nil, "the rule is replaced in this environment")
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        XCTAssertEqual(OutputBudget.limit(inputBytes: 0), min(memory, 1 << 30))
        XCTAssertEqual(OutputBudget.limit(inputBytes: 10 << 20), min(memory, 1 << 30), "a 10 MB input gets the 1 GiB floor")
        XCTAssertEqual(OutputBudget.limit(inputBytes: 200 << 20), min(memory, 3200 << 20))
        XCTAssertEqual(OutputBudget.limit(inputBytes: .max), memory, "no overflow")
        XCTAssertThrowsError(try OutputBudget.check(2 << 30, what: "views", inputBytes: 1 << 20, file: "x.safetensors.zst", hint: "use --size")) {
            XCTAssertTrue("\($0)".contains("x.safetensors.zst: views would take 2147483648 bytes, over the limit of"), "\($0)")
        }
        XCTAssertNoThrow(try OutputBudget.check(1 << 30, what: "views", inputBytes: 1 << 20, file: "x", hint: ""))
        XCTAssertThrowsError(try OutputBudget.check(0, overflow: true, what: "views", inputBytes: 0, file: "x", hint: ""))
    }
}
