import ArgumentParser
import Manifest
import YAML

extension Podrec {
    struct Fields: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fields",
            abstract: "List what podrec does with each manifest field: honoured, ignored or refused.",
            discussion: "Fields not listed take the class of the field that contains them. Any other field is unknown: an error."
        )

        @Option(name: .shortAndLong, help: "Output format: json.")
        var output: Validate.OutputFormat?

        func run() {
            let rows = FieldClasses.table.keys.sorted().map { key -> (String, String, String) in
                switch FieldClasses.table[key]! {
                case .honoured: return (key, "honoured", "")
                case .ignored(let why): return (key, "ignored", why)
                case .refused(let why): return (key, "refused", why)
                }
            }
            if output == .json {
                let value = JSONValue.object(rows.map { key, cls, why in
                    JSONMember(key, .object([JSONMember("class", .string(cls))] + (why.isEmpty ? [] : [JSONMember("reason", .string(why))])))
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
