import Seccomp
import Testing

@Suite struct SeccompProfileTests {
    static func parse(_ json: String) throws(SeccompProfileError) -> SeccompProfile {
        try SeccompProfile.parse(Array(json.utf8))
    }

    static func error(_ json: String) -> String? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func parsesTheOCIForm() throws {
        let p = try Self.parse("""
            {"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
             "syscalls": [
               {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
               {"names": ["clone"], "action": "SCMP_ACT_KILL_PROCESS",
                "args": [{"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]}
             ]}
            """)
        #expect(p.defaultAction == .allow)
        #expect(p.defaultErrnoRet == 1)
        #expect(p.architectures == ["x86_64", "x86"])
        #expect(p.syscalls.count == 2)
        #expect(p.syscalls[0].names == ["mkdir", "mkdirat"])
        #expect(p.syscalls[0].action == .errno && p.syscalls[0].errnoRet == 13)
        #expect(p.syscalls[1].args == [SeccompProfile.Argument(index: 0, value: 0x1000_0000, valueTwo: 0x1000_0000, op: .maskedEqual)])
    }

    @Test func dockerIncludesExcludesAndArchMap() throws {
        let p = try Self.parse("""
            {"defaultAction": "SCMP_ACT_ERRNO",
             "archMap": [{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
                         {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
             "syscalls": [
               {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
               {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
               {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
               {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
               {"names": ["futuristic"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
               {"names": ["arm_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}}
             ]}
            """)
        #expect(p.architectures == ["x86_64", "x86", "x32"])
        // The arm64-only rule is not part of an x86_64 profile at all.
        #expect(!p.syscalls.contains { $0.names == ["arm_only"] })
        let admin = p.applicableRules(bounding: ["CAP_SYS_ADMIN"], kernel: (6, 1)).flatMap(\.names)
        let plain = p.applicableRules(bounding: ["CAP_CHOWN"], kernel: (6, 1)).flatMap(\.names)
        #expect(admin == ["read", "mount", "ptrace"])
        #expect(plain == ["read", "clone", "ptrace"])
        #expect(p.applicableRules(bounding: [], kernel: (4, 4)).flatMap(\.names) == ["read", "clone"])
    }

    @Test(arguments: [
        (#"{"defaultAction": "#, "not JSON"),
        ("[1]", "not a JSON object"),
        (#"{"syscalls": []}"#, "defaultAction: is required"),
        (#"{"defaultAction": "SCMP_ACT_DENY"}"#, #"defaultAction: unknown action "SCMP_ACT_DENY""#),
        (#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#, "defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent"),
        (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]}"#,
         #"syscalls[0].action: unknown action "SCMP_ACT_NOPE""#),
        (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}"#,
         "syscalls[0].names: is required"),
        (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
         "syscalls[0].args[0].index: 6 is not a syscall argument"),
        (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "EQ"}]}]}"#,
         #"syscalls[0].args[0].op: unknown operator "EQ""#),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}"#, "defaultErrnoRet: 70000 is not an errno"),
        (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": "mkdir", "action": "SCMP_ACT_ERRNO"}]}"#,
         "syscalls[0].names: is not a list"),
    ])
    func refusesWithWhereAndWhy(json: String, expected: String) {
        let e = Self.error(json)
        #expect(e?.contains(expected) == true, "\(e ?? "parsed")")
    }

    @Test func runtimeDefaultHasContainerdsShape() {
        let plain = RuntimeDefault.profile(bounding: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"])
        #expect(plain.defaultAction == .errno && plain.defaultErrnoRet == nil)  // EPERM
        #expect(plain.architectures == ["x86_64", "x86", "x32"])
        let allowed = Set(plain.syscalls.filter { $0.args.isEmpty && $0.action == .allow }.flatMap(\.names))
        // The escape surface stays closed without the capabilities...
        for denied in ["unshare", "setns", "mount", "umount2", "keyctl", "add_key", "request_key", "bpf", "reboot",
                       "userfaultfd", "init_module", "kexec_load", "open_by_handle_at", "chroot", "io_uring_setup", "clone3"] {
            #expect(!allowed.contains(denied), "\(denied)")
        }
        // ...and ordinary work is open.
        for needed in ["read", "write", "openat", "execve", "mmap", "futex", "epoll_wait", "accept4", "bind", "listen", "wait4", "close_range"] {
            #expect(allowed.contains(needed), "\(needed)")
        }
        #expect(RuntimeDefault.allowed.count == Set(RuntimeDefault.allowed).count)
        // clone only without namespace flags, clone3 answered ENOSYS, socket in three ranges.
        let clone = plain.syscalls.filter { $0.names == ["clone"] }
        #expect(clone.count == 1 && clone[0].args == [SeccompProfile.Argument(index: 0, value: 0x7e02_0000, valueTwo: 0, op: .maskedEqual)])
        #expect(plain.syscalls.contains { $0.names == ["clone3"] && $0.action == .errno && $0.errnoRet == 38 })
        #expect(plain.syscalls.filter { $0.names == ["socket"] }.map { $0.args[0].op } == [.lessThan, .equalTo, .greaterThan])
        #expect(plain.syscalls.filter { $0.names == ["personality"] }.count == 5)

        let admin = RuntimeDefault.profile(bounding: ["CAP_SYS_ADMIN", "CAP_SYS_BOOT"])
        let adminAllowed = Set(admin.syscalls.filter { $0.args.isEmpty && $0.action == .allow }.flatMap(\.names))
        #expect(adminAllowed.isSuperset(of: ["clone", "clone3", "unshare", "mount", "setns", "bpf", "reboot"]))
        #expect(!admin.syscalls.contains { $0.names == ["clone3"] && $0.action == .errno })
    }
}

@Suite struct SeccompCompilerTests {
    @Test func compilesRuntimeDefaultToWholeInstructions() throws {
        let bytes = try SeccompCompiler.compile(RuntimeDefault.profile(bounding: []), bounding: [], unknown: .skip)
        #expect(bytes.count % 8 == 0 && bytes.count / 8 > 100 && bytes.count / 8 <= 4096)
        // The same input, the same program: content addressing depends on it.
        #expect(try SeccompCompiler.compile(RuntimeDefault.profile(bounding: []), bounding: [], unknown: .skip) == bytes)
        let admin = try SeccompCompiler.compile(RuntimeDefault.profile(bounding: ["CAP_SYS_ADMIN"]), bounding: ["CAP_SYS_ADMIN"], unknown: .skip)
        #expect(admin != bytes)
    }

    @Test func refusesAnUnknownSyscallInALocalhostProfile() throws {
        let p = try SeccompProfile.parse(Array(#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "no_such_call"], "action": "SCMP_ACT_ERRNO"}]}"#.utf8))
        #expect(throws: SeccompProfileError.self) { try SeccompCompiler.compile(p, bounding: [], unknown: .refuse) }
        do {
            _ = try SeccompCompiler.compile(p, bounding: [], unknown: .refuse)
        } catch {
            #expect(error.description.contains(#"syscalls[0].names: unknown syscall "no_such_call""#))
        }
        // The same profile, lenient (as RuntimeDefault is compiled), skips the name.
        #expect(try SeccompCompiler.compile(p, bounding: [], unknown: .skip).count % 8 == 0)
    }

    @Test func hashNamesTheBytes() {
        #expect(SeccompStore.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
