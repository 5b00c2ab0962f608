import Kernel
import PodModel

extension PodVolumes {
    /// Writes the pod's `/etc/hosts`, `layout.hostsFile`, 0644, as kubelet writes it
    /// (`pkg/kubelet/kubelet_pods.go`, `ensureHostsFile`):
    ///
    /// - A pod with its own network: the header, the localhost and IPv6 lines, the pod's
    ///   hostname on `podIP` (its first IP; 127.0.0.1 for a pod with only `lo`), then
    ///   `hostAliases`.
    /// - `hostNetwork`: the host's `/etc/hosts` (read below `hostRoot`, symlinks followed
    ///   inside it; a missing one counts as empty, where kubelet fails) after the header
    ///   "(host network)", then `hostAliases`.
    ///
    /// `aliases` are the pod's `hostAliases`, one line each: the ip, then its hostnames.
    ///
    /// The file is replaced atomically (a new inode): containers started later see the new
    /// one, running ones keep the one they bound.
    @discardableResult
    public func writeHosts(layout: PodLayout, hostname: String, aliases: [(ip: String, hostnames: [String])], hostNetwork: Bool,
                           podIP: String = "127.0.0.1", hostRoot: String = "/") throws(VolumeError) -> String {
        try Self.checkUID(layout)
        let path = layout.hostsFile
        var hostHosts: [UInt8]? = nil
        if hostNetwork {
            do { hostHosts = try Self.readHostFile("/etc/hosts", hostRoot: hostRoot) ?? [] } catch {
                throw VolumeError(volume: nil, path: VolumePaths.join(root: hostRoot, "/etc/hosts"), .kernel(error))
            }
        }
        let content = try Self.hostsFileContent(hostname: hostname, aliases: aliases, hostHosts: hostHosts, podIP: podIP, path: path)
        try write(content, to: path, layout: layout)
        return path
    }

    /// The hosts file: `hostHosts` is the host's `/etc/hosts` for a `hostNetwork` pod, nil
    /// for a pod with a network of its own. `path` names the file in errors.
    public static func hostsFileContent(hostname: String, aliases: [(ip: String, hostnames: [String])], hostHosts: [UInt8]?,
                                        podIP: String = "127.0.0.1", path: String = "etc-hosts") throws(VolumeError) -> [UInt8] {
        for entry in [hostname, podIP] + aliases.flatMap({ [$0.ip] + $0.hostnames }) where !isHostsField(entry) {
            throw VolumeError(volume: nil, path: path, .invalidHostsEntry(entry))
        }
        var out: [UInt8]
        if let hostHosts {
            out = Array("# Kubernetes-managed hosts file (host network).\n".utf8) + hostHosts
            if let last = out.last, last != 0x0a { out.append(0x0a) }
        } else {
            out = Array("""
                # Kubernetes-managed hosts file.
                127.0.0.1\tlocalhost
                ::1\tlocalhost ip6-localhost ip6-loopback
                fe00::0\tip6-localnet
                fe00::0\tip6-mcastprefix
                fe00::1\tip6-allnodes
                fe00::2\tip6-allrouters
                \(podIP)\t\(hostname)

                """.utf8)
        }
        if !aliases.isEmpty {
            out += Array("\n# Entries added by HostAliases.\n".utf8)
            for alias in aliases {
                out += Array("\(alias.ip)\t\(alias.hostnames.joined(separator: "\t"))\n".utf8)
            }
        }
        return out
    }

    /// Writes the pod's `/etc/resolv.conf`, `layout.resolvConfFile`, 0644, by its `dnsPolicy`
    /// and `dnsConfig` (`ResolvConf`): from the host's `<hostRoot>/etc/resolv.conf`
    /// (symlinks followed inside `hostRoot`, as systemd's `/etc/resolv.conf ->
    /// ../run/systemd/resolve/stub-resolv.conf`), or, when that names systemd-resolved's
    /// stub, from `/run/systemd/resolve/resolv.conf`, its real upstreams. The stub and every
    /// other loopback nameserver do not answer from a pod's own network namespace.
    @discardableResult
    public func writeResolvConf(layout: PodLayout, dns: PodDNS = PodDNS(), hostRoot: String = "/") throws(VolumeError) -> String {
        try Self.checkUID(layout)
        var host = ResolvConf.Parsed()
        if dns.policy != "None" {
            var file = "/etc/resolv.conf"
            do {
                host = ResolvConf.parse(try Self.readHostFile(file, hostRoot: hostRoot) ?? [])
                if ResolvConf.usesResolvedStub(host) {
                    file = "/run/systemd/resolve/resolv.conf"
                    if let upstream = try Self.readHostFile(file, hostRoot: hostRoot) { host = ResolvConf.parse(upstream) }
                }
            } catch {
                throw VolumeError(volume: nil, path: VolumePaths.join(root: hostRoot, file), .kernel(error))
            }
        }
        try write(ResolvConf.render(ResolvConf.merge(host: host, pod: dns)), to: layout.resolvConfFile, layout: layout)
        return layout.resolvConfFile
    }

    private func write(_ content: [UInt8], to path: String, layout: PodLayout) throws(VolumeError) {
        do {
            try Sys.mkdirs(layout.dataDirectory, mode: 0o700)
            try Sys.writeFileAtomically(path, content, mode: 0o644, durable: false)
        } catch {
            throw VolumeError(volume: nil, path: path, .kernel(error))
        }
    }

    /// A field of a hosts line: not empty, no whitespace, no control character, no `#`.
    static func isHostsField(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7f && $0 != UInt8(ascii: "#") }
    }

    /// The host file at `path` (absolute) as seen from `hostRoot`: a symlink in its last
    /// component is followed inside `hostRoot` (an absolute target is taken from
    /// `hostRoot`, `..` never climbs above it), up to 40 links as the kernel allows. nil
    /// when nothing is there (or only a dangling link).
    static func readHostFile(_ path: String, hostRoot: String) throws(KernelError) -> [UInt8]? {
        var p = VolumePaths.normalize(path)
        for _ in 0..<40 {
            let full = VolumePaths.join(root: hostRoot, p)
            let st: Sys.FileStatus
            do { st = try Sys.stat(full, followSymlinks: false) } catch where error.isNotFound { return nil }
            guard st.isSymlink else { break }
            let target = try Sys.readlink(full)
            p = VolumePaths.normalize(target.hasPrefix("/") ? target : parentDirectory(p) + "/" + target)
        }
        do { return try Sys.readFile(VolumePaths.join(root: hostRoot, p)) } catch where error.isNotFound { return nil }
    }
}
