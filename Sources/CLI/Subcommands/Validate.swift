import ArgumentParser
import Manifest
import YAML

extension Podrec {
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check manifests without touching the host.",
            discussion: """
                Prints every error and warning as FILE:LINE:COLUMN: SEVERITY: KEY.PATH: REASON.
                Exit status: 0 when every input is valid (warnings allowed), 1 otherwise.
                A directory means its *.yaml, *.yml and *.json files, taken together, so a pod
                may use a ConfigMap or Secret from another file of the same directory.
                """
        )

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
            case json
        }

        @Argument(help: "Manifest files, directories, or - for stdin.")
        var inputs: [String]

        @Option(name: .shortAndLong, help: "Print the normalized objects (Secret values masked): json.")
        var output: OutputFormat?

        func run() throws {
            let (files, failures) = Input.read(inputs)
            let set = ManifestLoader.load(files)
            var stderr = StandardError()
            for failure in failures { print(failure, to: &stderr) }
            for diagnostic in set.diagnostics { print(diagnostic, to: &stderr) }
            if output == .json {
                var objects: [JSONValue] = []
                objects += set.configMaps.keys.sorted().map { set.configMaps[$0]!.canonicalJSON }
                objects += set.secrets.keys.sorted().map { set.secrets[$0]!.canonicalJSON }
                objects += set.pods.map(\.pod.canonicalJSON)
                let list = JSONValue.object([
                    JSONMember("apiVersion", .string("v1")),
                    JSONMember("kind", .string("List")),
                    JSONMember("items", .array(objects)),
                ])
                print(list.serialized(indent: 2))
            }
            if !failures.isEmpty || !set.isValid { throw ExitCode.failure }
        }
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleStream.standardError(string)
    }
}
