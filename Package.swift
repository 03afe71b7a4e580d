// swift-tools-version:6.0
// NegativeSampling: contrastive self-supervised learning with negative sampling as a first-class choice.
// Layout: README.md "Architecture". Each C library is reached from one module:
// zstd → TensorFiles, libjpeg-turbo and zlib → Images, OpenBLAS → NN, OpenMPI → Cluster.
import PackageDescription
import Foundation

// Numeric modules trade overflow/bounds traps for speed in release builds; debug builds keep every check.
// On an x86-64 machine with AVX2 and FMA they are also compiled for those (`-target-cpu haswell`: the
// engine's SIMD8 passes become one AVX register instead of two SSE halves: 1.02–1.11× a training step on Zen 3);
// NS_PORTABLE=1 in the environment builds for baseline x86-64 instead, for binaries that must run on
// older CPUs. StageKit (whose check refuses a CPU without them, in one line) and the executables'
// `main` stay baseline, and NS_AVX2 tells StageKit what the numeric modules were built for.
let vectorFlags: [String] = {
    #if arch(x86_64)
    if ProcessInfo.processInfo.environment["NS_PORTABLE"].map({ !$0.isEmpty && $0 != "0" }) ?? false { return [] }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
    let flags = Set(line.split(separator: " "))
    return flags.contains("avx2") && flags.contains("fma") ? ["-target-cpu", "haswell", "-DNS_AVX2"] : []
    #else
    return []
    #endif
}()
let portable: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"] + vectorFlags.filter { $0.hasPrefix("-D") },
                                             .when(configuration: .release))]
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"] + vectorFlags, .when(configuration: .release))]
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

func stage(_ name: String, _ library: Target.Dependency) -> Target {
    .executableTarget(name: name, dependencies: [library, "StageKit", argumentParser], path: "Sources/\(name)")
}

let package = Package(
    name: "NegativeSampling",
    platforms: [.macOS(.v13)],
    // The libraries, for the fuzz harnesses' package (fuzz/Package.swift); the stages need no products.
    products: [.library(name: "NegativeSamplingLibraries", targets: ["TensorFiles", "Images", "NN", "Contrastive"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),

        .target(name: "TensorFiles", dependencies: ["CZstd"], swiftSettings: portable),
        .target(name: "StageKit", dependencies: ["TensorFiles", argumentParser], swiftSettings: portable),
        .target(name: "Images", dependencies: ["CTurboJPEG", "CZlib", "TensorFiles", "StageKit"], swiftSettings: fast),
        .target(name: "NN", dependencies: ["COpenBLAS", "TensorFiles", "StageKit"], swiftSettings: fast),
        .target(name: "Augment", dependencies: ["Images", "TensorFiles", "StageKit", argumentParser], swiftSettings: fast),
        .target(name: "Ranking", swiftSettings: fast),
        .target(name: "Cluster", dependencies: ["CMPI"]),   // checked arithmetic: it sizes MPI calls
        .target(name: "Evaluation", dependencies: ["NN", "TensorFiles", "StageKit"], swiftSettings: fast),
        .target(name: "Contrastive", dependencies: ["NN", "Evaluation", "Ranking", "Cluster", "TensorFiles", "StageKit", argumentParser], swiftSettings: fast),
        .target(name: "Analysis", dependencies: ["NN", "Ranking", "TensorFiles", "StageKit"], swiftSettings: fast),
        .target(name: "Report", dependencies: ["Analysis", "Images", "TensorFiles", "StageKit"], swiftSettings: fast),
        .target(name: "TestSupport", path: "Sources/TestSupport"),

        stage("ingest", "Images"),
        stage("inspect", "TensorFiles"),
        stage("augment", "Augment"),
        stage("pretrain", "Contrastive"),
        stage("embed", "Evaluation"),
        stage("probe", "Evaluation"),
        stage("knn", "Evaluation"),
        stage("hardness", "Analysis"),
        stage("report", "Report"),
        .executableTarget(name: "bench", dependencies: ["NN", "Contrastive", "Augment", "Evaluation", "StageKit", argumentParser],
                          path: "Sources/bench", swiftSettings: portable),

        .testTarget(name: "TensorFilesTests", dependencies: ["TestSupport", "TensorFiles", "StageKit"]),
        .testTarget(name: "ImagesTests", dependencies: ["TestSupport", "Images", "TensorFiles", "StageKit"]),
        .testTarget(name: "NNTests", dependencies: ["TestSupport", "NN", "TensorFiles", "StageKit"]),
        .testTarget(name: "AugmentTests", dependencies: ["TestSupport", "Augment", "Images", "TensorFiles", "StageKit"]),
        .testTarget(name: "ContrastiveTests", dependencies: ["TestSupport", "Contrastive", "Analysis", "Ranking", "NN", "TensorFiles", "StageKit"]),
        .testTarget(name: "EvaluationTests", dependencies: ["TestSupport", "Evaluation", "NN", "TensorFiles", "StageKit"]),
        .testTarget(name: "AnalysisTests", dependencies: ["TestSupport", "Analysis", "Ranking", "TensorFiles", "StageKit"]),
        .testTarget(name: "ReportTests", dependencies: ["TestSupport", "Report", "Images", "TensorFiles", "StageKit"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "TensorFiles", "StageKit", "NN"]),
    ],
    swiftLanguageModes: [.v5]
)
