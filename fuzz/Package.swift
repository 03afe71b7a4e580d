// swift-tools-version:6.0
// libFuzzer harnesses for every reader of untrusted bytes: `make fuzz` (fuzz/run.sh) builds them with
// `--sanitize=fuzzer --sanitize=address` and runs each on its seed corpus in fuzz/corpus/<name>.
import PackageDescription

let libraries: Target.Dependency = .product(name: "NegativeSamplingLibraries", package: "NegativeSampling")
// libFuzzer supplies `main`; the harness files define `LLVMFuzzerTestOneInput` instead.
func harness(_ name: String) -> Target {
    .executableTarget(name: name, dependencies: [libraries, "FuzzSupport"], path: "Sources/\(name)",
                      swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let package = Package(
    name: "Fuzz",
    dependencies: [.package(name: "NegativeSampling", path: "..")],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        harness("tensorfile"), harness("idx"), harness("cifar"), harness("jpeg"), harness("views"), harness("checkpoint"),
    ],
    swiftLanguageModes: [.v5]
)
