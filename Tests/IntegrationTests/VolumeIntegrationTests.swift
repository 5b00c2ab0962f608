import Glibc
import Kernel
import KernelTestSupport
import ContainerRuntime
import HostSetup
import Testing
import PodModel

extension Integration {
    /// `PodVolumes` on the real kernel, as root: memory emptyDirs, secret volumes and the
    /// pod's `/dev/shm` are tmpfs mounts of the right size and flags, an update swaps a
    /// secret's files atomically under a reader, and teardown leaves no mount and no dir,
    /// even with a stacked mount and a busy one.
    ///
    /// Every test works under its own `/tmp/podrec-test-vol-XXXXXX`, tears the pod down,
    /// removes the dir, and checks with `HostSnapshot` that no mount or fd was left.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct VolumeIntegrationTests {
        struct Lab {
            var tmp: String
            var layout: PodLayout
            let volumes = PodVolumes()
            let before = HostSnapshot.take()

            init() throws {
                tmp = try makeTemporaryDirectory("podrec-test-vol")
                layout = PodLayout(root: tmp + "/state", dataRoot: tmp + "/data", logRoot: tmp + "/log", cgroupParent: "podrec-test",
                                   namespace: "default", name: "web", uid: "uid-1")
            }

            /// Tears the pod down (it must work), removes the temp dir, and checks for leaks.
            func finish() {
                do { try volumes.teardown(layout: layout) } catch { Issue.record("teardown: \(error)") }
                #expect(!Sys.exists(layout.dataDirectory))
                let left = ((try? Sys.mounts()) ?? []).filter { $0.mountPoint.hasPrefix(tmp) }.map(\.mountPoint)
                #expect(left == [])
                // Should a test fail before its teardown, leave no mount behind on the host.
                for path in left.reversed() { try? Sys.unmount(path, detach: true) }
                try? Sys.removeTree(tmp)
                #expect(HostSnapshot.take().leaks(since: before) == [])
            }

            func mount(_ path: String) throws -> Sys.MountEntry {
                try #require(try Sys.mounts().last { $0.mountPoint == path }, "no mount at \(path)")
            }
        }

        static let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
        static func pages(_ bytes: Int64) -> Int64 { (bytes + pageSize - 1) / pageSize * pageSize }

        /// The size statfs reports for the filesystem at `path`.
        static func statfsSize(_ path: String) throws -> Int64 {
            var st = statvfs()
            try #require(statvfs(path, &st) == 0)
            return Int64(st.f_blocks) * Int64(st.f_frsize)
        }

        @Test func memoryEmptyDirsAreTmpfsMountsSizedByTheSmallestBound() throws {
            let lab = try Lab()
            defer { lab.finish() }
            let mib: Int64 = 1 << 20
            let prepared = try lab.volumes.prepare([
                (name: "limited", spec: .emptyDir(memory: true, sizeLimit: 3 * mib)),
                (name: "pod-bound", spec: .emptyDir(memory: true, sizeLimit: 64 * mib)),
                (name: "odd", spec: .emptyDir(memory: true, sizeLimit: 5000)),
                (name: "disk", spec: .emptyDir(memory: false, sizeLimit: 3 * mib)),
            ], layout: lab.layout, podMemoryLimit: 8 * mib)

            let limited = try #require(prepared["limited"]).path
            let m = try lab.mount(limited)
            #expect(m.filesystemType == "tmpfs")
            #expect(m.source == "podrec")
            #expect(m.mountOptions.contains("nosuid") && m.mountOptions.contains("nodev") && !m.mountOptions.contains("noexec"))
            #expect(m.tmpfsSize == 3 * mib)
            #expect(try Self.statfsSize(limited) == 3 * mib)
            // kubelet's tmpfs root: 1777, tmpfs's default.
            #expect(try Sys.stat(limited).permissions == 0o1777)
            #expect(try Sys.filesystemType(limited) == Sys.tmpfsMagic)

            #expect(try lab.mount(try #require(prepared["pod-bound"]).path).tmpfsSize == 8 * mib)
            #expect(try lab.mount(try #require(prepared["odd"]).path).tmpfsSize == Self.pages(5000))
            // A disk emptyDir is no mount.
            let disk = try #require(prepared["disk"]).path
            #expect(try Sys.mounts().allSatisfy { $0.mountPoint != disk })
            #expect(try Sys.stat(disk).permissions == 0o777)

            // Prepared again: the same mounts, none stacked.
            let count = try Sys.mounts().filter { $0.mountPoint.hasPrefix(lab.tmp) }.count
            _ = try lab.volumes.prepare([(name: "limited", spec: .emptyDir(memory: true, sizeLimit: 3 * mib))],
                                        layout: lab.layout, podMemoryLimit: 8 * mib)
            #expect(try Sys.mounts().filter { $0.mountPoint.hasPrefix(lab.tmp) }.count == count)
        }

        @Test func withNoLimitAMemoryEmptyDirGetsHalfOfMemTotal() throws {
            let lab = try Lab()
            defer { lab.finish() }
            let prepared = try lab.volumes.prepare([(name: "scratch", spec: .emptyDir(memory: true, sizeLimit: nil))],
                                                   layout: lab.layout, podMemoryLimit: nil)
            let memTotal = try #require(lab.volumes.memTotal())
            // statfs, not mountinfo: Linux leaves `size=` out of the options when it is the
            // default, which half of MemTotal can be.
            #expect(try Sys.filesystemSize(try #require(prepared["scratch"]).path) == Self.pages(memTotal / 2))
        }

        @Test func aSecretVolumeIsItsOwnTmpfsWithItsFiles() throws {
            let lab = try Lab()
            defer { lab.finish() }
            let secret = ProjectedFiles(files: [ProjectedFiles.File(path: "token", bytes: Array("s3cret".utf8), mode: 0o400),
                                                ProjectedFiles.File(path: "tls/ca.crt", bytes: Array("ca".utf8), mode: 0o644)],
                                        secret: true)
            let prepared = try lab.volumes.prepare([(name: "creds", spec: .files(secret))], layout: lab.layout, podMemoryLimit: 16 << 20)
            let dir = lab.layout.volumeDirectory("creds")
            #expect(prepared == ["creds": PreparedVolume(path: dir, isFile: false, readOnly: true)])
            let m = try lab.mount(dir)
            #expect(m.filesystemType == "tmpfs" && m.source == "podrec")
            #expect(m.mountOptions.contains("nosuid") && m.mountOptions.contains("nodev"))
            #expect(m.tmpfsSize == 16 << 20)
            #expect(try Sys.stat(dir).permissions == 0o755)
            let ts = try Sys.readlink(dir + "/..data")
            #expect(try Sys.filesystemType(dir + "/" + ts) == Sys.tmpfsMagic)
            #expect(try Sys.readString(dir + "/token") == "s3cret")
            #expect(try Sys.readString(dir + "/tls/ca.crt") == "ca")
            #expect(try Sys.stat(dir + "/" + ts + "/token").permissions == 0o400)

            // An update stays on the tmpfs.
            var next = secret
            next.files[0].bytes = Array("rotated".utf8)
            #expect(try lab.volumes.update(name: "creds", files: next, layout: lab.layout))
            #expect(try Sys.readString(dir + "/token") == "rotated")
            #expect(try Sys.listDirectory(dir).filter { $0.hasPrefix("..2") }.count == 1)

            // Were the tmpfs gone, no secret would be written to the disk below it.
            try Sys.unmount(dir)
            next.files[0].bytes = Array("again".utf8)
            #expect(throws: VolumeError(volume: "creds", path: dir, .secretNotOnTmpfs)) {
                try lab.volumes.update(name: "creds", files: next, layout: lab.layout)
            }
            #expect(try Sys.listDirectory(dir) == [])
        }

        /// An update that does not fit its tmpfs fails with ENOSPC and leaves the old set as
        /// it was: no half-written dir, no link to an entry only the new set has.
        @Test func anUpdateThatDoesNotFitLeavesTheOldSet() throws {
            let lab = try Lab()
            defer { lab.finish() }
            let small = ProjectedFiles(files: [ProjectedFiles.File(path: "token", bytes: Array("v1".utf8), mode: 0o600)], secret: true)
            _ = try lab.volumes.prepare([(name: "creds", spec: .files(small))], layout: lab.layout, podMemoryLimit: 64 << 10)
            let dir = lab.layout.volumeDirectory("creds")
            #expect(try lab.mount(dir).tmpfsSize == 64 << 10)
            let before = try Sys.listDirectory(dir)
            let big = ProjectedFiles(files: [ProjectedFiles.File(path: "token", bytes: Array("v2".utf8), mode: 0o600),
                                             ProjectedFiles.File(path: "huge", bytes: [UInt8](repeating: 7, count: 256 << 10), mode: 0o600)],
                                     secret: true)
            do {
                try lab.volumes.update(name: "creds", files: big, layout: lab.layout)
                Issue.record("256 KiB fitted a 64 KiB tmpfs")
            } catch {
                #expect(error.volume == "creds")
                guard case .kernel(let k) = error.reason else { Issue.record("\(error)"); return }
                #expect(k.errno.rawValue == ENOSPC)
            }
            #expect(try Sys.listDirectory(dir) == before)
            #expect(try Sys.readString(dir + "/token") == "v1")
        }

        @Test func theSharedMemoryDirIsA64MiBNoexecTmpfs() throws {
            let lab = try Lab()
            defer { lab.finish() }
            let path = try lab.volumes.prepareShm(layout: lab.layout)
            #expect(path == lab.layout.shmDirectory)
            let m = try lab.mount(path)
            #expect(m.filesystemType == "tmpfs")
            #expect(["nosuid", "nodev", "noexec"].allSatisfy(m.mountOptions.contains))
            #expect(m.tmpfsSize == 64 << 20)
            #expect(try Sys.stat(path).permissions == 0o1777)
            try lab.volumes.prepareShm(layout: lab.layout)
            #expect(try Sys.mounts().filter { $0.mountPoint == path }.count == 1)
        }

        /// A reader that resolves `..data` once sees one whole generation: never `a` of
        /// one and `nested/b` of another, never a partial file.
        @Test func anUpdateSwapsTheWholeSetAtOnceUnderAReader() async throws {
            let lab = try Lab()
            defer { lab.finish() }
            func generation(_ n: Int) -> ProjectedFiles {
                var files = [ProjectedFiles.File(path: "a", bytes: Array("gen \(n)".utf8), mode: 0o644),
                             ProjectedFiles.File(path: "nested/b", bytes: Array("gen \(n)".utf8), mode: 0o644)]
                if n % 2 == 0 { files.append(ProjectedFiles.File(path: "even", bytes: [], mode: 0o644)) }
                return ProjectedFiles(files: files, secret: true)
            }
            _ = try lab.volumes.prepare([(name: "live", spec: .files(generation(0)))], layout: lab.layout, podMemoryLimit: nil)
            let dir = lab.layout.volumeDirectory("live")
            let last = 60

            let marker = lab.tmp + "/reader-started"
            let reader = Task.detached { () -> (whole: Int, generations: Set<String>, torn: [String]) in
                var whole = 0
                var generations = Set<String>()
                var torn: [String] = []
                try? Sys.writeFileAtomically(marker, [])
                for _ in 0..<2_000_000 {
                    // Through the visible link: a whole file of some generation, or gone in
                    // the instant its old dir is removed.
                    if let a = try? Sys.readString(dir + "/a"), !a.hasPrefix("gen ") || Int(a.dropFirst(4)) == nil {
                        torn.append("a: \(a)")
                    }
                    guard let fd = try? Sys.openDirectory(dir + "/..data/.") else { continue }
                    let a = try? Sys.readFile(at: fd, "a", describedAs: "a")
                    let b = try? Sys.readFile(at: fd, "nested/b", describedAs: "b")
                    Sys.close(fd)
                    guard let a, let b else { continue }
                    let text = String(decoding: a, as: UTF8.self)
                    if a != b { torn.append("\(text) / \(String(decoding: b, as: UTF8.self))") }
                    whole += 1
                    generations.insert(text)
                    if text == "gen \(last)" { break }
                }
                return (whole, generations, torn)
            }
            // The reader runs before the first update and during all of them.
            let deadline = MonotonicClock.now() + 5_000_000_000
            while !Sys.exists(marker) && MonotonicClock.now() < deadline { MonotonicClock.sleep(nanoseconds: 1_000_000) }
            for n in 1...last {
                #expect(try lab.volumes.update(name: "live", files: generation(n), layout: lab.layout))
            }
            let result = await reader.value
            #expect(result.torn == [])
            #expect(result.generations.contains("gen \(last)"))
            #expect(result.generations.count > 1, "the reader saw \(result.generations.sorted())")
            #expect(try Sys.readString(dir + "/a") == "gen \(last)")
            #expect(try Sys.listDirectory(dir).filter { !$0.hasPrefix("..2") } == ["..data", "a", "even", "nested"])
            try Sys.unlink(marker)
        }

        @Test func teardownUnmountsEverythingStackedAndBusyAndRemovesTheTree() throws {
            let lab = try Lab()
            defer { lab.finish() }
            let outside = lab.tmp + "/outside"
            try Sys.mkdirs(outside, mode: 0o755)
            try Sys.writeFileAtomically(outside + "/precious", Array("keep".utf8))
            let secret = ProjectedFiles(files: [ProjectedFiles.File(path: "token", bytes: Array("s".utf8), mode: 0o600)], secret: true)
            let prepared = try lab.volumes.prepare([
                (name: "mem", spec: .emptyDir(memory: true, sizeLimit: 1 << 20)),
                (name: "disk", spec: .emptyDir(memory: false, sizeLimit: nil)),
                (name: "creds", spec: .files(secret)),
                (name: "host", spec: .hostPath(path: outside, type: .directory)),
            ], layout: lab.layout, podMemoryLimit: nil)
            try lab.volumes.prepareShm(layout: lab.layout)
            try lab.volumes.writeHosts(layout: lab.layout, hostname: "web", aliases: [], hostNetwork: false)
            try lab.volumes.writeResolvConf(layout: lab.layout)

            // A mount stacked on the shm, links out of the emptyDirs, and a file held open
            // on the memory emptyDir, which makes its unmount busy until it is detached.
            try Sys.mount(source: "podrec", target: lab.layout.shmDirectory, fstype: "tmpfs", flags: [.noSuid, .noDev], data: "size=4096")
            let mem = try #require(prepared["mem"]).path
            try Sys.symlink(outside, mem + "/escape")
            try Sys.symlink(outside, try #require(prepared["disk"]).path + "/escape")
            try Sys.writeFileAtomically(mem + "/held", Array("x".utf8))
            let held = try Sys.open(mem + "/held", O_RDONLY)
            defer { Sys.close(held) }
            #expect(try Sys.mounts().filter { $0.mountPoint.hasPrefix(lab.layout.dataDirectory) }.count == 4)

            try lab.volumes.teardown(layout: lab.layout)
            #expect(try Sys.mounts().filter { $0.mountPoint.hasPrefix(lab.tmp) }.map(\.mountPoint) == [])
            #expect(!Sys.exists(lab.layout.dataDirectory))
            #expect(try Sys.listDirectory(outside) == ["precious"])
            #expect(try Sys.readString(outside + "/precious") == "keep")
            // The detached tmpfs lives on for the fd that holds it.
            var byte: UInt8 = 0
            #expect(read(held, &byte, 1) == 1 && byte == UInt8(ascii: "x"))
            try lab.volumes.teardown(layout: lab.layout)
        }
    }
}
