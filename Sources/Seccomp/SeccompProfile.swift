import YAML

/// A seccomp profile in the OCI runtime-spec / Docker JSON format (`LinuxSeccomp`, and
/// Docker's `includes`/`excludes` and `archMap`): the form of a `Localhost` profile, and the
/// form `RuntimeDefault` is built in. Pure data; `SeccompCompiler` turns it into BPF.
public struct SeccompProfile: Sendable, Hashable {
    public var defaultAction: Action
    /// The errno of a default `SCMP_ACT_ERRNO` (or `SCMP_ACT_TRACE`): EPERM when unset.
    public var defaultErrnoRet: UInt32?
    /// libseccomp's names (`x86_64`, `x86`, `x32`, `aarch64`, ...); empty: the native one.
    public var architectures: [String]
    public var syscalls: [Rule]

    public init(defaultAction: Action, defaultErrnoRet: UInt32? = nil, architectures: [String] = [], syscalls: [Rule] = []) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.syscalls = syscalls
    }

    public enum Action: String, Sendable, Hashable, CaseIterable {
        case kill = "SCMP_ACT_KILL"
        case killProcess = "SCMP_ACT_KILL_PROCESS"
        case killThread = "SCMP_ACT_KILL_THREAD"
        case trap = "SCMP_ACT_TRAP"
        case errno = "SCMP_ACT_ERRNO"
        case trace = "SCMP_ACT_TRACE"
        case allow = "SCMP_ACT_ALLOW"
        case log = "SCMP_ACT_LOG"
        // SCMP_ACT_NOTIFY is left out on purpose: it needs a listener (a seccomp agent)
        // that podrec does not run, so a profile naming it is refused instead of hanging
        // the container at its first such call.
    }

    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case notEqual = "SCMP_CMP_NE"
        case lessThan = "SCMP_CMP_LT"
        case lessOrEqual = "SCMP_CMP_LE"
        case equalTo = "SCMP_CMP_EQ"
        case greaterOrEqual = "SCMP_CMP_GE"
        case greaterThan = "SCMP_CMP_GT"
        case maskedEqual = "SCMP_CMP_MASKED_EQ"
    }

    public struct Argument: Sendable, Hashable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64
        public var op: Operator

        public init(index: UInt32, value: UInt64, valueTwo: UInt64 = 0, op: Operator) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }

    public struct Rule: Sendable, Hashable {
        public var names: [String]
        public var action: Action
        public var errnoRet: UInt32?
        public var args: [Argument]
        /// Docker's `includes.caps` / `excludes.caps`: the rule applies only when every
        /// included capability is in the container's bounding set and no excluded one is.
        public var includeCapabilities: [String]
        public var excludeCapabilities: [String]
        /// Docker's `includes.minKernel`, `major.minor`: the rule applies only on a kernel at
        /// least that new.
        public var minKernel: (major: Int, minor: Int)? {
            get { minKernelMajor.map { ($0, minKernelMinor) } }
            set { minKernelMajor = newValue?.major; minKernelMinor = newValue?.minor ?? 0 }
        }
        var minKernelMajor: Int?
        var minKernelMinor: Int = 0

        public init(names: [String], action: Action, errnoRet: UInt32? = nil, args: [Argument] = [],
                    includeCapabilities: [String] = [], excludeCapabilities: [String] = []) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.includeCapabilities = includeCapabilities
            self.excludeCapabilities = excludeCapabilities
        }
    }
}

/// Why a profile cannot be used: `where` is a JSON path in it (`syscalls[3].action`), empty
/// for the document.
public struct SeccompProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: String
    public var reason: String

    public init(_ location: String, _ reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { location.isEmpty ? reason : "\(location): \(reason)" }
}

extension SeccompProfile {
    /// OCI and Docker name architectures `SCMP_ARCH_X86_64`; libseccomp resolves `x86_64`.
    static func architectureName(_ oci: String) -> String {
        let bare = oci.hasPrefix("SCMP_ARCH_") ? String(oci.dropFirst("SCMP_ARCH_".count)) : oci
        return bare.lowercased()
    }

    /// Parses a profile from JSON (JSON is YAML: the project's parser reads it, and refuses
    /// duplicate keys). Every error names where in the document it is. Unknown keys are
    /// ignored, as runc ignores them; `nativeArchitecture` picks the `archMap` entry
    /// (`SCMP_ARCH_X86_64`) when the profile has no `architectures`.
    public static func parse(_ bytes: [UInt8], nativeArchitecture: String = "SCMP_ARCH_X86_64") throws(SeccompProfileError) -> SeccompProfile {
        let root: JSONValue
        do {
            let docs = try YAMLParser.parse(bytes)
            guard docs.count == 1, let value = docs[0].root.json(.core12) else { throw SeccompProfileError("", "not one JSON document") }
            root = value
        } catch let e as SeccompProfileError {
            throw e
        } catch {
            throw SeccompProfileError("", "not JSON: \(error)")
        }
        guard case .object(let top) = root else { throw SeccompProfileError("", "not a JSON object") }
        let o = Object(members: top, path: "")

        guard let actionName = try o.string("defaultAction") else { throw SeccompProfileError("defaultAction", "is required") }
        var profile = SeccompProfile(defaultAction: try action(actionName, at: o.at("defaultAction")))
        profile.defaultErrnoRet = try o.errno("defaultErrnoRet")

        if let archs = try o.strings("architectures") {
            profile.architectures = archs.map(architectureName)
        } else if let map = try o.array("archMap") {
            for (i, item) in map.enumerated() {
                let entry = try Object.of(item, path: o.at("archMap[\(i)]"))
                guard try entry.string("architecture") == nativeArchitecture else { continue }
                profile.architectures = [nativeArchitecture] + (try entry.strings("subArchitectures") ?? [])
                profile.architectures = profile.architectures.map(architectureName)
            }
        }

        for (i, item) in (try o.array("syscalls") ?? []).enumerated() {
            let r = try Object.of(item, path: o.at("syscalls[\(i)]"))
            var names = try r.strings("names") ?? []
            if let one = try r.string("name") { names.append(one) }  // the pre-1.0 OCI form
            guard !names.isEmpty else { throw SeccompProfileError(r.at("names"), "is required and must name at least one syscall") }
            if let bad = names.first(where: { $0.isEmpty }) { throw SeccompProfileError(r.at("names"), "holds an empty name \(bad.debugDescription)") }
            guard let a = try r.string("action") else { throw SeccompProfileError(r.at("action"), "is required") }
            var rule = Rule(names: names, action: try action(a, at: r.at("action")), errnoRet: try r.errno("errnoRet"))
            for (j, arg) in (try r.array("args") ?? []).enumerated() {
                let x = try Object.of(arg, path: r.at("args[\(j)]"))
                guard let index = try x.unsigned("index") else { throw SeccompProfileError(x.at("index"), "is required") }
                guard index < 6 else { throw SeccompProfileError(x.at("index"), "\(index) is not a syscall argument (0 to 5)") }
                guard let opName = try x.string("op") else { throw SeccompProfileError(x.at("op"), "is required") }
                guard let op = Operator(rawValue: opName) else {
                    throw SeccompProfileError(x.at("op"), "unknown operator \(opName.debugDescription) (one of \(Operator.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                rule.args.append(Argument(index: UInt32(index), value: try x.unsigned("value") ?? 0, valueTwo: try x.unsigned("valueTwo") ?? 0, op: op))
            }
            if let inc = try r.object("includes") {
                rule.includeCapabilities = try inc.strings("caps") ?? []
                if let archs = try inc.strings("arches"), !archs.isEmpty, !archs.map(architectureName).contains(architectureName(nativeArchitecture)) {
                    continue  // a rule for other architectures only
                }
                if let k = try inc.string("minKernel") {
                    let parts = k.split(separator: ".")
                    guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1]) else {
                        throw SeccompProfileError(inc.at("minKernel"), "\(k.debugDescription) is not MAJOR.MINOR")
                    }
                    rule.minKernel = (major, minor)
                }
            }
            if let exc = try r.object("excludes") {
                rule.excludeCapabilities = try exc.strings("caps") ?? []
                if let archs = try exc.strings("arches"), archs.map(architectureName).contains(architectureName(nativeArchitecture)) { continue }
                if try exc.string("minKernel") != nil {
                    throw SeccompProfileError(exc.at("minKernel"), "is not supported (only includes.minKernel is)")
                }
            }
            profile.syscalls.append(rule)
        }
        return profile
    }

    static func action(_ name: String, at path: String) throws(SeccompProfileError) -> Action {
        if name == "SCMP_ACT_NOTIFY" {
            throw SeccompProfileError(path, "SCMP_ACT_NOTIFY needs a seccomp agent, which podrec does not run")
        }
        guard let a = Action(rawValue: name) else {
            throw SeccompProfileError(path, "unknown action \(name.debugDescription) (one of \(Action.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return a
    }

    /// The rules that apply to a container with `bounding` (capability names, `CAP_...`)
    /// on a kernel of `kernel` (major, minor).
    public func applicableRules(bounding: Set<String>, kernel: (major: Int, minor: Int)) -> [Rule] {
        syscalls.filter { r in
            if !r.includeCapabilities.allSatisfy(bounding.contains) { return false }
            if r.excludeCapabilities.contains(where: bounding.contains) { return false }
            if let k = r.minKernel, (kernel.major, kernel.minor) < (k.major, k.minor) { return false }
            return true
        }
    }
}

/// Typed getters over one JSON object, each error naming the key's path.
struct Object {
    var members: [JSONMember]
    var path: String

    static func of(_ v: JSONValue, path: String) throws(SeccompProfileError) -> Object {
        guard case .object(let m) = v else { throw SeccompProfileError(path, "is not an object") }
        return Object(members: m, path: path)
    }

    func at(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    subscript(_ key: String) -> JSONValue? {
        guard let v = members.first(where: { $0.key == key })?.value else { return nil }
        if case .null = v { return nil }
        return v
    }

    func string(_ key: String) throws(SeccompProfileError) -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw SeccompProfileError(at(key), "is not a string") }
        return s
    }

    func array(_ key: String) throws(SeccompProfileError) -> [JSONValue]? {
        guard let v = self[key] else { return nil }
        guard case .array(let a) = v else { throw SeccompProfileError(at(key), "is not a list") }
        return a
    }

    func object(_ key: String) throws(SeccompProfileError) -> Object? {
        guard let v = self[key] else { return nil }
        return try Object.of(v, path: at(key))
    }

    func strings(_ key: String) throws(SeccompProfileError) -> [String]? {
        guard let a = try array(key) else { return nil }
        var out: [String] = []
        for (i, item) in a.enumerated() {
            guard case .string(let s) = item else { throw SeccompProfileError(at(key) + "[\(i)]", "is not a string") }
            out.append(s)
        }
        return out
    }

    func unsigned(_ key: String) throws(SeccompProfileError) -> UInt64? {
        guard let v = self[key] else { return nil }
        guard case .int(let n) = v, n >= 0 else { throw SeccompProfileError(at(key), "is not an unsigned integer") }
        return UInt64(n)
    }

    func errno(_ key: String) throws(SeccompProfileError) -> UInt32? {
        guard let n = try unsigned(key) else { return nil }
        guard n <= 0xffff else { throw SeccompProfileError(at(key), "\(n) is not an errno (0 to 65535)") }
        return UInt32(n)
    }
}
