import Kernel

/// One entry of a device allowlist, as the v1 devices controller spells it:
/// `c 1:3 rwm`. nil major or minor is `*`.
public struct DeviceRule: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable { case char = "c", block = "b", all = "a" }
    public var kind: Kind
    public var major: Int?
    public var minor: Int?
    public var access: String

    public init(_ kind: Kind, _ major: Int?, _ minor: Int?, _ access: String = "rwm") {
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = access
    }

    public var description: String {
        if kind == .all { return "a" }
        return "\(kind.rawValue) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access)"
    }

    /// runc's default allowlist for a non-privileged container (libcontainer/specconv
    /// `AllowedDevices`): mknod of anything, and read/write of the usual nodes only.
    public static let containerDefault: [DeviceRule] = [
        DeviceRule(.char, nil, nil, "m"), DeviceRule(.block, nil, nil, "m"),
        DeviceRule(.char, 1, 3), DeviceRule(.char, 1, 5), DeviceRule(.char, 1, 7),  // null, zero, full
        DeviceRule(.char, 1, 8), DeviceRule(.char, 1, 9),                          // random, urandom
        DeviceRule(.char, 5, 0), DeviceRule(.char, 5, 1), DeviceRule(.char, 5, 2), // tty, console, ptmx
        DeviceRule(.char, 136, nil),                                               // pts
    ]
}

extension V1Driver {
    /// Denies every device in `path`'s devices cgroup, then allows `rules`. A child of a
    /// restricted cgroup can never have more than it, so this is set on the container's
    /// own cgroup, never on the pod's (a privileged container beside it keeps all).
    public func restrictDevices(_ path: String, allow rules: [DeviceRule]) throws(CgroupError) {
        let deny = try knob("devices", path, "devices.deny")
        let allow = try knob("devices", path, "devices.allow")
        try Knobs.write(deny, "a")
        for rule in rules { try Knobs.write(allow, rule.description) }
    }
}

extension V2Driver {
    /// Allows only `rules` to the processes of `path` and below: cgroup v2 has no devices
    /// files, so this attaches a BPF_PROG_TYPE_CGROUP_DEVICE program (default deny, as v1's
    /// `a` in devices.deny) to the cgroup, as runc and crun do (`Sys.attachDeviceFilter`).
    /// As on v1 it is set on the container's own cgroup, never on the pod's.
    ///
    /// Each call attaches one more program, and a device must pass all of them: call it
    /// once, when the cgroup is made. The programs go with the cgroup when it is removed.
    public func restrictDevices(_ path: String, allow rules: [DeviceRule]) throws(CgroupError) {
        _ = try CgroupPaths.validate(path)
        var filter: [DeviceFilterRule] = []
        for rule in rules { filter.append(try rule.filterRule()) }
        do { try Sys.attachDeviceFilter(cgroupDirectory: directory(path), rules: filter) } catch { throw .kernel(error) }
    }
}

extension DeviceRule {
    /// The BPF filter's form of the rule. `.all` is every device with every access, as the
    /// v1 controller reads the `a` that `description` writes for it.
    func filterRule() throws(CgroupError) -> DeviceFilterRule {
        if kind == .all { return DeviceFilterRule(.all, major: nil, minor: nil, access: .all) }
        var access: DeviceFilterRule.Access = []
        for c in self.access {
            switch c {
            case "r": access.insert(.read)
            case "w": access.insert(.write)
            case "m": access.insert(.mknod)
            default: throw .invalidValue("device access \"\(self.access)\" in \"\(description)\": only r, w and m")
            }
        }
        for n in [major, minor] {
            if let n, n < 0 || n > Int(Int32.max) { throw .invalidValue("device number \(n) in \"\(description)\"") }
        }
        return DeviceFilterRule(kind == .char ? .char : .block, major: major, minor: minor, access: access)
    }
}
