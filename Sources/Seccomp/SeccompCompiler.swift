import CSeccomp
import Glibc
import Kernel

/// A profile compiled to a classic BPF program with libseccomp (the library runc and crun
/// use), in the reconciler: the supervisor and the spawn shim never link libseccomp, they
/// only hand these bytes to the kernel. Compiling at plan time is what makes a bad profile
/// an error of `apply` and `diff`, before any pod is created.
public enum SeccompCompiler {
    /// How names unknown to this libseccomp are treated.
    public enum UnknownSyscalls: Sendable {
        /// Skipped, as runc skips them: for `RuntimeDefault`, whose table names syscalls of
        /// kernels newer than the host's libseccomp knows.
        case skip
        /// An error naming the syscall: for a `Localhost` profile, whose author meant it.
        case refuse
    }

    // libseccomp's action values (seccomp.h's SCMP_ACT_* macros, which Swift does not import).
    static func actionValue(_ a: SeccompProfile.Action, errno: UInt32?) -> UInt32 {
        switch a {
        case .kill, .killThread: return 0x0000_0000
        case .killProcess: return 0x8000_0000
        case .trap: return 0x0003_0000
        case .errno: return 0x0005_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        case .trace: return 0x7ff0_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        case .log: return 0x7ffc_0000
        case .allow: return 0x7fff_0000
        }
    }

    static func comparison(_ op: SeccompProfile.Operator) -> scmp_compare {
        switch op {
        case .notEqual: return SCMP_CMP_NE
        case .lessThan: return SCMP_CMP_LT
        case .lessOrEqual: return SCMP_CMP_LE
        case .equalTo: return SCMP_CMP_EQ
        case .greaterOrEqual: return SCMP_CMP_GE
        case .greaterThan: return SCMP_CMP_GT
        case .maskedEqual: return SCMP_CMP_MASKED_EQ
        }
    }

    /// The running kernel's (major, minor), for `includes.minKernel`.
    public static func kernelVersion() -> (major: Int, minor: Int) {
        var u = utsname()
        guard uname(&u) == 0 else { return (0, 0) }
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
    }

    /// The BPF program of `profile` for a container whose bounding set is `bounding`
    /// (names, `CAP_...`): `struct sock_filter[]`, as `seccomp_export_bpf` writes it.
    public static func compile(_ profile: SeccompProfile, bounding: Set<String>, unknown: UnknownSyscalls,
                               kernel: (major: Int, minor: Int) = kernelVersion()) throws(SeccompProfileError) -> [UInt8] {
        guard let ctx = seccomp_init(actionValue(profile.defaultAction, errno: profile.defaultErrnoRet)) else {
            throw SeccompProfileError("defaultAction", "libseccomp refused it")
        }
        defer { seccomp_release(ctx) }
        for arch in profile.architectures {
            let token = seccomp_arch_resolve_name(arch)
            guard token != 0 else { throw SeccompProfileError("architectures", "unknown architecture \(arch.debugDescription)") }
            let rc = seccomp_arch_add(ctx, token)
            // The native architecture is in every new filter already.
            guard rc == 0 || rc == -EEXIST else { throw SeccompProfileError("architectures", "\(arch): \(String(cString: strerror(-rc)))") }
        }

        let defaultValue = actionValue(profile.defaultAction, errno: profile.defaultErrnoRet)
        for (i, rule) in profile.syscalls.enumerated() {
            let at = "syscalls[\(i)]"
            let wanted = profile.applicableRules(bounding: bounding, kernel: kernel)
            guard wanted.contains(rule) else { continue }
            let action = actionValue(rule.action, errno: rule.errnoRet ?? profile.defaultErrnoRet)
            // libseccomp refuses a rule that does what the default does; runc drops it too.
            if action == defaultValue { continue }
            let conditions = rule.args.map {
                scmp_arg_cmp(arg: $0.index, op: comparison($0.op), datum_a: $0.value, datum_b: $0.valueTwo)
            }
            // Two conditions on one argument cannot share a libseccomp rule (it refuses
            // them): runc then adds one rule per condition, which ORs them. So does podrec.
            let sameArgument = Set(rule.args.map(\.index)).count < rule.args.count
            let groups = sameArgument ? conditions.map { [$0] } : [conditions]
            for name in rule.names {
                let nr = seccomp_syscall_resolve_name(name)
                if nr == -1 {  // __NR_SCMP_ERROR
                    if case .skip = unknown { continue }
                    throw SeccompProfileError(at + ".names", "unknown syscall \(name.debugDescription) (not known to libseccomp \(libraryVersion))")
                }
                for group in groups {
                    let rc = group.withUnsafeBufferPointer { seccomp_rule_add_array(ctx, action, nr, UInt32($0.count), $0.baseAddress) }
                    guard rc == 0 else {
                        throw SeccompProfileError(at, "\(name): libseccomp refused the rule: \(String(cString: strerror(-rc)))")
                    }
                }
            }
        }

        // Exported through a memfd: libseccomp writes to an fd, and nothing touches a disk.
        let fd: Int32
        do { fd = try Sys.memoryFile("podrec-seccomp", []) } catch { throw SeccompProfileError("", error.description) }
        defer { close(fd) }
        let rc = seccomp_export_bpf(ctx, fd)
        guard rc == 0 else { throw SeccompProfileError("", "libseccomp could not export the program: \(String(cString: strerror(-rc)))") }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0, lseek(fd, 0, SEEK_SET) == 0 else { throw SeccompProfileError("", "the exported program is empty") }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SeccompProfileError("", "reading the exported program: \(String(cString: strerror(errno)))") }
            got += n
        }
        guard bytes.count / 8 <= 4096 else {
            throw SeccompProfileError("", "the program has \(bytes.count / 8) instructions, more than the kernel's 4096")
        }
        return bytes
    }

    /// `2.5.4`.
    public static var libraryVersion: String {
        guard let v = seccomp_version() else { return "?" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)"
    }
}
