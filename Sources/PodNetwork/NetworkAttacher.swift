import Glibc
import Kernel
import PodModel

/// A pod's attachment to the pod network, over `NetworkLayout`: ADD with the record written
/// first, DEL from that record, CHECK, the net namespace's pin, and the garbage collection
/// that the 1.1.1 plugins have no verb for.
///
/// One attachment is (container id, ifname); the caller never runs two operations on one at
/// once (the pass lock serialises passes).
public struct NetworkAttacher: Sendable {
    public let layout: NetworkLayout
    public let runner: CNIRunner

    public init(layout: NetworkLayout, runner: CNIRunner) {
        self.layout = layout
        self.runner = runner
    }

    /// Plugins from `settings.binDirectories`, run in `netns` (nil: the caller's own), each
    /// run told to `timed` (`CNIRunner.timed`).
    public init(layout: NetworkLayout, settings: NetworkSettings, runIn netns: String? = nil, timeoutMilliseconds: Int32 = 10_000,
                timed: CNIRunner.Timing? = nil) {
        var runner = CNIRunner(binDirectories: settings.binDirectories, runIn: netns, timeoutMilliseconds: timeoutMilliseconds)
        runner.timed = timed
        self.init(layout: layout, runner: runner)
    }

    var records: AttachmentRecords { AttachmentRecords(layout: layout) }
    var rules: NodeRules { NodeRules(runner: runner) }

    // MARK: ADD

    /// Attaches the pod whose net namespace is `netns` (its pin, `pin(pid:containerID:)`).
    ///
    /// Writes podrec's default conflist first if this is the default network and the file
    /// is missing, then the record (before ADD: the plugins allocate even when ADD fails,
    /// and DEL must be able to repeat the same arguments after any crash), then runs each
    /// plugin's ADD with the previous one's result, and caches the last result. On any
    /// failure it runs DEL (best effort), removes result and record, and throws the ADD
    /// error. Refuses when a result is cached: the caller DELs first.
    public func attach(_ a: NetworkAttachment, netns: String) throws(NetworkError) -> AttachResult {
        let conflist = try Conflist(a.network.bytes, file: a.network.file)
        if records.hasResult(a.containerID, ifName: a.ifName) {
            throw .alreadyAttached(containerID: a.containerID, ifName: a.ifName)
        }
        if a.network.isDefault && !Sys.exists(a.network.file) {
            do {
                try Sys.mkdirs(parentDirectory(a.network.file), mode: 0o755)
                try Sys.writeFileAtomically(a.network.file, a.network.bytes, mode: 0o644)
            } catch { throw .kernel(error) }
        }
        // A record without a result: an ADD that never finished (podrec died in it). Its
        // allocations may be held: DEL them before ADD again.
        if let old = try? records.read(a.containerID, ifName: a.ifName) {
            _ = tearDown(old, result: nil, netns: netns)
        }
        try records.write(a)
        var result: JSON?
        do throws(NetworkError) {
            for plugin in conflist.plugins {
                result = try runner.invoke(.add, type: plugin["type"]?.string ?? "",
                                           config: Self.pluginConfig(plugin, conflist: conflist, attachment: a, prevResult: result),
                                           containerID: a.containerID, netns: netns, ifName: a.ifName, args: a.argsString)
            }
            // Conflist guarantees one plugin at least, and ADD returns an object or throws.
            let final = result ?? [:]
            try records.writeResult(final, a.containerID, ifName: a.ifName)
            return AttachResult(result: final, ifName: a.ifName)
        } catch {
            _ = tearDown(a, result: result, netns: netns)
            try? records.removeResult(a.containerID, ifName: a.ifName)
            try? records.removeRecord(a.containerID, ifName: a.ifName)
            throw error
        }
    }

    /// A plugin's stdin, as libcni builds it: the plugin's own config with the conflist's
    /// `name` and `cniVersion`, `runtimeConfig` only for the capabilities it lists, and
    /// `prevResult` when there is one.
    public static func pluginConfig(_ plugin: JSON, conflist: Conflist, attachment: NetworkAttachment, prevResult: JSON?) -> JSON {
        var config = plugin
        config["name"] = .string(conflist.name)
        config["cniVersion"] = .string(conflist.cniVersion)
        var runtime: [String: JSON] = [:]
        for (capability, on) in plugin["capabilities"]?.object ?? [:] where on.bool == true {
            if let value = capabilityArguments(attachment)[capability] { runtime[capability] = value }
        }
        if !runtime.isEmpty { config["runtimeConfig"] = .object(runtime) }
        if let prevResult { config["prevResult"] = prevResult }
        return config
    }

    /// The capability arguments: `portMappings` as containerd passes them (hostIP only when
    /// set), and only when the pod has some.
    static func capabilityArguments(_ a: NetworkAttachment) -> [String: JSON] {
        guard !a.portMappings.isEmpty else { return [:] }
        let mappings = a.portMappings.map { m -> JSON in
            var o: [String: JSON] = ["hostPort": .int(Int64(m.hostPort)), "containerPort": .int(Int64(m.containerPort)), "protocol": .string(m.proto)]
            if !m.hostIP.isEmpty { o["hostIP"] = .string(m.hostIP) }
            return .object(o)
        }
        return ["portMappings": .array(mappings)]
    }

    // MARK: DEL

    /// Detaches from the record, verbatim: DEL in reverse plugin order with the cached
    /// result, `CNI_NETNS` the pin while it still holds a namespace, else empty (the plugins
    /// then release what they can without it). Best effort and idempotent: it succeeds when
    /// there is nothing to detach, and a plugin's failure is returned, not thrown. Then the
    /// pin, the result and the record go, the record last, so that a crash in between
    /// leaves something to collect. Throws only when those files cannot be removed.
    @discardableResult
    public func detach(containerID: String, ifName: String = "eth0") throws(NetworkError) -> [String] {
        var problems: [String] = []
        var record: NetworkAttachment?
        do { record = try records.read(containerID, ifName: ifName) } catch { problems.append("\(error); no DEL ran") }
        if let record {
            var cached: JSON?
            do { cached = try records.readResult(containerID, ifName: ifName) } catch { problems.append("\(error); DEL without prevResult") }
            let pin = layout.netnsPin(containerID)
            problems += tearDown(record, result: cached, netns: Self.isPinned(pin) ? pin : "")
        }
        try records.removeResult(containerID, ifName: ifName)
        if !((try? records.list()) ?? []).contains(where: { $0.containerID == containerID && $0.ifName != ifName }) {
            try unpin(containerID: containerID)
        }
        try records.removeRecord(containerID, ifName: ifName)
        return problems
    }

    /// DEL of every plugin, last first, each with `result` as prevResult; then the nat
    /// rules that still name the container (bridge's DEL leaves its masquerade when the
    /// namespace is gone). What failed or was swept, one line each.
    func tearDown(_ a: NetworkAttachment, result: JSON?, netns: String) -> [String] {
        var problems: [String] = []
        do {
            let conflist = try Conflist(a.network.bytes, file: a.network.file)
            let result = result ?? Self.resultFromLeases(a, conflist: conflist)
            for plugin in conflist.plugins.reversed() {
                do {
                    _ = try runner.invoke(.del, type: plugin["type"]?.string ?? "",
                                          config: Self.pluginConfig(plugin, conflist: conflist, attachment: a, prevResult: result),
                                          containerID: a.containerID, netns: netns, ifName: a.ifName, args: a.argsString)
                } catch { problems.append("\(error)") }
            }
        } catch { problems.append("\(error); no DEL ran") }
        problems += rules.sweep { $0 == a.containerID }.map { $0.hasPrefix("could not") ? $0 : "removed " + $0 + " that DEL left" }
        return problems
    }

    /// A stand-in for the result ADD never cached (podrec died first): the addresses
    /// host-local leased to the attachment, which it still holds until bridge's DEL. The
    /// firewall plugin's DEL removes its rules only for the addresses of its prevResult, and
    /// without one it removes nothing and succeeds (measured with 1.1.1).
    static func resultFromLeases(_ a: NetworkAttachment, conflist: Conflist) -> JSON? {
        let mine = leases(in: Set(conflist.hostLocalDataDirectories)).filter {
            $0.network == conflist.name && $0.containerID == a.containerID && ($0.ifName == nil || $0.ifName == a.ifName)
        }
        guard !mine.isEmpty else { return nil }
        let ips = mine.map { lease -> JSON in ["address": .string(lease.address + (lease.address.contains(":") ? "/128" : "/32"))] }
        return ["cniVersion": .string(conflist.cniVersion), "ips": .array(ips)]
    }

    // MARK: CHECK

    /// The plugins' CHECK with the cached result, in order, and podrec's own check of the
    /// nat rules: nil when the attachment is as ADD left it. portmap's CHECK is not run: in
    /// 1.1.1 it fails on every IPv4-only pod of a host with ip6tables (`NodeRules`).
    public func check(containerID: String, ifName: String = "eth0") -> NetworkError? {
        let a: NetworkAttachment
        let result: JSON
        do {
            guard let r = try records.read(containerID, ifName: ifName) else {
                return .notAttached(containerID: containerID, ifName: ifName, reason: "no record")
            }
            guard let cached = try records.readResult(containerID, ifName: ifName) else {
                return .notAttached(containerID: containerID, ifName: ifName, reason: "no cached result: ADD did not finish")
            }
            a = r
            result = cached
        } catch { return error }
        let pin = layout.netnsPin(containerID)
        guard Self.isPinned(pin) else {
            return .notAttached(containerID: containerID, ifName: ifName, reason: "its net namespace is no longer pinned at \(pin)")
        }
        do {
            let conflist = try Conflist(a.network.bytes, file: a.network.file)
            for plugin in conflist.plugins where plugin["type"]?.string != "portmap" {
                _ = try runner.invoke(.check, type: plugin["type"]?.string ?? "",
                                      config: Self.pluginConfig(plugin, conflist: conflist, attachment: a, prevResult: result),
                                      containerID: a.containerID, netns: pin, ifName: a.ifName, args: a.argsString)
            }
            var listed: [String: [NodeRules.Rule]] = [:]
            for ip in AttachResult(result: result, ifName: ifName).podIPs {
                if let drift = rules.check(a, conflist: conflist, podIP: ip, listed: &listed) { return drift }
            }
        } catch { return error }
        return nil
    }

    /// The check a pass makes of every live pod, cheap enough to run each time: the pin
    /// still holds a namespace, the host side of each interface the result names is still
    /// there (a veth deleted by hand takes the pod's end with it), and the nat rules (one
    /// listing for all pods, `NodeRules.check`). What is wrong, by container id. The plugins'
    /// own CHECK (`check`) costs a run of every plugin per pod, ~20 ms each here, so a pass
    /// over 50 pods would spend a second on it.
    public func verify(_ attachments: [RecordedAttachment]) -> [String: NetworkError] {
        var out: [String: NetworkError] = [:]
        var listed: [String: [NodeRules.Rule]] = [:]
        // The node's interfaces, as this process sees them: in the namespace the plugins run
        // in only when that is ours (`runIn` is for tests, which check with `check`).
        let interfaces: Set<String>? = runner.runIn == nil ? Self.interfaceNames() : nil
        for r in attachments {
            let a = r.attachment
            guard let result = r.result else {
                out[a.containerID] = .notAttached(containerID: a.containerID, ifName: a.ifName, reason: "no cached result: ADD did not finish")
                continue
            }
            let pin = layout.netnsPin(a.containerID)
            guard Self.isPinned(pin) else {
                out[a.containerID] = .notAttached(containerID: a.containerID, ifName: a.ifName, reason: "its net namespace is no longer pinned at \(pin)")
                continue
            }
            if let interfaces {
                if let name = result.hostInterfaces.first(where: { !interfaces.contains($0) }) {
                    out[a.containerID] = .drift("podrec check: the node's interface \(name) of \(a.containerID) is gone")
                    continue
                }
            }
            guard let conflist = try? Conflist(a.network.bytes, file: a.network.file) else { continue }
            for ip in result.podIPs {
                if let drift = rules.check(a, conflist: conflist, podIP: ip, listed: &listed) {
                    out[a.containerID] = drift
                    break
                }
            }
        }
        return out
    }

    /// The interfaces of this process's network namespace (`/proc/thread-self/net/dev`).
    static func interfaceNames() -> Set<String> {
        guard let text = try? Sys.readString("/proc/thread-self/net/dev") else { return [] }
        return Set(text.split(separator: "\n").dropFirst(2).compactMap { line in
            line.split(separator: ":", maxSplits: 1).first.map { String($0).trimmingWhitespace }
        })
    }

    // MARK: The net namespace's pin

    /// Pins the net namespace of `pid` at `<root>/network/netns/<containerID>` (a bind
    /// mount of `/proc/<pid>/ns/net` on an empty 0600 file in a 0700 dir), so that DEL can
    /// reach it after the process is gone. Pinning the same namespace again is fine.
    public func pin(pid: Int32, containerID: String) throws(NetworkError) -> String {
        let path = layout.netnsPin(containerID)
        let source = "/proc/\(pid)/ns/net"
        do throws(KernelError) {
            if Self.isPinned(path) {
                if try Sys.stat(path).inode == Sys.stat(source).inode { return path }
                throw KernelError("mount", path: path, argument: "pins another net namespace than \(source)", errno: .init(rawValue: EBUSY))
            }
            try Sys.mkdirs(layout.netnsPins, mode: 0o700)
            _ = try Sys.createEmptyFile(path, mode: 0o600)
            try Sys.mount(source: source, target: path, fstype: nil, flags: .bind, data: nil)
        } catch { throw .kernel(error) }
        return path
    }

    /// Unmounts the pin (MNT_DETACH: a plugin may still hold it open) and removes its file;
    /// idempotent.
    public func unpin(containerID: String) throws(NetworkError) {
        let path = layout.netnsPin(containerID)
        do {
            // Each pass unmounts one pin: a pin pinned twice by hand has two.
            for _ in 0..<8 where Self.isPinned(path) {
                do { try Sys.unmount(path, detach: true) } catch where error.isInvalidArgument || error.isNotFound { break }
            }
            try Sys.unlinkIfPresent(path)
        } catch { throw .kernel(error) }
    }

    /// Whether `path` is a mounted net namespace (nsfs) rather than the empty file under it.
    public static func isPinned(_ path: String) -> Bool {
        (try? Sys.filesystemType(path)) == Sys.nsfsMagic
    }
}
