import Foundation
import Testing

/// The pure modules stay pure (ARCHITECTURE, "Code layout": "a pure module's dependency
/// closure holds only pure modules"): neither their targets' dependencies in Package.swift,
/// followed all the way down, nor any `import` in their sources reaches a module that calls
/// libc (`Kernel`, `Spawn`, Glibc) or one built on those.
@Suite struct PurityTests {
    /// Pure: no I/O, no clock, no globals. `RealModule` is swift-numerics' libm math.
    static let pure: Set<String> = ["PodModel", "Planner", "PodBuilder", "ImageModel", "YAML", "CLibYAML", "Manifest", "RealModule", "Swift", "Testing"]
    /// What a pure module must never reach.
    static let impure: Set<String> = ["Kernel", "CKernel", "Spawn", "CSpawn", "Glibc", "Foundation", "FoundationEssentials",
                                      "Dispatch", "SystemPackage", "CZlib", "CZstd", "CCrypto", "Cgroups", "Procfs", "Images", "PodState", "HostSetup",
                                      "ContainerRuntime", "Supervisor", "Reconciler", "Watch", "CLI", "ImagePull"]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Each target of Package.swift and the targets and products it depends on, read from
    /// the manifest's text: `.target(name: "X", dependencies: ["A", .product(name: "B", ...)]`.
    static func targets() throws -> [String: [String]] {
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var out: [String: [String]] = [:]
        let target = try Regex(#"\.(?:target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"(\w+)"(?:,\s*dependencies:\s*\[([^\]]*)\])?"#)
        let name = try Regex(#""(\w+)""#)
        for match in text.matches(of: target) {
            let deps = match.output[2].substring.map(String.init) ?? ""
            // Inside `.product(name: "B", package: "p")` the first string is the product.
            let cleaned = deps.replacing(try Regex(#"package:\s*"[^"]*""#), with: "")
            out[String(match.output[1].substring!)] = cleaned.matches(of: name).map { String($0.output[1].substring!) }
        }
        return out
    }

    static func closure(of module: String, _ graph: [String: [String]]) -> Set<String> {
        var seen: Set<String> = []
        var queue = [module]
        while let m = queue.popLast() {
            for d in graph[m] ?? [] where seen.insert(d).inserted { queue.append(d) }
        }
        return seen
    }

    static func imports(of module: String) throws -> Set<String> {
        let dir = root.appendingPathComponent("Sources/\(module)")
        guard let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        var out: Set<String> = []
        let line = try Regex(#"^\s*(?:@testable\s+|@_exported\s+)?import\s+(?:(?:struct|enum|class|func|protocol)\s+)?(\w+)"#).anchorsMatchLineEndings()
        for case let url as URL in files where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for m in text.matches(of: line) { out.insert(String(m.output[1].substring!)) }
        }
        return out
    }

    @Test(arguments: ["PodModel", "Planner", "PodBuilder", "ImageModel", "Manifest", "YAML"])
    func thePackageGraphKeepsAPureModulePure(_ module: String) throws {
        let graph = try Self.targets()
        try #require(graph[module] != nil, "no target \(module) in Package.swift")
        let reached = Self.closure(of: module, graph)
        #expect(reached.isDisjoint(with: Self.impure), "\(module) reaches \(reached.intersection(Self.impure).sorted())")
        #expect(reached.isSubset(of: Self.pure), "\(module) reaches modules not known pure: \(reached.subtracting(Self.pure).sorted())")
    }

    @Test(arguments: ["PodModel", "Planner", "PodBuilder", "ImageModel", "Manifest", "YAML"])
    func aPureModuleImportsOnlyPureModules(_ module: String) throws {
        let imported = try Self.imports(of: module)
        try #require(!imported.isEmpty || module == "PodModel", "no sources read for \(module)")
        #expect(imported.isDisjoint(with: Self.impure), "\(module) imports \(imported.intersection(Self.impure).sorted())")
        #expect(imported.isSubset(of: Self.pure), "\(module) imports modules not known pure: \(imported.subtracting(Self.pure).sorted())")
    }

    /// The check can fail: an impure module is seen as one.
    @Test func theCheckSeesAnImpureModule() throws {
        let graph = try Self.targets()
        #expect(!Self.closure(of: "HostSetup", graph).isDisjoint(with: Self.impure))
        #expect(try Self.imports(of: "Kernel").contains("Glibc"))
    }
}
