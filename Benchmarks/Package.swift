// swift-tools-version:6.0
import PackageDescription

// Benchmarks (see README.md), a separate package so the main package does not depend on
// Yams: manifest-bench, the manifest layer's throughput against Yams and PyYAML
// (`bash Benchmarks/run.sh`), and pod-bench, pod start latency against the C lower bound
// podlb and the memory of idle pods (`bash Benchmarks/pod-run.sh`, as root).
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
        .executableTarget(
            name: "pod-bench",
            dependencies: [
                .product(name: "HostSetup", package: "podrec"),
                .product(name: "ContainerRuntime", package: "podrec"),
                .product(name: "PodModel", package: "podrec"),
                .product(name: "Cgroups", package: "podrec"),
                .product(name: "Kernel", package: "podrec"),
                .product(name: "Seccomp", package: "podrec"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
