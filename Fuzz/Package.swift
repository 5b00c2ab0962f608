// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the manifest layer (see README.md), a separate package so that the
// main package's build never carries sanitizer flags: `bash Fuzz/run.sh [SECONDS]`.
//
// - fuzz-yaml: bytes -> YAMLParser (the composer over libyaml, its limits and errors) ->
//   JSON under both scalar schemas.
// - fuzz-manifest: bytes -> ManifestLoader.load, the path of `podrec validate/apply`:
//   parse, decode to Pod/ConfigMap/Secret, defaults, validation, diagnostics printed as
//   file:line:column, then `-o json` and the spec hash of every container.
// - sanitize-corpus: the same two paths as a plain driver over files, built with
//   AddressSanitizer (LeakSanitizer included on Linux) by `run.sh --asan`.
//
// Each fuzz target defines LLVMFuzzerTestOneInput and no `main` (libFuzzer's), hence
// -parse-as-library. The sanitizer itself comes from `swift build --sanitize=...` so that it
// reaches the YAML and Manifest modules too, which is where the coverage must come from.
let package = Package(
    name: "podrec-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "podrec", path: ".."),
    ],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "YAML", package: "podrec"),
                .product(name: "Manifest", package: "podrec"),
            ]
        ),
        .executableTarget(
            name: "fuzz-yaml",
            dependencies: ["FuzzSupport"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "fuzz-manifest",
            dependencies: ["FuzzSupport"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "sanitize-corpus",
            dependencies: ["FuzzSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
