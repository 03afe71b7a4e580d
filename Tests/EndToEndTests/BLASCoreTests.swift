import Foundation
import NN
import StageKit
import TensorFiles
import TestSupport
import XCTest

/// The BLAS kernel a stage runs: the best the CPU supports by default, even when the environment
/// inherits OPENBLAS_CORETYPE=Haswell; an explicit per-run choice wins; provenance records it.
final class BLASCoreTests: XCTestCase {
    func features(_ dir: URL, _ name: String) throws -> String {
        var rng = RNG(seed: 3)
        let n = 40, d = 8
        var w = TensorFileWriter()
        w.add("projection", (0..<(n * d)).map { _ in Float(rng.uniform(-1, 1)) }, shape: [n, d])
        w.add("backbone", (0..<(n * d)).map { _ in Float(rng.uniform(-1, 1)) }, shape: [n, d])
        w.add("labels", (0..<n).map { Int64($0 % 4) }, shape: [n])
        w.add("index", (0..<n).map { Int64($0) }, shape: [n])
        let path = dir.appendingPathComponent(name).path
        try w.write(to: path)
        return path
    }

    func provenanceRecorded(env: [String: String], extra: [String] = []) throws -> [String: Any] {
        let dir = try TestSupport.scratchDir("blas")
        let train = try features(dir, "train.safetensors.zst"), test = try features(dir, "test.safetensors.zst")
        let out = dir.appendingPathComponent("knn.json").path
        let r = try TestSupport.runStage("knn", ["--train", train, "--test", test, "--k", "5", "--out", out] + extra, env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        return json["extra"] as! [String: Any]
    }

    func coreRecorded(env: [String: String], extra: [String] = []) throws -> String {
        try provenanceRecorded(env: env, extra: extra)["blas_core"] as! String
    }

    /// OpenBLAS's idle threads sleep at once unless the environment asks otherwise (BLASRuntime.defaultThreadTimeout).
    func testThreadTimeoutDefaultsToImmediateSleepAndTheEnvironmentWins() throws {
        if ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil {        // a stage inherits this process's environment
            XCTAssertEqual(try provenanceRecorded(env: ["NS_BLAS_CORE": "auto"])["blas_thread_timeout"] as? String, "4")
        }
        XCTAssertEqual(try provenanceRecorded(env: ["NS_BLAS_CORE": "auto", "OPENBLAS_THREAD_TIMEOUT": "20"])["blas_thread_timeout"] as? String, "20")
    }

    func testBestKernelByDefaultAndExplicitChoiceWins() throws {
        guard let best = BLASRuntime.bestCore() else { throw XCTSkip("CPU features not recognised") }
        // The machine-wide workaround some environments set is replaced by the best kernel…
        XCTAssertEqual(try coreRecorded(env: ["OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512", "NS_BLAS_CORE": "auto"]), best)
        // …while an explicit choice, by flag or by NS_BLAS_CORE, is honoured.
        if BLASRuntime.supports("Haswell") {
            XCTAssertEqual(try coreRecorded(env: ["NS_BLAS_CORE": "auto"], extra: ["--blas-core", "Haswell"]), "Haswell")
            XCTAssertEqual(try coreRecorded(env: ["NS_BLAS_CORE": "Haswell"]), "Haswell")
        }
        // An unknown kernel is a one-line error.
        let dir = try TestSupport.scratchDir("blas")
        let f = try features(dir, "f.safetensors.zst")
        let r = try TestSupport.runStage("knn", ["--train", f, "--test", f, "--out", dir.appendingPathComponent("o.json").path,
                                                 "--blas-core", "Pentium2"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("unknown --blas-core 'Pentium2'"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.json").path))
    }
}
