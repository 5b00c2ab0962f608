/// Puts `$(NAME)` back where a Secret's value went into text that people read (`describe`,
/// `diff`): the plan's argv has `$(VAR)` already expanded, and a start error can quote it.
/// The values are those of the names each container's `secretEnvironment` lists, longest
/// first, so a value inside another is not half replaced.
public struct SecretRedactor: Sendable {
    var values: [(value: String, name: String)] = []

    public init(_ containers: [ContainerLaunch]) {
        var seen = Set<String>()
        for c in containers where !c.secretEnvironment.isEmpty {
            let secret = Set(c.secretEnvironment)
            for entry in c.environment {
                guard let eq = entry.firstIndex(of: "=") else { continue }
                let name = String(entry[..<eq]), value = String(entry[entry.index(after: eq)...])
                guard secret.contains(name), !value.isEmpty, seen.insert(value).inserted else { continue }
                values.append((value, name))
            }
        }
        values.sort { $0.value.utf8.count > $1.value.utf8.count }
    }

    public func callAsFunction(_ text: String) -> String {
        var text = text
        for (value, name) in values where text.contains(value) { text = text.replacing(value, with: "$(\(name))") }
        return text
    }
}
