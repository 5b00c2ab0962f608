import PodModel

/// What differs between a running container's launch and the wanted one, field by field,
/// for `diff`. Pure. Secret values never appear: a secret variable shows by name only, and
/// argv goes through `SecretRedactor`.
enum ContainerChanges {
    static func fields(_ was: ContainerLaunch, _ now: ContainerLaunch) -> [ActionDetail] {
        var out: [ActionDetail] = []
        func change(_ name: String, _ a: String, _ b: String) {
            if a != b { out.append(ActionDetail("~", "\(name): \(a) → \(b)", depth: 2)) }
        }
        let redact = SecretRedactor([was, now])
        if was.executable != now.executable || was.arguments != now.arguments {
            let a = redact(ShellWords.join(was.arguments)), b = redact(ShellWords.join(now.arguments))
            if a == b {
                change("executable", redact(was.executable), redact(now.executable))
            } else {
                change("command", a, b)
            }
        }
        change("image", root(was.root), root(now.root))
        out += environment(was, now)
        change("workingDir", was.workingDirectory ?? "(image's)", now.workingDirectory ?? "(image's)")
        change("user", "\(was.uid ?? 0):\(was.gid ?? 0)", "\(now.uid ?? 0):\(now.gid ?? 0)")
        change("supplementalGroups", list(was.supplementalGroups), list(now.supplementalGroups))
        if was.capabilities != now.capabilities {
            out.append(ActionDetail("~", "capabilities: \(caps(was.capabilities)) → \(caps(now.capabilities))", depth: 2))
        }
        change("privileged", String(was.privileged), String(now.privileged))
        change("allowPrivilegeEscalation", String(!was.noNewPrivileges), String(!now.noNewPrivileges))
        change("readOnlyRootFilesystem", String(was.readOnlyRootFilesystem), String(now.readOnlyRootFilesystem))
        change("tty", String(was.tty), String(now.tty))
        change("stdin", String(was.stdin), String(now.stdin))
        change("stdinOnce", String(was.stdinOnce), String(now.stdinOnce))
        if was.seccomp != now.seccomp {
            // The same profile with another program (a Localhost file edited, another
            // capability set) shows the programs' hashes.
            let a = seccomp(was.seccomp), b = seccomp(now.seccomp)
            change("seccomp", a == b ? a + " " + String(was.seccomp?.sha256.prefix(12) ?? "") : a,
                   a == b ? b + " " + String(now.seccomp?.sha256.prefix(12) ?? "") : b)
        }
        out += mounts(was.mounts, now.mounts)
        change("restartPolicy", was.restartPolicy.rawValue, now.restartPolicy.rawValue)
        change("kind", was.kind.rawValue, now.kind.rawValue)
        change("stopSignal", String(was.stopSignal), String(now.stopSignal))
        change("oom_score_adj", was.oomScoreAdj.map(String.init) ?? "0", now.oomScoreAdj.map(String.init) ?? "0")
        presence("startupProbe", was.startupProbe, now.startupProbe, into: &out)
        presence("livenessProbe", was.livenessProbe, now.livenessProbe, into: &out)
        presence("readinessProbe", was.readinessProbe, now.readinessProbe, into: &out)
        presence("lifecycle.postStart", was.postStart, now.postStart, into: &out)
        presence("lifecycle.preStop", was.preStop, now.preStop, into: &out)
        return out
    }

    static func seccomp(_ f: SeccompFilterRef?) -> String { f?.profile ?? "Unconfined" }

    /// `+ name`, `- name` or `~ name`: probes and hooks by name only (an exec probe's argv
    /// may hold what a secret holds).
    static func presence<T: Equatable>(_ name: String, _ was: T?, _ now: T?, into out: inout [ActionDetail]) {
        switch (was, now) {
        case (nil, .some): out.append(ActionDetail("+", name, depth: 2))
        case (.some, nil): out.append(ActionDetail("-", name, depth: 2))
        case (.some(let a), .some(let b)) where a != b: out.append(ActionDetail("~", name, depth: 2))
        default: break
        }
    }

    /// By name: `+ env NAME=value`, `- env NAME`, `~ env NAME: a → b`; a secret's value
    /// (before or after) shows as `(secret)`.
    static func environment(_ was: ContainerLaunch, _ now: ContainerLaunch) -> [ActionDetail] {
        let a = entries(was), b = entries(now)
        let secretA = Set(was.secretEnvironment), secretB = Set(now.secretEnvironment)
        var out: [ActionDetail] = []
        for (name, value) in b.list {
            let shown = secretB.contains(name) ? "(secret)" : value
            guard let old = a.map[name] else {
                out.append(ActionDetail("+", "env \(name)=\(shown)", depth: 2))
                continue
            }
            if old == value && secretA.contains(name) == secretB.contains(name) { continue }
            let oldShown = secretA.contains(name) ? "(secret)" : old
            out.append(ActionDetail("~", "env \(name): " + (oldShown == shown ? "(secret) changed" : "\(oldShown) → \(shown)"), depth: 2))
        }
        for (name, _) in a.list where b.map[name] == nil {
            out.append(ActionDetail("-", "env \(name)", depth: 2))
        }
        return out
    }

    static func entries(_ c: ContainerLaunch) -> (list: [(String, String)], map: [String: String]) {
        var list: [(String, String)] = []
        var map: [String: String] = [:]
        for entry in c.environment {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let name = String(entry[..<eq]), value = String(entry[entry.index(after: eq)...])
            if map.updateValue(value, forKey: name) == nil { list.append((name, value)) }
        }
        return (list, map)
    }

    /// By target: `+ mount /data`, `- mount /old`, `~ mount /cfg: read-only → read-write`.
    static func mounts(_ was: [MountSpec], _ now: [MountSpec]) -> [ActionDetail] {
        let before = Dictionary(was.map { ($0.target, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(now.map { ($0.target, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [ActionDetail] = []
        for m in now {
            guard let old = before[m.target] else {
                out.append(ActionDetail("+", "mount \(m.target)\(m.readOnly ? " (read-only)" : "")", depth: 2))
                continue
            }
            if old.readOnly != m.readOnly {
                out.append(ActionDetail("~", "mount \(m.target): \(mode(old)) → \(mode(m))", depth: 2))
            } else if old.source != m.source || old.isFile != m.isFile {
                out.append(ActionDetail("~", "mount \(m.target): another source", depth: 2))
            }
        }
        for m in was where after[m.target] == nil {
            out.append(ActionDetail("-", "mount \(m.target)", depth: 2))
        }
        return out
    }

    static func mode(_ m: MountSpec) -> String { m.readOnly ? "read-only" : "read-write" }

    static func root(_ r: RootSource) -> String {
        switch r {
        case .host: return "host"
        case .image(let layers, _, _): return layers.joined(separator: ":")
        }
    }

    static func list(_ groups: [UInt32]) -> String { groups.isEmpty ? "(none)" : groups.map(String.init).joined(separator: ",") }

    static func caps(_ c: CapabilityMasks?) -> String {
        guard let c else { return "all (privileged)" }
        return "effective 0x" + String(c.effective, radix: 16)
    }
}
