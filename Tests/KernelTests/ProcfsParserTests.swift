import Kernel
import Procfs
import Testing
import PodModel

// Fixtures are copied from real files on the development host (Linux 6.18, cgroup v1
// hybrid) unless a comment says otherwise.

@Suite struct ProcfsStatParserTests {
    /// `cat /proc/self/stat`.
    static let catStat = "4719 (cat) R 4717 4717 3480 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 322070 3133440 394 18446744073709551615 93922927677440 93922927697321 140732215608320 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 93922927713328 93922927714944 93923426504704 140732215614160 140732215614180 140732215614180 140732215615467 0\n"

    @Test func realStat() throws {
        let s = try ProcParser.stat(Self.catStat)
        #expect(s.pid == 4719)
        #expect(s.comm == "cat")
        #expect(s.state == .running)
        #expect(s.ppid == 4717)
        #expect(s.processGroup == 4717)
        #expect(s.session == 3480)
        #expect(s.flags == 4_194_304)
        #expect(s.userTime == ClockTicks(0))
        #expect(s.systemTime == ClockTicks(0))
        #expect(s.threadCount == 1)
        #expect(s.startTime == ClockTicks(322_070))
        #expect(s.identity == ProcessIdentity(pid: 4719, startTime: ClockTicks(322_070)))
        #expect(!s.isKernelThread)
        // Bytes and text parse alike.
        #expect(try ProcParser.stat(Array(Self.catStat.utf8)) == s)
    }

    /// A real zombie (`sh -c 'sleep 0 & exec sleep 3'`): the fields are all still there.
    @Test func zombie() throws {
        let s = try ProcParser.stat("6208 (sleep) Z 6206 6203 3480 0 -1 4227084 96 0 0 0 0 0 0 0 20 0 1 0 336473 0 0 18446744073709551615 0 0 0 0 0 0 0 6 0 1 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
        #expect(s.state == .zombie)
        #expect(s.state.hasExited)
        #expect(s.startTime.rawValue == 336_473)
    }

    /// Real kernel threads: kthreadd (ppid 0) and an idle kworker whose comm has a slash.
    @Test func kernelThreads() throws {
        let kthreadd = try ProcParser.stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 1 0 0 20 0 1 0 25 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
        #expect(kthreadd.ppid == 0)
        #expect(kthreadd.isKernelThread)
        #expect(kthreadd.systemTime == ClockTicks(1))
        let worker = try ProcParser.stat("4 (kworker/R-rcu_gp) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 0 -20 1 0 25 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
        #expect(worker.comm == "kworker/R-rcu_gp")
        #expect(worker.state == .idle)
        #expect(worker.isKernelThread)
    }

    /// comm is whatever the process set with prctl(PR_SET_NAME): spaces, parentheses, a
    /// `)` followed by what looks like fields. Only the last `)` ends it.
    @Test(arguments: [
        ("a) b", "77 (a) b) S 1 77 77 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 2 0 999 0 0 0\n"),
        ("(a) b)", "77 ((a) b)) S 1 77 77 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 2 0 999 0 0 0\n"),
        (") R 1 2 3", "77 () R 1 2 3) S 1 77 77 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 2 0 999 0 0 0\n"),
        ("two  spaces ", "77 (two  spaces ) S 1 77 77 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 2 0 999 0 0 0\n"),
        ("", "77 () S 1 77 77 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 2 0 999 0 0 0\n"),
        ("new\nline", "77 (new\nline) S 1 77 77 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 2 0 999 0 0 0"),
    ])
    func nastyComm(comm: String, line: String) throws {
        let s = try ProcParser.stat(line)
        #expect(s.comm == comm)
        #expect(s.pid == 77)
        #expect(s.state == .sleeping)
        #expect(s.ppid == 1)
        #expect(s.userTime.rawValue == 3)
        #expect(s.systemTime.rawValue == 4)
        #expect(s.threadCount == 2)
        #expect(s.startTime.rawValue == 999)
    }

    @Test func everyStateLetter() throws {
        let letters: [(Character, ProcessState)] = [
            ("R", .running), ("S", .sleeping), ("D", .diskSleep), ("T", .stopped), ("t", .tracingStop),
            ("Z", .zombie), ("X", .dead), ("x", .dead), ("I", .idle), ("P", .parked), ("K", .wakeKill),
            ("W", .waking), ("Q", .unknown(UInt8(ascii: "Q"))),
        ]
        for (letter, state) in letters {
            let s = try ProcParser.stat("5 (x) \(letter) 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0\n")
            #expect(s.state == state, "\(letter)")
        }
        #expect(ProcessState.dead.hasExited && ProcessState.zombie.hasExited && !ProcessState.stopped.hasExited)
    }

    @Test(arguments: [
        "",
        "123\n",
        "abc (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0\n",
        "5 (x S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0\n",
        "5 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n",
        "5 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -7 0 0\n",
        "5 (x) SS 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0\n",
        "5 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 0 0\n",
    ])
    func malformedStat(_ text: String) {
        #expect(throws: ProcfsParseError.self) { try ProcParser.stat(text) }
    }

    @Test func truncatedStatSaysHowManyFields() {
        #expect(throws: ProcfsParseError(file: "stat", reason: "21 fields, expected at least 22")) {
            try ProcParser.stat("5 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n")
        }
    }

    @Test func clockTicks() throws {
        #expect(ClockTicks.perSecond == 100)  // USER_HZ on every Linux
        #expect(ClockTicks(322_070).duration(ticksPerSecond: 100) == .seconds(3220) + .milliseconds(700))
        #expect(ClockTicks(5).duration(ticksPerSecond: 100) == .milliseconds(50))
        #expect(try ProcParser.bootTime("cpu  1 2 3\nintr 5\nctxt 9\nbtime 1795932280\nprocesses 8000\n") == 1_795_932_280)
        #expect(throws: ProcfsParseError.self) { try ProcParser.bootTime("cpu 1 2 3\n") }
        #expect(try ProcParser.uptime("3220.70 6000.01\n") == .seconds(3220) + .milliseconds(700))
        #expect(try ProcParser.uptime("12 0\n") == .seconds(12))
        #expect(throws: ProcfsParseError.self) { try ProcParser.uptime("x.5 1\n") }
    }
}

@Suite struct ProcfsStatusParserTests {
    /// `cat /proc/1/status`: the host's PID 1, which lacks CAP_SYS_RESOURCE in its bounding set.
    static let pid1Status = """
        Name:\tprocess_api
        Umask:\t0022
        State:\tS (sleeping)
        Tgid:\t1
        Ngid:\t0
        Pid:\t1
        PPid:\t0
        TracerPid:\t0
        Uid:\t0\t0\t0\t0
        Gid:\t0\t0\t0\t0
        FDSize:\t512
        Groups:\t 
        NStgid:\t1
        NSpid:\t1
        NSpgid:\t0
        NSsid:\t0
        Kthread:\t0
        VmPeak:\t   50140 kB
        VmSize:\t   42900 kB
        VmLck:\t   42868 kB
        VmPin:\t       0 kB
        VmHWM:\t   17644 kB
        VmRSS:\t   11320 kB
        RssAnon:\t    4932 kB
        RssFile:\t       8 kB
        RssShmem:\t    6380 kB
        VmData:\t   35272 kB
        VmStk:\t     132 kB
        VmExe:\t    5404 kB
        VmLib:\t       8 kB
        VmPTE:\t     120 kB
        VmSwap:\t       0 kB
        HugetlbPages:\t       0 kB
        CoreDumping:\t0
        THP_enabled:\t1
        untag_mask:\t0xffffffffffffffff
        Threads:\t14
        SigQ:\t0/96364
        SigPnd:\t0000000000000000
        ShdPnd:\t0000000000000000
        SigBlk:\t0000000000000000
        SigIgn:\t0000000000001000
        SigCgt:\t00000000000004e8
        CapInh:\t0000000000000000
        CapPrm:\t000001ffffffffff
        CapEff:\t000001ffffffffff
        CapBnd:\t000001fffeffffff
        CapAmb:\t0000000000000000
        NoNewPrivs:\t0
        Seccomp:\t0
        Seccomp_filters:\t0
        Speculation_Store_Bypass:\tvulnerable
        SpeculationIndirectBranch:\talways enabled
        Cpus_allowed:\t3
        Cpus_allowed_list:\t0-1
        Mems_allowed:\t00000000,00000001
        Mems_allowed_list:\t0
        voluntary_ctxt_switches:\t369
        nonvoluntary_ctxt_switches:\t26

        """

    @Test func realPid1() throws {
        let s = try ProcParser.status(Self.pid1Status)
        #expect(s.name == "process_api")
        #expect(s.state == .sleeping)
        #expect(s.tgid == 1 && s.pid == 1 && s.ppid == 0)
        #expect(s.namespacePids == [1])
        #expect(s.hostPid == 1 && s.innermostPid == 1)
        #expect(s.uids == IDs(0))
        #expect(s.gids == IDs(real: 0, effective: 0, saved: 0, filesystem: 0))
        #expect(s.groups == [])
        #expect(s.threads == 14)
        #expect(!s.noNewPrivs)
        #expect(s.capabilities.inheritable == [])
        #expect(s.capabilities.effective.rawValue == 0x1ff_ffff_ffff)
        #expect(s.capabilities.effective.contains(.sysAdmin))
        #expect(s.capabilities.effective.contains(.checkpointRestore))
        #expect(s.capabilities.bounding.rawValue == 0x1ff_feff_ffff)
        #expect(!s.capabilities.bounding.contains(.sysResource))
        #expect(s.capabilities.permitted.subtracting(s.capabilities.bounding).names == ["CAP_SYS_RESOURCE"])
        #expect(s.capabilities.ambient.isEmpty)
        #expect(try ProcParser.status(Array(Self.pid1Status.utf8)) == s)
    }

    /// What a container started by podrec looks like: another user, groups, the default
    /// container capability set, no_new_privs, and a pid namespace of its own (host pid
    /// 4242, pid 1 inside; nested once more). Written by hand in the kernel's format.
    @Test func containerProcess() throws {
        let s = try ProcParser.status("""
            Name:\tnginx: worker
            State:\tT (stopped)
            Tgid:\t4242
            Pid:\t4242
            PPid:\t4200
            Uid:\t1000\t1001\t1002\t1003
            Gid:\t2000\t2001\t2002\t2003
            Groups:\t10 20 65534 
            NStgid:\t4242\t7\t1
            NSpid:\t4242\t7\t1
            Threads:\t3
            CapInh:\t0000000000000000
            CapPrm:\t00000000a80425fb
            CapEff:\t00000000a80425fb
            CapBnd:\t00000000a80425fb
            CapAmb:\t0000000000000400
            NoNewPrivs:\t1
            """)
        #expect(s.name == "nginx: worker")
        #expect(s.state == .stopped)
        #expect(s.namespacePids == [4242, 7, 1])
        #expect(s.hostPid == 4242 && s.innermostPid == 1)
        #expect(s.uids == IDs(real: 1000, effective: 1001, saved: 1002, filesystem: 1003))
        #expect(s.gids.filesystem == 2003)
        #expect(s.groups == [10, 20, 65534])
        #expect(s.noNewPrivs)
        #expect(s.threads == 3)
        // Docker's and containerd's default set: 14 capabilities.
        #expect(s.capabilities.effective.names == [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
            "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
            "CAP_SETFCAP",
        ])
        #expect(!s.capabilities.effective.contains(.sysAdmin))
        #expect(s.capabilities.ambient == CapabilitySet([.netBindService]))
    }

    /// A real zombie's status: no Vm* lines, but all the fields podrec reads.
    @Test func zombieAndKernelThread() throws {
        let zombie = try ProcParser.status("Name:\tsleep\nState:\tZ (zombie)\nTgid:\t6208\nNgid:\t0\nPid:\t6208\nPPid:\t6206\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t0\nGroups:\t \nNStgid:\t6208\nNSpid:\t6208\nNSpgid:\t6203\nNSsid:\t3480\nKthread:\t0\nThreads:\t1\nSigQ:\t0/96364\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n")
        #expect(zombie.state == .zombie)
        #expect(zombie.ppid == 6206)
        let worker = try ProcParser.status("Name:\tkworker/R-rcu_gp\nUmask:\t0022\nState:\tI (idle)\nTgid:\t4\nNgid:\t0\nPid:\t4\nPPid:\t2\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t \nNStgid:\t4\nNSpid:\t4\nNSpgid:\t0\nNSsid:\t0\nKthread:\t1\nThreads:\t1\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n")
        #expect(worker.name == "kworker/R-rcu_gp")
        #expect(worker.state == .idle)
    }

    /// The kernel escapes a newline and a backslash in Name (seq_escape_str); the raw comm
    /// of stat keeps them.
    @Test func escapedName() throws {
        var text = Self.pid1Status
        text = text.replacingFirst("Name:\tprocess_api", with: "Name:\t" + #"bad\nname\\x \"q\" \101"#)
        let s = try ProcParser.status(text)
        #expect(s.name == "bad\nname\\x \"q\" A")
        text = Self.pid1Status.replacingFirst("Name:\tprocess_api", with: "Name:\t  padded ")
        #expect(try ProcParser.status(text).name == "  padded ")
    }

    @Test func missingOrBadFields() {
        let dropped = Self.pid1Status.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("CapEff:") }.joined(separator: "\n")
        #expect(throws: ProcfsParseError(file: "status", reason: "no CapEff: line")) { try ProcParser.status(dropped) }
        #expect(throws: ProcfsParseError(file: "status", line: 9, reason: "Uid: expected 4 ids, got 3")) {
            try ProcParser.status(Self.pid1Status.replacingFirst("Uid:\t0\t0\t0\t0", with: "Uid:\t0\t0\t0"))
        }
        #expect(throws: ProcfsParseError.self) {
            try ProcParser.status(Self.pid1Status.replacingFirst("CapBnd:\t000001fffeffffff", with: "CapBnd:\t00000g"))
        }
        #expect(throws: ProcfsParseError.self) {
            try ProcParser.status(Self.pid1Status.replacingFirst("NSpid:\t1", with: "NSpid:\t"))
        }
        #expect(throws: ProcfsParseError.self) { try ProcParser.status("") }
    }
}

@Suite struct ProcfsCapabilityTests {
    @Test func names() {
        #expect(Capability.sysAdmin.name == "CAP_SYS_ADMIN")
        #expect(Capability.sysAdmin.rawValue == 21)
        #expect(Capability.checkpointRestore.name == "CAP_CHECKPOINT_RESTORE")
        #expect(Capability(rawValue: 41).name == "CAP_41")
        #expect(Capability.known.count == 41)
        #expect(Capability(name: "CAP_SYS_ADMIN") == .sysAdmin)
        #expect(Capability(name: "sys_admin") == .sysAdmin)
        #expect(Capability(name: "NET_BIND_SERVICE") == .netBindService)
        #expect(Capability(name: "CAP_NOPE") == nil)
        for c in Capability.known { #expect(Capability(name: c.name) == c) }
    }

    @Test func sets() {
        var set = CapabilitySet([.chown, .kill])
        #expect(set.rawValue == 0b10_0001)
        #expect(set.hex == "0000000000000021")
        #expect(set.description == "CAP_CHOWN,CAP_KILL")
        set.insert(.sysAdmin)
        set.remove(.chown)
        #expect(set.capabilities == [.kill, .sysAdmin])
        #expect(CapabilitySet(rawValue: 1 << 45).names == ["CAP_45"])
        #expect(CapabilitySet().description == "none")
    }
}

@Suite struct ProcfsTextParserTests {
    @Test func cmdline() {
        let nul = "\u{0}"
        #expect(ProcParser.cmdline("/bin/sleep\(nul)600\(nul)") == ["/bin/sleep", "600"])
        // A process that rewrote its argv (setproctitle) leaves no final NUL.
        #expect(ProcParser.cmdline("nginx: master process /usr/sbin/nginx") == ["nginx: master process /usr/sbin/nginx"])
        #expect(ProcParser.cmdline("a\(nul)b") == ["a", "b"])
        // Kernel threads and zombies: empty.
        #expect(ProcParser.cmdline([UInt8]()) == [])
        // sh -c '' x: an empty argument is an argument.
        #expect(ProcParser.cmdline("sh\(nul)-c\(nul)\(nul)x\(nul)") == ["sh", "-c", "", "x"])
        #expect(ProcParser.cmdline(Array("x\u{0}".utf8) + [0xff, 0]) == ["x", "\u{FFFD}"])
    }

    @Test func environ() {
        let env = ProcParser.environ("PATH=/usr/bin:/bin\u{0}EMPTY=\u{0}EQ=a=b\u{0}NOEQUALS\u{0}LAST=1")
        #expect(env == [
            EnvironmentEntry(name: "PATH", value: "/usr/bin:/bin"), EnvironmentEntry(name: "EMPTY", value: ""),
            EnvironmentEntry(name: "EQ", value: "a=b"), EnvironmentEntry(name: "NOEQUALS", value: nil),
            EnvironmentEntry(name: "LAST", value: "1"),
        ])
        #expect(env[2].description == "EQ=a=b")
        #expect(ProcParser.environ([UInt8]()) == [])
    }

    @Test func namespaceLinks() throws {
        // `ls -l /proc/self/ns` on the host.
        let real: [(String, NamespaceKind, UInt64)] = [
            ("cgroup:[4026531835]", .cgroup, 4_026_531_835), ("ipc:[4026531839]", .ipc, 4_026_531_839),
            ("mnt:[4026531832]", .mnt, 4_026_531_832), ("net:[4026531833]", .net, 4_026_531_833),
            ("pid:[4026531836]", .pid, 4_026_531_836), ("time:[4026531834]", .time, 4_026_531_834),
            ("user:[4026531837]", .user, 4_026_531_837), ("uts:[4026531838]", .uts, 4_026_531_838),
        ]
        for (target, kind, inode) in real {
            #expect(try ProcParser.namespaceLink(target) == NamespaceLink(kind: kind, inode: inode))
        }
        for bad in ["", "net", "net:", "net:[]", "net:[12", "net:12]", "net:[1x]", "bogus:[1]", "net:[-1]", "/proc/1/ns/net"] {
            #expect(throws: ProcfsParseError.self, "\(bad)") { try ProcParser.namespaceLink(bad) }
        }
        var inodes = NamespaceInodes(net: 1, pid: 2)
        inodes[.time] = 3
        #expect(inodes.time == 3 && inodes[.net] == 1 && inodes[.uts] == nil)
    }

    /// `cat /proc/self/cgroup` on the hybrid host: v1 hierarchies, a named one, and the
    /// cgroup2 mount's `0::/` line.
    @Test func cgroupHybrid() throws {
        let groups = try ProcParser.cgroup("""
            9:name=systemd:/
            8:pids:/
            7:blkio:/
            6:freezer:/
            5:devices:/
            4:memory:/process_api/66b214c6c9674c2003e1e146c3d47ab1
            3:cpuset:/
            2:cpuacct:/
            1:cpu:/
            0::/

            """)
        #expect(groups.count == 10)
        #expect(groups[0] == CgroupMembership(hierarchyID: 9, controllers: [], name: "systemd", path: "/"))
        #expect(groups[5] == CgroupMembership(hierarchyID: 4, controllers: ["memory"], path: "/process_api/66b214c6c9674c2003e1e146c3d47ab1"))
        #expect(groups.path(controller: "memory") == "/process_api/66b214c6c9674c2003e1e146c3d47ab1")
        #expect(groups.path(controller: "cpu") == "/")
        #expect(groups.path(named: "systemd") == "/")
        #expect(groups.path(controller: "hugetlb") == nil)
        #expect(groups.unifiedPath == "/")
        #expect(groups[9].isUnified && !groups[0].isUnified)
    }

    /// A legacy host with co-mounted controllers, a named hierarchy with a controller, and
    /// a path with a colon; and unified v2 hosts (written by hand in the kernel's format).
    @Test func cgroupV1CombinedAndV2() throws {
        let v1 = try ProcParser.cgroup("""
            11:cpu,cpuacct:/podrec/default_web_1/_infra
            10:net_cls,net_prio:/
            4:memory:/podrec/a:b
            3:cpuset,name=mine:/x
            """)
        #expect(v1[0].controllers == ["cpu", "cpuacct"])
        #expect(v1.path(controller: "cpuacct") == "/podrec/default_web_1/_infra")
        #expect(v1[2].path == "/podrec/a:b")
        #expect(v1[3].controllers == ["cpuset"] && v1[3].name == "mine")
        #expect(v1.unifiedPath == nil)

        #expect(try ProcParser.cgroup("0::/\n") == [CgroupMembership(hierarchyID: 0, controllers: [], path: "/")])
        let v2 = try ProcParser.cgroup("0::/podrec/default_web_1/nginx\n")
        #expect(v2.unifiedPath == "/podrec/default_web_1/nginx")
        #expect(v2[0].controllers.isEmpty && !v2[0].isDeleted)
        let dead = try ProcParser.cgroup("0::/podrec/gone (deleted)\n")
        #expect(dead[0].path == "/podrec/gone" && dead[0].isDeleted)
        #expect(try ProcParser.cgroup("") == [])
        for bad in ["memory:/", "x:memory:/", "4:memory:relative", "4:,memory:/", "-1::/"] {
            #expect(throws: ProcfsParseError.self, "\(bad)") { try ProcParser.cgroup(bad) }
        }
    }

    @Test func cgroupProcs() throws {
        #expect(try ProcParser.cgroupProcs("12\n7\n12\n") == [12, 7, 12])
        #expect(try ProcParser.cgroupProcs("") == [])
        #expect(try ProcParser.cgroupProcs("0\n5") == [5])
        #expect(throws: ProcfsParseError(file: "cgroup.procs", line: 2, reason: "not a pid: \"x\"")) {
            try ProcParser.cgroupProcs("1\nx\n")
        }
    }
}

@Suite struct ProcfsMountinfoParserTests {
    /// `cat /proc/self/mountinfo` on the host (one line dropped).
    static let host = """
        22 27 0:21 / /proc rw,relatime - proc proc rw
        23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
        24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334432k,nr_inodes=3083608,mode=755
        25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683652k
        26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
        27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
        29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
        30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683652k
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

        """

    @Test func hostTable() throws {
        let mounts = try ProcParser.mountinfo(Self.host)
        #expect(mounts.count == 19)
        let root = try #require(mounts.first { $0.mountPoint == "/" })
        #expect(root == MountInfo(
            mountID: 27, parentID: 1, device: DeviceNumber(major: 254, minor: 0), root: "/", mountPoint: "/",
            options: ["rw", "relatime"], propagation: [], filesystemType: "ext4", source: "/dev/vda",
            superOptions: ["rw", "discard", "resv_strict", "resuid=65534", "resgid=65534"]))
        #expect(!root.isReadOnly)
        let unified = try #require(mounts.last)
        #expect(unified.filesystemType == "cgroup2" && unified.mountPoint == "/sys/fs/cgroup/unified")
        #expect(mounts.filter { $0.filesystemType == "cgroup" }.count == 9)
        #expect(mounts.first { $0.superOptions.contains("name=systemd") }?.mountPoint == "/sys/fs/cgroup/systemd")
        #expect(try ProcParser.mountinfo(Array(Self.host.utf8)) == mounts)
    }

    /// Real lines from `unshare -m`: a tmpfs at `/tmp/pf a b` with source `src<TAB>tab`,
    /// made shared; a bind of its `back\slash` dir, made a slave; an unbindable tmpfs.
    @Test func escapesAndPropagation() throws {
        let mounts = try ProcParser.mountinfo("""
            63 43 0:39 / /tmp/pf\\040a\\040b rw,relatime shared:1 - tmpfs src\\011tab rw,size=1024k
            64 63 0:39 /back\\134slash /tmp/pf\\040a\\040b/s rw,relatime master:1 - tmpfs src\\011tab rw,size=1024k
            65 63 0:40 / /tmp/pf\\040a\\040b/u rw,relatime unbindable - tmpfs none rw
            """)
        #expect(mounts[0].mountPoint == "/tmp/pf a b")
        #expect(mounts[0].source == "src\ttab")
        #expect(mounts[0].propagation == [.shared(peerGroup: 1)])
        #expect(mounts[1].root == "/back\\slash")
        #expect(mounts[1].mountPoint == "/tmp/pf a b/s")
        #expect(mounts[1].propagation == [.master(peerGroup: 1)])
        #expect(mounts[1].device == DeviceNumber(major: 0, minor: 39))
        #expect(mounts[2].propagation == [.unbindable])
        #expect(mounts[2].source == "none")
        #expect(mounts[2].superOptions == ["rw"])
    }

    /// Written by hand in the kernel's format: several optional fields, a newline in a
    /// mount point, a comma inside an option value, an unknown tag, a read-only mount, a
    /// fuse subtype, a backslash not followed by octal digits.
    @Test func optionalFieldsAndOddities() throws {
        let m = try ProcParser.mountinfo(
            #"100 99 8:1 /data /mnt/new\012line ro,nosuid,nodev shared:5 master:2 propagate_from:1 future:9 - fuse.sshfs user@host:/a\054b rw,user_id=0,x=a\054b,odd\q"#)
        #expect(m.count == 1)
        #expect(m[0].mountPoint == "/mnt/new\nline")
        #expect(m[0].options == ["ro", "nosuid", "nodev"])
        #expect(m[0].isReadOnly)
        #expect(m[0].propagation == [.shared(peerGroup: 5), .master(peerGroup: 2), .propagateFrom(peerGroup: 1), .other("future:9")])
        #expect(m[0].filesystemType == "fuse.sshfs")
        #expect(m[0].source == "user@host:/a,b")
        #expect(m[0].superOptions == ["rw", "user_id=0", "x=a,b", #"odd\q"#])
        #expect(MountPropagation.propagateFrom(peerGroup: 1).description == "propagate_from:1")
    }

    @Test func malformedMountinfo() {
        for bad in [
            "x 1 0:1 / / rw - ext4 /dev/a rw",
            "1 1 01 / / rw - ext4 /dev/a rw",
            "1 1 0:1 / / rw shared:1 ext4 /dev/a rw",
            "1 1 0:1 / / rw -",
            "1 1 0:1 /",
        ] {
            #expect(throws: ProcfsParseError.self, "\(bad)") { try ProcParser.mountinfo(bad) }
        }
        #expect(throws: ProcfsParseError(file: "mountinfo", line: 2, reason: "missing source")) {
            try ProcParser.mountinfo("1 1 0:1 / / rw - ext4 /dev/a rw\n2 1 0:1 / / rw - ext4")
        }
    }
}

private extension String {
    /// `self` with the first occurrence of `target` replaced (no Foundation here).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return String(self[..<r.lowerBound]) + replacement + String(self[r.upperBound...])
    }

    func range(of target: String) -> Range<String.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
