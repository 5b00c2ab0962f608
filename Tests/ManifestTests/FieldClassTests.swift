import Foundation
import Testing
import YAML

@testable import Manifest

/// The field-class table, the embedded upstream schema and the editor schemas in
/// `schemas/` must agree.
@Suite struct FieldClassTests {
    let schema = UpstreamSchema.shared

    @Test func everyFieldOfTheClassifiedTypesHasExactlyOneClass() {
        for typeName in FieldClasses.fullyClassifiedTypes {
            let type = schema[typeName]
            #expect(type != nil, "no upstream type \(typeName)")
            for field in type?.fields ?? [] {
                #expect(FieldClasses.table["\(typeName).\(field.name)"] != nil, "\(typeName).\(field.name) has no class")
            }
        }
    }

    @Test func everyTableEntryNamesARealField() {
        for key in FieldClasses.table.keys {
            let parts = key.split(separator: ".")
            #expect(parts.count == 2, "\(key)")
            let type = schema[String(parts[0])]
            #expect(type?.field(String(parts[1])) != nil, "\(key) is not a field of the upstream schema")
        }
    }

    @Test func extensionsAreGraftedOntoTheirTypes() {
        #expect(schema["Lifecycle"]?.field("stopSignal") != nil)
    }

    /// Walks `schemas/pod-v1.json` alongside the embedded structure: every refused field
    /// is made invalid there, every ignored one says so, honoured ones say neither.
    @Test func editorSchemaAgreesWithTheTable() throws {
        let url = TestPaths.repo.appendingPathComponent("schemas/pod-v1.json")
        let bytes = try [UInt8](Data(contentsOf: url))
        let doc = try #require(try YAMLParser.parse(bytes, limits: Limits(maxInputBytes: 64 << 20, maxNodes: 10_000_000, maxDepth: 256)).first)
        var checked = Set<String>()
        walk(doc.root, type: schema.rootByKind["Pod"]!, checked: &checked)
        // Every class in the table was met at least once in the editor schema.
        #expect(Set(FieldClasses.table.keys).subtracting(checked).isEmpty, "not found in schemas/: \(Set(FieldClasses.table.keys).subtracting(checked).sorted())")
        // And `image` is required there, as podrec requires it.
        let container = doc.root["properties"]?["spec"]?["properties"]?["containers"]?["items"]
        #expect(container?["required"]?.sequence?.contains { $0.scalar?.value == "image" } == true)
    }

    func walk(_ node: Node, type id: Int, checked: inout Set<String>) {
        let type = schema[id]
        switch type.kind {
        case .object(let fields):
            guard let props = node["properties"] else { return }
            for field in fields {
                guard let sub = props[field.name] else {
                    Issue.record("schemas/: \(type.name ?? "?").\(field.name) missing")
                    continue
                }
                let key = "\(type.name ?? "-").\(field.name)"
                let refusedThere = sub["not"] != nil
                let description = sub["description"]?.scalar?.value ?? ""
                switch FieldClasses.classOf(type: type.name, field: field.name) {
                case .refused?:
                    checked.insert(key)
                    #expect(refusedThere, "\(key) is refused but allowed in schemas/")
                    continue
                case .ignored(let why)?:
                    checked.insert(key)
                    #expect(description.hasPrefix("Ignored by podrec") && description.contains(why), "\(key) is ignored but schemas/ does not say so")
                case .honoured?:
                    checked.insert(key)
                    #expect(!refusedThere && !description.hasPrefix("Ignored by podrec"), "\(key) is honoured but schemas/ says otherwise")
                case nil:
                    #expect(!refusedThere, "\(key) has no class but schemas/ refuses it")
                }
                walk(sub, type: field.type, checked: &checked)
            }
        case .array(let items):
            if let sub = node["items"] { walk(sub, type: items, checked: &checked) }
        case .map(let values):
            if let sub = node["additionalProperties"] { walk(sub, type: values, checked: &checked) }
        default:
            break
        }
    }
}
