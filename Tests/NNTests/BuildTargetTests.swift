import Foundation
import StageKit
import XCTest

/// Package.swift compiles the numeric modules for AVX2 + FMA where the building CPU has them; a binary
/// carried to a CPU without them must refuse in one line instead of dying of an illegal instruction.
final class BuildTargetTests: XCTestCase {
    func testACPUWithoutTheBuildsExtensionsIsRefusedByName() throws {
        let message = try XCTUnwrap(Machine.unsupportedBuild(needs: ["avx2", "fma"], cpuFlags: ["sse2", "sse4_2", "avx"]))
        XCTAssertTrue(message.contains("AVX2 and FMA"), message)
        XCTAssertTrue(message.contains("NS_PORTABLE=1"), message)
        XCTAssertFalse(message.contains("\n"))
        XCTAssertEqual(Machine.unsupportedBuild(needs: ["avx2", "fma"], cpuFlags: ["avx", "avx2"]).map { $0.contains("uses FMA,") }, true)
        XCTAssertNil(Machine.unsupportedBuild(needs: ["avx2", "fma"], cpuFlags: ["avx", "avx2", "fma"]))
        XCTAssertNil(Machine.unsupportedBuild(needs: [], cpuFlags: ["sse2"]), "a baseline build runs anywhere")
        XCTAssertNil(Machine.unsupportedBuild(needs: ["avx2", "fma"], cpuFlags: nil), "no /proc/cpuinfo: nothing to refuse on")
        XCTAssertNil(Machine.unsupportedBuild(cpuFlags: Machine.cpuFlags), "the machine that built the tests can run them")
    }

    /// A release build on a machine with AVX2 and FMA is compiled for them unless NS_PORTABLE asks otherwise.
    func testReleaseBuildsUseTheBuildingCPUsExtensions() throws {
        #if DEBUG
        throw XCTSkip("debug builds are compiled for baseline x86-64")
        #else
        let portable = ProcessInfo.processInfo.environment["NS_PORTABLE"].map { !$0.isEmpty && $0 != "0" } ?? false
        let flags = Machine.cpuFlags ?? []
        #if arch(x86_64)
        let expected = !portable && flags.contains("avx2") && flags.contains("fma") ? "avx2+fma" : "baseline"
        #else
        let expected = "baseline"
        #endif
        XCTAssertEqual(Machine.buildTarget, expected)
        XCTAssertTrue(Machine.summary.hasSuffix("engine built for \(expected))"), Machine.summary)
        #endif
    }
}
