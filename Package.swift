// swift-tools-version:6.0
import PackageDescription

// The targets follow ../shared/design/ARCHITECTURE.md ("Code layout"): dependencies run one
// way, from the thin `podrec` executable down to the YAML layer over the system libyaml.
let package = Package(
    name: "podrec",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "podrec", targets: ["podrec"]),
        .library(name: "Manifest", targets: ["Manifest"]),
        .library(name: "YAML", targets: ["YAML"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The system libyaml (Debian: libyaml-dev). We link it; we do not vendor it.
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // libyaml events -> a node tree with marks, anchors, merge keys and limits.
        .target(name: "YAML", dependencies: ["CLibYAML"]),
        // Kubernetes v1 Pod/ConfigMap/Secret: model, decoding, validation, defaults, spec hash.
        .target(name: "Manifest", dependencies: ["YAML"]),
        // The thin CLI: one file per subcommand.
        .executableTarget(
            name: "podrec",
            dependencies: [
                "Manifest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"]),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "YAML"]),
        .testTarget(name: "CLITests", dependencies: ["podrec"]),
    ],
    swiftLanguageModes: [.v6]
)
