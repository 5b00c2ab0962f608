import YAML

/// An image's defaults and provenance: `<image>/config.json`.
///
/// ```json
/// {"entrypoint": ["/bin/httpd"], "cmd": ["-f", "-p", "8080"], "env": ["PATH=/bin"],
///  "workdir": "/", "created": "2025-05-01T12:00:00Z", "source": {"kind": "tar",
///  "path": "/tmp/rootfs.tar"}, "size": 1234567}
/// ```
///
/// A container's command is `entrypoint + cmd`, with the Pod's `command` replacing the
/// entrypoint and its `args` replacing cmd, as Kubernetes does with image defaults.
public struct ImageConfig: Sendable, Hashable {
    public var entrypoint: [String]
    public var cmd: [String]
    /// `KEY=VALUE`, in order.
    public var env: [String]
    /// Absolute; empty means the runtime's default (`/`).
    public var workdir: String
    /// The import time, RFC 3339 UTC (`2025-05-01T12:00:00Z`).
    public var created: String
    /// What was imported: `dir` or `tar`, and its path as given.
    public var sourceKind: String
    public var sourcePath: String
    /// Bytes of the rootfs: the sizes of its regular files (each inode once) and symlinks.
    public var size: Int64
    /// `USER[:GROUP]`, names or numbers; empty is root. Names are resolved in the image's
    /// /etc/passwd and /etc/group at plan time.
    public var user: String
    /// The signal that stops the container (`SIGQUIT`, `15`); empty is SIGTERM.
    public var stopSignal: String

    public init(entrypoint: [String] = [], cmd: [String] = [], env: [String] = [], workdir: String = "",
                created: String = "", sourceKind: String = "", sourcePath: String = "", size: Int64 = 0,
                user: String = "", stopSignal: String = "") {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workdir = workdir
        self.created = created
        self.sourceKind = sourceKind
        self.sourcePath = sourcePath
        self.size = size
        self.user = user
        self.stopSignal = stopSignal
    }

    /// Checks the user-given fields: env entries are `KEY=VALUE` with a non-empty KEY,
    /// workdir is absolute (or empty), and no string holds a NUL (it could not reach exec).
    public func validate() throws(ImageSpecError) {
        for e in env {
            guard let eq = e.firstIndex(of: "="), eq != e.startIndex else {
                throw .badConfig("--env \"\(e)\": expected KEY=VALUE with a non-empty KEY")
            }
        }
        if !workdir.isEmpty && !workdir.hasPrefix("/") {
            throw .badConfig("--workdir \"\(workdir)\": must be an absolute path")
        }
        for s in entrypoint + cmd + env + [workdir] where s.utf8.contains(0) {
            throw .badConfig("a value holds a NUL byte: \"\(s)\"")
        }
    }

    /// `--entrypoint` and `--cmd` values: a JSON array (`'["sh", "-c", "echo hi"]'`, for
    /// arguments with spaces) or a string split on spaces (`"httpd -f -p 8080"`). An empty
    /// string is an empty list.
    public static func parseCommand(_ text: String, option: String) throws(ImageSpecError) -> [String] {
        let trimmed = text.drop { $0 == " " }
        guard trimmed.hasPrefix("[") else {
            return text.split(separator: " ").map(String.init)
        }
        let docs: [Document]
        do { docs = try YAMLParser.parse(String(trimmed)) } catch {
            throw .badConfig("\(option) \(text): not a JSON array of strings: \(error)")
        }
        guard docs.count == 1, let items = docs[0].root.sequence else {
            throw .badConfig("\(option) \(text): not a JSON array of strings")
        }
        var out: [String] = []
        for item in items {
            guard item.scalar != nil, case .string(let value) = item.resolved(.core12) else {
                throw .badConfig("\(option) \(text): every element must be a string (quote it)")
            }
            out.append(value)
        }
        return out
    }

    public var json: JSONValue {
        .object([
            JSONMember("entrypoint", .array(entrypoint.map { .string($0) })),
            JSONMember("cmd", .array(cmd.map { .string($0) })),
            JSONMember("env", .array(env.map { .string($0) })),
            JSONMember("workdir", .string(workdir)),
            JSONMember("created", .string(created)),
            JSONMember("source", .object([JSONMember("kind", .string(sourceKind)), JSONMember("path", .string(sourcePath))])),
            JSONMember("size", .int(size)),
            JSONMember("user", .string(user)),
            JSONMember("stopSignal", .string(stopSignal)),
        ])
    }

    /// Reads a config.json written by `json` (JSON is YAML, so the YAML parser reads it).
    /// `file` names it in errors.
    public init(parsing bytes: [UInt8], file: String) throws(ImageSpecError) {
        func bad(_ why: String) -> ImageSpecError { .badConfig("\(file): \(why)") }
        let docs: [Document]
        do { docs = try YAMLParser.parse(bytes, file: file) } catch { throw bad("\(error)") }
        guard docs.count == 1, let root = docs[0].root.json(.core12), case .object(let members) = root else {
            throw bad("not a JSON object")
        }
        func member(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        func strings(_ key: String) throws(ImageSpecError) -> [String] {
            guard let v = member(key) else { return [] }
            guard case .array(let items) = v else { throw bad("\"\(key)\" is not a list") }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw bad("\"\(key)\" holds a non-string") }
                out.append(s)
            }
            return out
        }
        func string(_ key: String, in object: [JSONMember]? = nil) throws(ImageSpecError) -> String {
            guard let v = (object ?? members).first(where: { $0.key == key })?.value else { return "" }
            guard case .string(let s) = v else { throw bad("\"\(key)\" is not a string") }
            return s
        }
        self.init(entrypoint: try strings("entrypoint"), cmd: try strings("cmd"), env: try strings("env"),
                  workdir: try string("workdir"), created: try string("created"))
        if case .object(let source)? = member("source") {
            sourceKind = try string("kind", in: source)
            sourcePath = try string("path", in: source)
        }
        user = try string("user")
        stopSignal = try string("stopSignal")
        switch member("size") {
        case .int(let n)?: size = n
        case nil: size = 0
        default: throw bad("\"size\" is not an integer")
        }
    }
}
