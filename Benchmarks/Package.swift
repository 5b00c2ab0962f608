// swift-tools-version:6.0
import PackageDescription

// Throughput benchmark for podrec's manifest layer against Yams and PyYAML (see README.md).
// A separate package, so the main package does not depend on Yams. Build and run with
// `bash Benchmarks/run.sh` from the repository root.
let package = Package(
    name: "podrec-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "podrec", path: ".."),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "manifest-bench",
            dependencies: [
                .product(name: "YAML", package: "podrec"),
                .product(name: "Manifest", package: "podrec"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
