import Glibc
import Kernel
import KernelTestSupport
import Spawn
import SystemPackage
import Testing

extension Integration {
    /// The spawn shim on the real kernel, as root: every stage made to fail on purpose, and
    /// what containers rely on (PID 1, no capabilities, joined namespaces, a pivoted tmpfs root,
    /// read-only binds, the cgroup join). The same tests run here (cgroup v1, kernel 6.18) and
    /// in ../shared/tools/cgroup2-vm (cgroup v2, kernel 6.1), where the cgroup join is clone3
    /// CLONE_INTO_CGROUP instead of a `tasks` write.
    ///
    /// Each test starts its processes through a `SpawnLab`, which kills and reaps them by pid,
    /// closes the fds, removes the dirs and cgroups, then checks that nothing leaked.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct SpawnIntegrationTests {
        static let v2 = Sys.exists("/sys/fs/cgroup/cgroup.controllers")

        // MARK: 1. Cgroup

        @Test func aMissingCgroupFailsAtTheCgroupStage() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/true"])
            let name = lab.cgroupName("gone")
            if Self.v2 {
                // An fd of a cgroup removed since: clone3 finds no live cgroup behind it (ENOENT
                // from css_tryget_online_from_dir on 6.1; cgroup_css_set_fork's own check says
                // ENODEV when the lookup still succeeds).
                let dir = try lab.makeCgroup(name, controllers: [])[0]
                let fd = try lab.open(dir, O_RDONLY | O_DIRECTORY)
                try Sys.rmdir(dir)
                request.cgroup = .v2(dirFD: fd, path: dir)
                let error = try #require(expectFailure(request))
                #expect(error.stage == .cgroup)
                #expect([ENOENT, ENODEV].contains(error.errno.rawValue))
                #expect(error.description.hasPrefix("cgroup \(dir) (clone3 CLONE_INTO_CGROUP, fd \(fd)): "))
            } else {
                let tasks = "/sys/fs/cgroup/pids/\(name)/tasks"
                request.cgroup = .v1(tasksFiles: [tasks])
                let error = try #require(expectFailure(request))
                #expect(error.stage == .cgroup)
                #expect(error.errno == Errno(rawValue: ENOENT))
                #expect(error.index == 0)
                #expect(error.description == "cgroup \(tasks) (write \"0\" to tasks): ENOENT (No such file or directory)")
            }
        }

        @Test func theProcessIsBornInItsCgroupAndItsOwnPIDNamespace() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let name = lab.cgroupName("join")
            var request = SpawnRequest(["/bin/sleep", "60"])
            request.newPIDNamespace = true
            let expected: [String]
            if Self.v2 {
                let dir = try lab.makeCgroup(name, controllers: [])[0]
                request.cgroup = .v2(dirFD: try lab.open(dir, O_RDONLY | O_DIRECTORY), path: dir)
                expected = ["0::/\(name)"]
            } else {
                let dirs = try lab.makeCgroup(name, controllers: ["pids", "cpu"])
                request.cgroup = .v1(tasksFiles: dirs.map { $0 + "/tasks" })
                expected = ["pids:/\(name)", "cpu:/\(name)"]
            }
            let child = try lab.spawn(request)
            let lines = try Sys.readString("/proc/\(child.pid)/cgroup").split(separator: "\n").map(String.init)
            for line in expected {
                #expect(lines.contains { $0.hasSuffix(line) && ($0.hasPrefix("0::") || !Self.v2) }, "\(line) in \(lines)")
            }
            #expect(try nspids(child.pid) == [child.pid, 1])
        }

        // MARK: 2. Namespaces

        @Test func aNamespaceFdOfTheWrongKindFailsAtSetns() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let fd = try lab.open("/proc/self/ns/net", O_RDONLY)
            var request = SpawnRequest(["/bin/true"])
            request.joinNamespaces = [NamespaceJoin(.uts, fd: fd, path: "/proc/self/ns/net")]
            let error = try #require(expectFailure(request))
            #expect(error.stage == .setns)
            #expect(error.errno == Errno(rawValue: EINVAL))
            #expect(error.index == 0)
            #expect(error.description == "setns uts /proc/self/ns/net (fd \(fd)): EINVAL (Invalid argument)")
        }

        @Test func joiningADeadPIDNamespaceFailsAtThePIDNamespaceFork() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var holder = SpawnRequest(["/bin/sleep", "60"])
            holder.newPIDNamespace = true
            let pid = try lab.spawn(holder).pid
            let fd = try lab.open("/proc/\(pid)/ns/pid", O_RDONLY)
            // Its init is gone, so the namespace takes no new process: alloc_pid says ENOMEM.
            lab.kill(pid)
            var request = SpawnRequest(["/bin/true"])
            request.joinNamespaces = [NamespaceJoin(.pid, fd: fd)]
            let error = try #require(expectFailure(request))
            #expect(error.stage == .pidNamespaceFork)
            #expect(error.errno == Errno(rawValue: ENOMEM))
            #expect(error.description == "fork into pid namespace pid (fd \(fd)): ENOMEM (Cannot allocate memory)")
        }

        @Test func anUnknownUnshareFlagFailsAtUnshare() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/true"])
            request.unshare = [.network, Namespaces(rawValue: 0x1)]
            let error = try #require(expectFailure(request))
            #expect(error.stage == .unshare)
            #expect(error.errno == Errno(rawValue: EINVAL))
            #expect(error.description == "unshare net,0x1: EINVAL (Invalid argument)")
        }

        @Test func procOneInItsOwnPIDNamespaceIsTheContainersProcess() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/sh", "-c", #"echo "pid $$"; tr '\0' ' ' < /proc/1/cmdline; echo; exec /bin/readlink /proc/self"#])
            request.newPIDNamespace = true
            request.unshare = [.mount]
            request.mounts = [.makePrivate("/"), .proc(at: "/proc")]
            let run = try lab.run(request)
            #expect(run == SpawnRun(output: "pid 1\n\(request.arguments.joined(separator: " ")) \n1\n", status: .exited(0)))
        }

        @Test func joinsAnotherProcesssNamespacesAndItsCgroup() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            // The holder: PID 1 of new pid, net, uts and mount namespaces, with its own /proc.
            var holder = SpawnRequest(["/bin/sleep", "60"])
            holder.newPIDNamespace = true
            holder.unshare = [.mount, .network, .uts]
            holder.hostname = "podrec-holder"
            holder.mounts = [.makePrivate("/"), .proc(at: "/proc")]
            let h = try lab.spawn(holder).pid
            let kinds: [Namespace] = [.pid, .uts, .network, .ipc, .mount]
            var joins: [NamespaceJoin] = []
            for kind in kinds {
                let path = "/proc/\(h)/ns/\(kind.procName)"
                joins.append(NamespaceJoin(kind, fd: try lab.open(path, O_RDONLY), path: path))
            }
            let name = lab.cgroupName("joined")
            let cgroup: SpawnRequest.CgroupJoin
            if Self.v2 {
                let dir = try lab.makeCgroup(name, controllers: [])[0]
                cgroup = .v2(dirFD: try lab.open(dir, O_RDONLY | O_DIRECTORY), path: dir)
            } else {
                cgroup = .v1(tasksFiles: try lab.makeCgroup(name, controllers: ["pids"]).map { $0 + "/tasks" })
            }

            // What the joiner sees from inside.
            var looker = SpawnRequest(["/bin/sh", "-c", "cat /proc/sys/kernel/hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"])
            looker.joinNamespaces = joins
            looker.cgroup = cgroup
            let seen = try lab.run(looker)
            #expect(seen == SpawnRun(output: "podrec-holder\n/bin/sleep 60 \nlo\n", status: .exited(0)))

            // And from outside: the same namespace inodes, its host pid, and the cgroup.
            var joiner = looker
            joiner.arguments = ["/bin/sleep", "60"]
            joiner.executable = "/bin/sleep"
            let j = try lab.spawn(joiner)
            for kind in kinds {
                #expect(try Sys.readlink("/proc/\(j.pid)/ns/\(kind.procName)") == Sys.readlink("/proc/\(h)/ns/\(kind.procName)"))
            }
            #expect(try Sys.readString("/proc/\(j.pid)/status").contains("\nPPid:\t\(getpid())\n"))
            let ns = try nspids(j.pid)
            #expect(ns.count == 2 && ns[0] == j.pid && ns[1] > 1, "NSpid \(ns)")
            #expect(try j.hostPID() == j.pid)
            let cgroupLines = try Sys.readString("/proc/\(j.pid)/cgroup")
            #expect(cgroupLines.contains(Self.v2 ? "0::/\(name)\n" : ":pids:/\(name)\n"))
        }

        // MARK: 3. Mounts and the root

        @Test func aMissingBindSourceFailsAtTheMountStageNamingTheTarget() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            let root = tmp + "/root"
            try Sys.mkdir(root)
            var request = SpawnRequest(["/bin/true"])
            request.unshare = [.mount]
            request.rootfs = root
            request.mounts = [.makePrivate("/"), .tmpfs(at: root, size: 1 << 20), .directory(root + "/data"),
                              .bind(from: tmp + "/missing", to: root + "/data")]
            let error = try #require(expectFailure(request))
            #expect(error.stage == .mount)
            #expect(error.errno == Errno(rawValue: ENOENT))
            #expect(error.index == 3)
            #expect(error.description == "mount /data (rbind from \(tmp)/missing): ENOENT (No such file or directory)")
        }

        /// `.ifPresent` skips a step whose path is missing, and only that: a later missing
        /// path still fails, and a present one is mounted.
        @Test func anIfPresentStepIsSkippedWhenItsPathIsMissing() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            let root = tmp + "/root"
            try Sys.mkdir(root)
            var request = SpawnRequest(["/bin/sh", "-c", "test -e /data/seen && echo bound; test -e /gone || echo skipped"])
            request.unshare = [.mount]
            request.rootfs = root
            try Sys.mkdirs(tmp + "/present", mode: 0o755)
            try Sys.writeFileAtomically(tmp + "/present/seen", [])
            request.mounts = [.makePrivate("/"), .tmpfs(at: root, size: 1 << 20), .directory(root + "/usr"),
                              .bind(from: "/usr", to: root + "/usr", readOnly: true), .symlink(root + "/bin", target: "usr/bin"),
                              .symlink(root + "/lib", target: "usr/lib"), .symlink(root + "/lib64", target: "usr/lib64"),
                              .directory(root + "/data"),
                              .ifPresent(.bind(from: tmp + "/missing", to: root + "/data")),
                              .ifPresent(.bind(from: tmp + "/present", to: root + "/data"))]
            let run = try lab.run(request)
            #expect(run.status == .exited(0))
            #expect(run.output == "bound\nskipped\n")

            request.mounts.append(.bind(from: tmp + "/missing", to: root + "/data"))
            let error = try #require(expectFailure(request))
            #expect(error.stage == .mount && error.errno == Errno(rawValue: ENOENT))
        }

        /// `.bindBeneath` binds what it finds below the volume without a symlink on the way,
        /// read-only when asked, a file too; a symlink in the last or a middle component,
        /// `..` and `.` fail the mount step with ELOOP or EINVAL, named as the subPath.
        @Test func aBindBeneathItsVolumeFollowsNoSymlink() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            let volume = tmp + "/vol"
            for dir in ["vol", "vol/a", "vol/a/b", "dst", "outside"] { try Sys.mkdir(tmp + "/" + dir) }
            try Sys.writeFileAtomically(volume + "/a/b/seen", Array("inside\n".utf8))
            try Sys.writeFileAtomically(volume + "/f", Array("file\n".utf8))
            try Sys.writeFileAtomically(tmp + "/dst-file", [])
            try Sys.symlink(tmp + "/outside", volume + "/link")
            try Sys.symlink("a", volume + "/rel")
            var request = SpawnRequest(["/bin/sh", "-c", "cat \(tmp)/dst/seen \(tmp)/dst-file; touch \(tmp)/dst-file 2>&1"])
            request.unshare = [.mount]
            request.mounts = [.makePrivate("/"), .bindBeneath(volume: volume, path: "a/b", to: tmp + "/dst"),
                              .bindBeneath(volume: volume, path: "f", to: tmp + "/dst-file", readOnly: true)]
            let run = try lab.run(request)
            #expect(run.status == .exited(1), "\(run)")
            #expect(run.output == "inside\nfile\ntouch: cannot touch '\(tmp)/dst-file': Read-only file system\n", "\(run.output)")

            for (path, errno) in [("link", ELOOP), ("rel/b", ELOOP), ("a/../a/b", EINVAL), ("./a", EINVAL), ("missing", ENOENT)] {
                request.mounts = [.makePrivate("/"), .bindBeneath(volume: volume, path: path, to: tmp + "/dst")]
                let error = try #require(expectFailure(request), "\(path)")
                #expect(error.stage == .mount && error.index == 1 && error.errno == Errno(rawValue: errno), "\(path): \(error)")
                #expect(error.description.hasPrefix("mount \(tmp)/dst (rbind of the subPath \(path) of \(volume), no symlinks followed)"),
                        "\(error.description)")
            }
        }

        @Test func pivotRootIntoADirectoryThatIsNoMountIsEINVAL() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            // A directory on a mount other than "/" (on the root mount it would be EBUSY).
            var request = SpawnRequest(["/bin/true"])
            request.unshare = [.mount]
            request.mounts = [.makePrivate("/"), .tmpfs(at: tmp), .directory(tmp + "/root")]
            request.rootfs = tmp + "/root"
            let error = try #require(expectFailure(request))
            #expect(error.stage == .pivotRoot)
            #expect(error.errno == Errno(rawValue: EINVAL))
            #expect(error.description == "pivot_root \(tmp)/root: EINVAL (Invalid argument)")
        }

        @Test func aTmpfsRootWithReadOnlyHostDirsAndItsOwnProc() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            let root = tmp + "/root"
            try Sys.mkdir(root)
            var mounts: [MountStep] = [.makePrivate("/"), .tmpfs(at: root, size: 8 << 20, mode: 0o755)]
            var expected: [String] = [], binds: [String] = []
            for dir in ["bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr"] where Sys.exists("/" + dir) {
                expected.append(dir)
                if try Sys.stat("/" + dir, followSymlinks: false).isSymlink {
                    mounts.append(.symlink(root + "/" + dir, target: try Sys.readlink("/" + dir)))
                } else {
                    mounts += [.directory(root + "/" + dir), .bind(from: "/" + dir, to: root + "/" + dir, readOnly: true)]
                    binds.append(dir)
                }
            }
            mounts += [.directory(root + "/proc"), .proc(at: root + "/proc"), .directory(root + "/tmp", mode: 0o1777),
                       .tmpfs(at: root + "/tmp")]
            expected += ["proc", "tmp"]
            var request = SpawnRequest(["/bin/sh", "-c", """
                ls -A /; echo "pid $$ host $(cat /proc/sys/kernel/hostname) cwd $(pwd)"
                cut -d' ' -f5 /proc/self/mountinfo | sort | tr '\\n' ' '; echo
                touch /usr/podrec-x 2>&1; touch /tmp/ok && echo tmp-writable
                """])
            request.newPIDNamespace = true
            request.unshare = [.mount, .uts, .ipc, .network]
            request.hostname = "podrec-pivot"
            request.mounts = mounts
            request.rootfs = root
            let run = try lab.run(request)
            let mountPoints = (["/", "/proc", "/tmp"] + binds.map { "/" + $0 }).sorted()
            #expect(run == SpawnRun(output: expected.sorted().joined(separator: "\n") + "\n"
                    + "pid 1 host podrec-pivot cwd /\n"
                    + mountPoints.joined(separator: " ") + " \n"
                    + "touch: cannot touch '/usr/podrec-x': Read-only file system\n"
                    + "tmp-writable\n", status: .exited(0)))
        }

        @Test func aRecursiveReadOnlyBindWithMountSetattr() throws {
            try checkRecursiveReadOnlyBind(fallbacks: [])
        }

        @Test func aRecursiveReadOnlyBindByRemountingEachSubmount() throws {
            try checkRecursiveReadOnlyBind(fallbacks: .remountEachSubmount)
        }

        func checkRecursiveReadOnlyBind(fallbacks: Fallbacks) throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            for dir in ["src", "src/sub", "dst"] { try Sys.mkdir(tmp + "/" + dir) }
            var request = SpawnRequest(["/bin/sh", "-c", """
                cd \(tmp)
                touch dst/a 2>&1; touch dst/sub/b 2>&1
                touch src/a && touch src/sub/c && echo source-writable
                grep -E ' \(tmp)/dst(/sub)? ' /proc/self/mountinfo | cut -d' ' -f5,6
                """])
            request.unshare = [.mount]
            // A submount below the source (a tmpfs, nodev,nosuid), bound with it recursively.
            request.mounts = [.makePrivate("/"), .tmpfs(at: tmp + "/src/sub"),
                              .bind(from: tmp + "/src", to: tmp + "/dst", recursive: true, readOnly: true)]
            request.forceFallbacks = fallbacks
            let run = try lab.run(request)
            let lines = run.output.split(separator: "\n").map(String.init)
            try #require(lines.count == 5, "\(run)")
            #expect(lines[0] == "touch: cannot touch 'dst/a': Read-only file system")
            #expect(lines[1] == "touch: cannot touch 'dst/sub/b': Read-only file system")
            #expect(lines[2] == "source-writable")
            // Both mounts read-only; the submount kept its nosuid and nodev.
            #expect(lines[3].hasPrefix("\(tmp)/dst ro,"))
            #expect(lines[4].hasPrefix("\(tmp)/dst/sub ro,"))
            #expect(lines[4].contains(",nosuid") && lines[4].contains(",nodev"))
        }

        @Test func anOverlongHostnameFailsAtTheHostnameStage() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/true"])
            request.unshare = [.uts]
            request.hostname = String(repeating: "h", count: 65)
            let error = try #require(expectFailure(request))
            #expect(error.stage == .hostname)
            #expect(error.errno == Errno(rawValue: EINVAL))
            #expect(error.description == "sethostname \"\(request.hostname!)\": EINVAL (Invalid argument)")
        }

        // MARK: 4. Ids and capabilities

        @Test func anImpossibleGroupFailsAtSetgroups() throws {
            try checkIdFailure(UserIdentity(uid: 0, gid: 0, groups: [UInt32.max]), stage: .setgroups, context: "setgroups 4294967295")
        }

        @Test func anImpossibleGidFailsAtSetgid() throws {
            try checkIdFailure(UserIdentity(uid: 0, gid: UInt32.max), stage: .setgid, context: "setgid 4294967295")
        }

        @Test func anImpossibleUidFailsAtSetuid() throws {
            try checkIdFailure(UserIdentity(uid: UInt32.max, gid: 0), stage: .setuid, context: "setuid 4294967295")
        }

        func checkIdFailure(_ user: UserIdentity, stage: SpawnError.Stage, context: String) throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/true"])
            request.user = user
            let error = try #require(expectFailure(request))
            #expect(error.stage == stage)
            #expect(error.errno == Errno(rawValue: EINVAL))
            #expect(error.description == "\(context): EINVAL (Invalid argument)")
        }

        @Test func anEffectiveSetBeyondThePermittedFailsAtCapset() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/true"])
            request.capabilities = SpawnRequest.Capabilities(bounding: [], effective: .init([.sysAdmin]), permitted: [])
            let error = try #require(expectFailure(request))
            #expect(error.stage == .capset)
            #expect(error.errno == Errno(rawValue: EPERM))
            #expect(error.description == "capset effective=CAP_SYS_ADMIN permitted=none inheritable=none: EPERM (Operation not permitted)")
        }

        @Test func runAsUser1000WithEveryCapabilityDroppedHasNone() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/grep", "-E", "^(Uid|Gid|Groups|Cap...|NoNewPrivs):", "/proc/self/status"])
            request.user = UserIdentity(uid: 1000, gid: 1000)
            request.capabilities = SpawnRequest.Capabilities.none
            let zero = "0000000000000000"
            let run = try lab.run(request)
            #expect(run == SpawnRun(output: """
                Uid:\t1000\t1000\t1000\t1000
                Gid:\t1000\t1000\t1000\t1000
                Groups:\t\u{20}
                CapInh:\t\(zero)
                CapPrm:\t\(zero)
                CapEff:\t\(zero)
                CapBnd:\t\(zero)
                CapAmb:\t\(zero)
                NoNewPrivs:\t0

                """, status: .exited(0)))
        }

        @Test func rootWithTheContainerDefaultSetHasExactlyIt() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/grep", "-E", "^(Uid|Groups|Cap...):", "/proc/self/status"])
            request.user = UserIdentity(uid: 0, gid: 0, groups: [10, 20])
            request.capabilities = .only(.containerDefault)
            let set = "00000000a80425fb", zero = "0000000000000000"
            let run = try lab.run(request)
            #expect(run == SpawnRun(output: """
                Uid:\t0\t0\t0\t0
                Groups:\t10 20 
                CapInh:\t\(zero)
                CapPrm:\t\(set)
                CapEff:\t\(set)
                CapBnd:\t\(set)
                CapAmb:\t\(zero)

                """, status: .exited(0)))
        }

        @Test func noNewPrivsIsSetWhenAsked() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            var request = SpawnRequest(["/bin/grep", "^NoNewPrivs:", "/proc/self/status"])
            request.noNewPrivileges = true
            request.user = UserIdentity(uid: 1000, gid: 1000)
            #expect(try lab.run(request) == SpawnRun(output: "NoNewPrivs:\t1\n", status: .exited(0)))
        }

        @Test func chdirIsCheckedWithTheFinalCredentials() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()  // 0700, root's
            var request = SpawnRequest(["/bin/true"])
            request.user = UserIdentity(uid: 1000, gid: 1000)
            request.workingDirectory = tmp
            let error = try #require(expectFailure(request))
            #expect(error.stage == .chdir)
            #expect(error.errno == Errno(rawValue: EACCES))
        }
    }
}

// MARK: - The lab: what a test starts, and the proof that it is gone

/// Everything one test creates. `finish()` kills (SIGKILL, by pid, only processes not yet
/// reaped) and reaps the processes, closes the fds, removes the temp dirs and cgroups,
/// then fails the test if anything leaked.
final class SpawnLab {
    let before: HostSnapshot
    private var live: [Int32] = []
    private var spawned: Set<Int32> = []
    private var fds: [Int32] = []
    private var dirs: [String] = []
    private var cgroupDirs: [String] = []
    private(set) var cgroupNames: [String] = []

    init() throws {
        // Orphans below us come back to us, not to the host's PID 1 (which reaps every ~2 s).
        try Sys.setChildSubreaper()
        before = HostSnapshot.take()
    }

    func spawn(_ request: SpawnRequest) throws -> SpawnedProcess {
        let child = try Spawn.spawn(request)
        live.append(child.pid)
        spawned.insert(child.pid)
        if let fd = child.pidfd { fds.append(fd) }
        return child
    }

    /// Runs to the end with stdout and stderr into one socket.
    func run(_ request: SpawnRequest) throws -> SpawnRun {
        var ends: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
        defer { close(ends[0]) }
        var request = request
        request.stdout = ends[1]
        request.stderr = ends[1]
        let child: SpawnedProcess
        do {
            child = try spawn(request)
        } catch {
            close(ends[1])
            throw error
        }
        close(ends[1])
        let output = Result { () throws(KernelError) in String(decoding: try Sys.readAll(ends[0]), as: UTF8.self) }
        let status = reap(child.pid)
        return SpawnRun(output: try output.get(), status: status)
    }

    func reap(_ pid: Int32) -> WaitStatus {
        live.removeAll { $0 == pid }
        return (try? Sys.wait(pid)).map(WaitStatus.init) ?? .exited(-1)
    }

    func kill(_ pid: Int32) {
        guard live.contains(pid) else { return }
        _ = try? Sys.kill(pid, SIGKILL)
        _ = reap(pid)
    }

    func open(_ path: String, _ flags: Int32) throws -> Int32 {
        let fd = try Sys.open(path, flags)
        fds.append(fd)
        return fd
    }

    func tempDir() throws -> String {
        let path = try makeTemporaryDirectory("podrec-spawn")
        dirs.append(path)
        return path
    }

    func cgroupName(_ label: String) -> String {
        let name = TestNames.cgroupParent("spawn-" + label)
        cgroupNames.append(name)
        return name
    }

    /// v1: `/sys/fs/cgroup/<controller>/<name>` for each controller; v2 (no controllers):
    /// `/sys/fs/cgroup/<name>`.
    func makeCgroup(_ name: String, controllers: [String]) throws -> [String] {
        let dirs = controllers.isEmpty ? ["/sys/fs/cgroup/\(name)"] : controllers.map { "/sys/fs/cgroup/\($0)/\(name)" }
        for dir in dirs {
            try Sys.mkdir(dir, mode: 0o755)
            cgroupDirs.append(dir)
        }
        return dirs
    }

    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        // SIGKILL everything first, then reap whichever is ready: a process put into another
        // PID namespace is our child (CLONE_PARENT), and that namespace's init does not
        // finish dying until we have reaped it, so waiting for the init first would hang.
        for pid in live { _ = try? Sys.kill(pid, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(10)
        while !live.isEmpty && ContinuousClock.now < deadline {
            for pid in live {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || (r < 0 && errno == ECHILD) { live.removeAll { $0 == pid } }
            }
            if !live.isEmpty { usleep(1_000) }
        }
        #expect(live == [], "not reaped", sourceLocation: sourceLocation)
        for fd in fds { close(fd) }
        for dir in dirs { try? Sys.removeTree(dir) }
        for dir in cgroupDirs where Sys.exists(dir) {
            // rmdir can say EBUSY for a moment after the last process has left.
            for _ in 0..<100 {
                if (try? Sys.rmdir(dir)) != nil || !Sys.exists(dir) { break }
                usleep(10_000)
            }
        }
        // Tests of other suites run in parallel, with processes and fds of their own for a
        // while: give those 5 s to go. A process still there after that counts only if this
        // test started it; any fd, mount or cgroup counts.
        var leaks: [String] = []
        for _ in 0..<100 {
            leaks = HostSnapshot.take().leaks(since: before, cgroupNames: cgroupNames)
            if leaks.isEmpty { return }
            usleep(50_000)
        }
        let mine = leaks.filter { line in
            guard line.hasPrefix("process left: pid ") else { return true }
            let pid = Int32(line.dropFirst("process left: pid ".count).prefix { $0.isNumber }) ?? 0
            if spawned.contains(pid) { return true }
            print("SpawnLab: not this test's, left out of its leak check: \(line)")
            return false
        }
        #expect(mine == [], sourceLocation: sourceLocation)
    }
}


struct SpawnRun: Equatable {
    var output: String
    var status: WaitStatus
}

/// The error of a spawn that must fail. No process may be left: the shim reaps its child.
private func expectFailure(_ request: SpawnRequest, sourceLocation: SourceLocation = #_sourceLocation) -> SpawnError? {
    do {
        let child = try spawn(request)
        Issue.record("spawn of \(request.arguments) succeeded", sourceLocation: sourceLocation)
        _ = try? Sys.kill(child.pid, SIGKILL)
        _ = try? Sys.wait(child.pid)
        child.pidfd.map { _ = close($0) }
        return nil
    } catch {
        return error
    }
}

/// `NSpid` of /proc/PID/status: the pid in each PID namespace, outermost first.
private func nspids(_ pid: Int32) throws -> [Int32] {
    let status = try Sys.readString("/proc/\(pid)/status")
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return [] }
    return line.dropFirst("NSpid:".count).split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { Int32($0) }
}
