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
        // For the pod benchmark (Benchmarks/): the runtime's library API.
        .library(name: "HostSetup", targets: ["HostSetup"]),
        .library(name: "ContainerRuntime", targets: ["ContainerRuntime"]),
        .library(name: "PodBuilder", targets: ["PodBuilder"]),
        .library(name: "PodModel", targets: ["PodModel"]),
        .library(name: "Cgroups", targets: ["Cgroups"]),
        .library(name: "Kernel", targets: ["Kernel"]),
        .library(name: "Seccomp", targets: ["Seccomp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.0"),
        // Registry pulls (ImagePull): HTTP/1.1 and 2 over swift-nio, TLS by swift-nio-ssl.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        // gRPC health probes (podrec-probe only): HTTP/2 by swift-nio-http2 (already in the
        // graph through async-http-client).
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.36.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
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
        .target(name: "Manifest", dependencies: ["YAML", "PodModel"]),
        // The only Swift that calls libc: files, cgroupfs, signals. Every root is a parameter.
        // No Foundation, so the per-pod supervisor can link it and stay small.
        .target(name: "Kernel", dependencies: ["CKernel", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "CKernel", cSettings: [.define("_GNU_SOURCE")]),
        // Cgroup mode detection and the v1 and v2 drivers behind one protocol.
        .target(name: "Cgroups", dependencies: ["Kernel", "PodModel"]),
        // Pure parsers for /proc/PID files, and a reader of a cgroup tree's processes.
        .target(name: "Procfs", dependencies: ["Kernel", "PodModel"]),
        // The C spawn shim: only what must run between fork and exec. One entry point.
        .target(name: "CSpawn", cSettings: [.define("_GNU_SOURCE")]),
        // Swift over CSpawn: owns the pointer lifetimes, turns {stage, errno} into errors;
        // joins a request to a cgroup the driver's way.
        .target(name: "Spawn", dependencies: ["CSpawn", "Kernel", "Cgroups", "PodModel"]),
        // Layer decompression and content hashes for the image store, from Debian's system
        // libraries (zlib1g-dev, libzstd-dev, libssl-dev), linked as libyaml is: gzip and zstd
        // layers, and SHA-256 at the speed of the CPU's SHA instructions.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // The system libseccomp (Debian: libseccomp-dev), the library runc and crun use.
        // Only the reconciler's side links it (through Seccomp): the supervisor and the spawn
        // shim load the raw BPF it compiled, so they stay small and static.
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        // Run by the reconciler: seccomp profiles (RuntimeDefault as data, Localhost JSON)
        // compiled to BPF with libseccomp at plan time, and stored content-addressed.
        .target(name: "Seccomp", dependencies: ["CSeccomp", "CCrypto", "YAML", "Kernel"]),
        // An image's reference and config, as data: pure, for the build and the store alike.
        .target(name: "ImageModel", dependencies: ["YAML"]),
        // podrec's content-addressed image store: blobs, layers unpacked once, the name index;
        // import of OCI layouts, oci- and docker-archives and plain rootfs dirs and tars.
        .target(name: "Images", dependencies: ["ImageModel", "Kernel", "PodModel", "YAML", "CZlib", "CZstd", "CCrypto"]),
        // Run by the CLI's `image pull` and `apply`, and by the watcher: the one module that
        // talks to registries (distribution API, auth, TLS, mirrors). Downloads stream into
        // the store's BlobWriter; the store's import driver then checks and unpacks them.
        // The pure parts (challenges, auth files, registries.conf) are in ImageModel.
        .target(
            name: "ImagePull",
            dependencies: [
                "Images", "ImageModel", "Kernel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Pure, and shared by both processes: pod keys, records, the launch plan and status
        // (the contract between reconciler and supervisor, with their line formats), cgroup
        // limits and names, layouts, desired and observed pods. Imports nothing impure.
        .target(name: "PodModel", dependencies: [.product(name: "RealModule", package: "swift-numerics")]),
        // A pod's state dir on the host, read and written by both processes: the one owner of
        // its files (record, plan, status, the supervisor's identity) and of the pass lock.
        .target(name: "PodState", dependencies: ["Kernel", "PodModel"]),
        // Run by the supervisor (and by `podrec exec`, which joins a container): container
        // root filesystems, spawn requests from the launch plan, the join into a container.
        .target(name: "ContainerRuntime", dependencies: ["Kernel", "Spawn", "Cgroups", "PodModel"]),
        // Run by the reconciler: the host set-up of a pod (volumes, /dev/shm, /etc/hosts, the
        // pod's cgroups) and the supervisor's start, its plans and its stop.
        .target(name: "HostSetup", dependencies: ["Kernel", "Spawn", "Cgroups", "Procfs", "PodModel", "PodState"]),
        // Run by the reconciler: a pod's CNI attachment (the plugins, the record before ADD,
        // the cached result, the pinned net namespace), the host ports a pod holds, and their
        // garbage collection. Foundation only for JSON: the supervisor never links it.
        .target(name: "PodNetwork", dependencies: ["Kernel", "Spawn", "PodModel"]),
        // Manifest → the pod's whole build: launch plan, limits, the host set-up. Pure: the
        // image store and lstat come in as lookups. The reconciler's side; the supervisor
        // never links it (nor Manifest and libyaml).
        .target(name: "PodBuilder", dependencies: ["Manifest", "ImageModel", "PodModel"]),
        // plan(desired, observed) -> Plan: pure, every action with its reason. `diff` prints a
        // plan, `apply` executes one.
        .target(name: "Planner", dependencies: ["PodModel"]),
        // The reconciler: the Observer (state dirs, cgroupfs and /proc → `Observed`), the
        // passes over it, and the Executor of plans.
        .target(name: "Reconciler", dependencies: ["Seccomp", "Planner", "PodBuilder", "HostSetup", "ContainerRuntime", "Images", "ImageModel", "Cgroups", "Procfs", "PodNetwork", "PodModel", "PodState", "Kernel", "Manifest", "YAML"]),
        // The containers' logs in the CRI format, one owner for their files and format: written
        // by the supervisor, read back by `podrec logs`.
        .target(name: "ContainerLogs", dependencies: ["Kernel", "PodModel"]),
        // The per-pod supervisor's logic: lifecycle, containers, logs, status. No Foundation
        // and no Dispatch (ARCHITECTURE, "Who does what": 1 MiB per pod at most).
        .target(name: "Supervisor", dependencies: ["Kernel", "Spawn", "Cgroups", "ContainerRuntime", "ContainerLogs", "PodModel", "PodState"]),
        // The supervisor executable: a `main` over Supervisor, one static executable: no
        // dynamic loader at each pod start, and less private memory per pod than with
        // -static-stdlib (0.35 against 0.70 MiB Pss at 50 pods).
        .executableTarget(
            name: "podrec-supervisor",
            dependencies: ["Supervisor"],
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // Run by `podrec-probe`, the helper the supervisor starts for one probe run that needs
        // a protocol stack the supervisor cannot carry within its 1 MiB: a gRPC health check
        // (grpc.health.v1, plaintext HTTP/2) or an HTTPS GET (TLS unverified, as kubelet's).
        // Its answer is its exit status and one line of kubelet's words on stdout.
        .target(
            name: "ProbeHelper",
            dependencies: [
                "PodModel", "Kernel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // `podrec-probe`: a `main` over ProbeHelper, started per probe
        // run by the supervisor (in the pod's network namespace and the supervisor's cgroup),
        // so that no supervisor links NIO, BoringSSL or gRPC.
        .executableTarget(
            name: "podrec-probe",
            dependencies: ["ProbeHelper", "Kernel", "PodModel"],
            // Static, as the supervisor, and without Foundation: swift-nio, swift-nio-http2 and
            // swift-nio-ssl need none (BoringSSL's C++ needs libstdc++). With grpc-swift's
            // transport and swift-protobuf (which import Foundation and ICU) the debug helper
            // was 211 MB and one probe run took 2.3-4.0 s in the emulated cgroup v2 VM.
            linkerSettings: [.unsafeFlags(["-static-executable", "-lstdc++"])]
        ),
        // Helpers for the kernel tests: leak checks, fixture trees, test cgroup roots.
        .target(name: "KernelTestSupport", dependencies: ["PodModel", "Kernel", "Cgroups", "Procfs"], path: "Tests/KernelTestSupport"),
        // `podrec watch DIR`: the directory's rules, the files → one pass's input, the loop.
        .target(name: "Watch", dependencies: ["Reconciler", "Planner", "Manifest", "ImageModel", "Kernel", "Cgroups", "PodModel", "YAML"]),
        // The watcher's HTTP endpoint: /metrics (swift-prometheus), /healthz, /readyz.
        .target(
            name: "WatchMetrics",
            dependencies: [
                "Watch", "Reconciler", "Planner", "Cgroups", "Kernel", "PodModel", "PodNetwork",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The thin CLI: one file per subcommand, in a library so that tests can link it.
        .target(
            name: "CLI",
            dependencies: [
                "Manifest",
                "Images",
                "ImageModel",
                "ImagePull",
                "PodBuilder",
                "Reconciler",
                "PodNetwork",
                "Planner",
                "ContainerLogs",
                "ContainerRuntime",
                "Kernel",
                "PodModel",
                "PodState",
                "Watch",
                "WatchMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `podrec`: one static executable. Each command is a whole process, and the dynamic
        // loader's work for the Swift runtime's shared libraries was most of a short
        // command's time (an empty command: 10.3 ms dynamic, under 2 ms static).
        // ArgumentParser's FoundationEssentials needs its two helper archives named.
        .executableTarget(
            name: "podrec",
            dependencies: ["CLI"],
            linkerSettings: [.unsafeFlags(["-static-executable", "-l_FoundationCollections", "-l_FoundationCShims"])]
        ),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"]),
        // Unprivileged: profile parsing, the default table, compiling with libseccomp.
        .testTarget(name: "SeccompTests", dependencies: ["Seccomp"]),
        // Package.swift and the sources, read as text: the pure modules stay pure.
        .testTarget(name: "PackageTests"),
        .testTarget(name: "ManifestTests", dependencies: ["PodModel", "Manifest", "YAML"]),
        .testTarget(name: "CLITests", dependencies: ["PodModel", "CLI"]),
        // Unprivileged: pure code and fixture trees.
        .testTarget(name: "KernelTests", dependencies: ["PodModel", "Kernel", "Cgroups", "Procfs", "Spawn", "KernelTestSupport"]),
        .testTarget(name: "ImagesTests", dependencies: ["PodModel", "ImageModel", "Images", "Kernel", "KernelTestSupport"]),
        .testTarget(name: "HostSetupTests", dependencies: ["HostSetup", "PodModel", "Kernel", "KernelTestSupport"]),
        .testTarget(name: "ContainerRuntimeTests", dependencies: ["ContainerRuntime", "PodModel", "Spawn", "Kernel", "KernelTestSupport"]),
        .testTarget(name: "PodBuilderTests", dependencies: ["PodBuilder", "Planner", "PodModel", "ImageModel", "Images", "Reconciler", "Manifest", "Kernel", "KernelTestSupport"]),
        .testTarget(name: "WatchTests", dependencies: ["PodModel", "Watch", "Manifest", "Planner", "Kernel", "KernelTestSupport"]),
        .testTarget(name: "PlannerTests", dependencies: ["Planner", "PodModel"]),
        .testTarget(name: "ReconcilerTests", dependencies: ["PodState", "Reconciler", "Seccomp", "Planner", "PodBuilder", "Manifest", "ImageModel", "HostSetup", "ContainerRuntime", "Cgroups", "Procfs", "PodModel", "Kernel", "KernelTestSupport"]),
        .testTarget(name: "ContainerLogsTests", dependencies: ["ContainerLogs", "PodModel", "Kernel", "KernelTestSupport"]),
        .testTarget(name: "SupervisorTests", dependencies: ["PodState", "Supervisor", "PodModel", "Kernel", "KernelTestSupport", "ContainerLogs"]),
        // The probe helper's pure parts (kubelet's words), and the built helper against real
        // servers on 127.0.0.1.
        .testTarget(name: "ProbeHelperTests", dependencies: ["ProbeHelper", "Kernel", "KernelTestSupport", .product(name: "NIOHPACK", package: "swift-nio-http2")]),
        // Unprivileged: the CNI side over fake plugins (shell scripts that record what they got).
        .testTarget(name: "PodNetworkTests", dependencies: ["PodNetwork", "PodModel", "Kernel", "KernelTestSupport"]),
        // Privileged, on the real kernel: cgroup v1/hybrid here, v2 in ../shared/tools/cgroup2-vm.
        .testTarget(name: "IntegrationTests", dependencies: ["PodState", "ImageModel", "Kernel", "Cgroups", "Procfs", "Spawn", "Images", "ImagePull", "HostSetup", "ContainerRuntime", "PodBuilder", "Manifest", "Supervisor", "PodModel", "KernelTestSupport", "Reconciler", "Planner", "PodNetwork", "Seccomp"]),
    ],
    swiftLanguageModes: [.v6]
)
