import Glibc

extension Sys {
    /// The node's address, as kubelet picks its node IP when none is given: the first IPv4
    /// address of the interface that holds the default route (`/proc/net/route`), else the
    /// first IPv4 address not on loopback, else 127.0.0.1. It is `status.hostIP`, and a
    /// hostNetwork pod's IP.
    public static func nodeAddress(proc: String = "/proc") -> String {
        let addresses = interfaceAddresses()
        if let route = try? readString(proc + "/net/route") {
            for line in route.split(separator: "\n").dropFirst() {
                let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                guard f.count > 2, f[1] == "00000000" else { continue }
                if let a = addresses.first(where: { $0.interface == f[0] }) { return a.address }
            }
        }
        return addresses.first { !$0.address.hasPrefix("127.") }?.address ?? "127.0.0.1"
    }

    /// Every IPv4 address of every interface (getifaddrs(3)), in the kernel's order.
    public static func interfaceAddresses() -> [(interface: String, address: String)] {
        var head: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var out: [(String, String)] = []
        var p = head
        while let entry = p {
            defer { p = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let ok = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var addr = sin.pointee.sin_addr
                return inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil
            }
            if ok { out.append((String(cString: entry.pointee.ifa_name), String(cString: text))) }
        }
        return out
    }
}
