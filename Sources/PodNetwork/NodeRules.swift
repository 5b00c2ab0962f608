import Kernel
import PodModel

/// The nat rules the plugins leave in the node's network namespace for a pod, read and
/// removed by podrec itself, where the 1.1.1 plugins fall short (measured on Debian's
/// containernetworking-plugins 1.1.1 with iptables 1.8.9, nf_tables):
///
/// - bridge's DEL with an empty `CNI_NETNS` (the pod's namespace is gone) only releases the
///   address: its `ipMasq` rules (`POSTROUTING -s <pod IP> ... -j CNI-<hash>` and that
///   chain) stay for ever;
/// - portmap's CHECK fails on every IPv4-only pod of a host with ip6tables ("could not check
///   ipv6 dnat: chain CNI-DN-... not found"), so it cannot tell a flushed nat table from a
///   healthy one; podrec checks the DNAT rules itself.
///
/// Both plugins tag their rules with a comment `name: "<network>" id: "<container id>"`
/// (portmap's DNAT jump: `dnat name: ...`), which is how a rule is traced to its pod here.
struct NodeRules {
    let runner: CNIRunner

    struct Rule: Hashable {
        var chain: String
        /// The rule's words after `-A <chain>`, unquoted.
        var spec: [String]

        /// The container id of the comment `... id: "<id>"`, if any.
        var containerID: String? {
            guard let i = spec.firstIndex(of: "--comment"), i + 1 < spec.count else { return nil }
            let comment = spec[i + 1]
            guard let r = comment.ranges(of: "id: \"").last else { return nil }
            let rest = comment[r.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }

        var comment: String? {
            spec.firstIndex(of: "--comment").flatMap { $0 + 1 < spec.count ? spec[$0 + 1] : nil }
        }

        /// The `-j` target.
        var target: String? {
            spec.firstIndex(of: "-j").flatMap { $0 + 1 < spec.count ? spec[$0 + 1] : nil }
        }

        func value(_ option: String) -> String? {
            spec.firstIndex(of: option).flatMap { $0 + 1 < spec.count ? spec[$0 + 1] : nil }
        }
    }

    /// Chains that the plugins share between pods: a rule in one may go, the chain stays.
    static let shared: Set<String> = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK", "CNI-FORWARD", "CNI-ADMIN"]

    /// `iptables` or `ip6tables` from the plugins' PATH; nil when the host has none.
    func tool(ipv6: Bool) -> String? {
        let name = ipv6 ? "ip6tables" : "iptables"
        return runner.path.split(separator: ":").lazy.map { "\($0)/\(name)" }.first { Sys.isExecutable($0) }
    }

    func iptables(_ tool: String, _ arguments: [String]) throws(NetworkError) -> [UInt8] {
        let output: CNIRunner.Output
        do { output = try runner.run([tool, "-w"] + arguments, environment: ["PATH=" + runner.path]) } catch {
            switch error {
            case .timeout(let ms): throw .drift("\(tool) \(arguments.joined(separator: " ")): no answer after \(ms) ms; killed")
            case .failed(let why): throw .drift("\(tool) \(arguments.joined(separator: " ")): \(why)")
            }
        }
        guard output.status == .exited(0) else {
            let text = String(decoding: output.stderr, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            throw .drift("\(tool) \(arguments.joined(separator: " ")): \(output.status): \(text)")
        }
        return output.stdout
    }

    /// The nat table's rules (`-S`).
    func natRules(_ tool: String) throws(NetworkError) -> [Rule] {
        let text = String(decoding: try iptables(tool, ["-t", "nat", "-S"]), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line -> Rule? in
            let words = Self.words(line)
            guard words.count >= 2, words[0] == "-A" else { return nil }
            return Rule(chain: words[1], spec: Array(words.dropFirst(2)))
        }
    }

    /// Removes every nat rule whose comment names a container id that `owned` accepts, and
    /// the per-pod chains those rules jump to (`CNI-…`, never a shared one), in both
    /// families. What it removed, one line each; a failure is a line too: this is a sweep.
    func sweep(_ owned: (String) -> Bool) -> [String] {
        var out: [String] = []
        for tool in [tool(ipv6: false), tool(ipv6: true)].compactMap({ $0 }) {
            let rules: [Rule]
            do { rules = try natRules(tool) } catch {
                out.append("could not list the nat rules: \(error)")
                continue
            }
            let tagged = rules.filter { $0.containerID.map(owned) ?? false }
            let chains = Set(tagged.compactMap(\.target).filter { $0.hasPrefix("CNI-") && !Self.shared.contains($0) })
            for rule in tagged where !chains.contains(rule.chain) {
                do {
                    _ = try iptables(tool, ["-t", "nat", "-D", rule.chain] + rule.spec)
                    out.append("\(baseName(tool)) nat rule in \(rule.chain) for \(rule.containerID ?? "?")")
                } catch { out.append("could not remove a nat rule: \(error)") }
            }
            for chain in chains.sorted() {
                do {
                    _ = try iptables(tool, ["-t", "nat", "-F", chain])
                    _ = try iptables(tool, ["-t", "nat", "-X", chain])
                    out.append("\(baseName(tool)) nat chain \(chain)")
                } catch { out.append("could not remove a nat chain: \(error)") }
            }
        }
        return out
    }

    /// podrec's own check of what CHECK cannot see for `a` with pod IP `ip`: each hostPort's
    /// DNAT rule (portmap), and the masquerade rule (bridge with `ipMasq`). nil when all are
    /// there.
    ///
    /// `listed` caches the nat rules by tool, so that a check of many pods lists them once.
    func check(_ a: NetworkAttachment, conflist: Conflist, podIP: String, listed: inout [String: [Rule]]) -> NetworkError? {
        let v6 = podIP.contains(":")
        let portmap = conflist.plugins.contains { $0["type"]?.string == "portmap" }
        let masq = conflist.plugins.contains { $0["type"]?.string == "bridge" && $0["ipMasq"]?.bool == true }
        let mappings = a.portMappings.filter { ($0.proto == "tcp" || $0.proto == "udp") && ($0.hostIP.isEmpty || $0.hostIP.contains(":") == v6) }
        guard (portmap && !mappings.isEmpty) || masq else { return nil }
        guard let tool = tool(ipv6: v6) else { return .drift("podrec check: no \(v6 ? "ip6tables" : "iptables") to read the node's nat rules with") }
        let rules: [Rule]
        if let cached = listed[tool] { rules = cached } else {
            do { rules = try natRules(tool) } catch { return error }
            listed[tool] = rules
        }
        let mine = rules.filter { $0.containerID == a.containerID }
        if masq, !mine.contains(where: { $0.chain == "POSTROUTING" && $0.value("-s")?.hasPrefix(podIP + "/") == true }) {
            return .drift("podrec check: no masquerade rule for \(podIP) (\(a.containerID)) in the node's nat POSTROUTING chain")
        }
        guard portmap, !mappings.isEmpty else { return nil }
        let dnatChains = Set(mine.filter { $0.chain == "CNI-HOSTPORT-DNAT" }.compactMap(\.target))
        let destination = { (port: Int) in v6 ? "[\(podIP)]:\(port)" : "\(podIP):\(port)" }
        for m in mappings {
            let found = rules.contains { r in
                dnatChains.contains(r.chain) && r.target == "DNAT" && r.value("-p") == m.proto && r.value("--dport") == String(m.hostPort)
                    && r.value("--to-destination") == destination(m.containerPort)
                    && (m.hostIP.isEmpty || r.value("-d")?.hasPrefix(m.hostIP + "/") == true)
            }
            if !found {
                return .drift("podrec check: no DNAT rule for host port \(m) to \(destination(m.containerPort)) in the node's nat table")
            }
        }
        return nil
    }

    /// Splits a line of `iptables -S` into words as a shell would: double quotes group,
    /// and `\"` inside them is a quote (how iptables prints a comment).
    static func words(_ line: Substring) -> [String] {
        var out: [String] = []
        var word = ""
        var inWord = false, quoted = false, escaped = false
        for ch in line {
            if escaped {
                word.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
                inWord = true
            } else if ch == "\"" {
                quoted.toggle()
                inWord = true
            } else if ch == " " && !quoted {
                if inWord { out.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(ch)
                inWord = true
            }
        }
        if inWord { out.append(word) }
        return out
    }
}
