import ArgumentParser
import Manifest
import YAML

extension Podrec {
    struct Fields: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fields",
            abstract: "List what podrec does with each manifest field: honoured, ignored or refused.",
            discussion: "Fields not listed take the class of the field that contains them. Any other field is unknown: an error. "
                + "Ignored fields of the pod spec, containers and security contexts are still validated as the Kubernetes "
                + FieldClasses.kubernetesVersion + " API server validates them, so a file podrec accepts is accepted by a cluster."
        )

        @Option(name: .shortAndLong, help: "Output format: json.")
        var output: Validate.OutputFormat?

        func run() {
            let rows = FieldClasses.table.keys.sorted().map { key -> (String, String, String) in
                switch FieldClasses.table[key]! {
                case .honoured: return (key, "honoured", "")
                case .ignored(let why):
                    return (key, FieldClasses.isValidated(key) ? "ignored, but validated as Kubernetes validates it" : "ignored", why)
                case .refused(let why): return (key, "refused", why)
                }
            }
            if output == .json {
                // "class" stays one word for scripts (Tools/schemagen.py reads it); "validated"
                // says whether the API server's rules for an ignored field are applied.
                let value = JSONValue.object(rows.map { key, cls, why in
                    let word = String(cls.prefix { $0 != "," })
                    let validated = word == "ignored" ? [JSONMember("validated", .bool(FieldClasses.isValidated(key)))] : []
                    return JSONMember(key, .object([JSONMember("class", .string(word))] + (why.isEmpty ? [] : [JSONMember("reason", .string(why))]) + validated))
                })
                print(value.serialized(indent: 2))
                return
            }
            let width = rows.map(\.0.count).max() ?? 0
            for (key, cls, why) in rows {
                let pad = String(repeating: " ", count: width - key.count)
                print("\(key)\(pad)  \(cls)" + (why.isEmpty ? "" : ": \(why)"))
            }
        }
    }
}
