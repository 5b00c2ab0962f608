import Glibc
import Kernel
@testable import HostSetup
import Testing
import KernelTestSupport
import PodModel

/// The host side of pod volumes without mounts: dirs, hostPath checks, the AtomicWriter
/// layout and its updates, the hosts and resolv.conf files, the refusals, and a teardown
/// that never leaves its tree. Mounts (memory emptyDirs, secrets, shm) are in
/// `VolumeIntegrationTests`.
@Suite struct PodVolumesTests {
    /// A temp dir with a pod layout under it; `finish()` removes it.
    struct Lab {
        var tmp: String
        var layout: PodLayout
        let volumes = PodVolumes()

        init(uid: String = "uid-1") throws {
            tmp = try makeTemporaryDirectory("podrec-test-vol")
            layout = PodLayout(root: tmp + "/state", dataRoot: tmp + "/data", logRoot: tmp + "/log", cgroupParent: "podrec-test",
                               namespace: "default", name: "web", uid: uid)
        }

        func finish() { try? Sys.removeTree(tmp) }

        func mode(_ path: String) throws -> UInt32 { try Sys.stat(path, followSymlinks: false).permissions }
    }

    static func file(_ path: String, _ text: String, _ mode: UInt32 = 0o644) -> ProjectedFiles.File {
        ProjectedFiles.File(path: path, bytes: Array(text.utf8), mode: mode)
    }

    /// The entries of a dir without its timestamped data dirs, and those separately.
    static func entries(_ dir: String) throws -> (visible: [String], dataDirs: [String]) {
        let all = try Sys.listDirectory(dir)
        let data = all.filter { $0.hasPrefix("..2") }
        return (all.filter { !$0.hasPrefix("..2") }, data)
    }

    // MARK: emptyDir

    @Test func anEmptyDirOnDiskIsMode0777UnderA0700DataDirAndKeepsItsContentsWhenPreparedAgain() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let prepared = try lab.volumes.prepare([(name: "cache", spec: .emptyDir(memory: false, sizeLimit: nil))],
                                               layout: lab.layout, podMemoryLimit: nil)
        let dir = lab.layout.volumeDirectory("cache")
        #expect(prepared == ["cache": PreparedVolume(path: dir, isFile: false, readOnly: false)])
        #expect(try lab.mode(dir) == 0o777)
        #expect(try lab.mode(lab.layout.dataDirectory) == 0o700)
        #expect(try lab.mode(lab.layout.dataDirectory + "/volumes") == 0o700)
        try Sys.writeFileAtomically(dir + "/kept", Array("x".utf8))
        _ = try lab.volumes.prepare([(name: "cache", spec: .emptyDir(memory: false, sizeLimit: nil))], layout: lab.layout, podMemoryLimit: nil)
        #expect(try Sys.readString(dir + "/kept") == "x")
    }

    @Test func theMemoryBoundIsTheSmallestOfSizeLimitPodLimitAndHalfOfMemTotal() {
        let gib: Int64 = 1 << 30
        #expect(PodVolumes.memoryVolumeSize(sizeLimit: nil, podMemoryLimit: nil, memTotal: 8 * gib) == 4 * gib)
        #expect(PodVolumes.memoryVolumeSize(sizeLimit: nil, podMemoryLimit: gib, memTotal: 8 * gib) == gib)
        #expect(PodVolumes.memoryVolumeSize(sizeLimit: 64 << 20, podMemoryLimit: gib, memTotal: 8 * gib) == 64 << 20)
        // A sizeLimit above what the pod may use does not raise the bound.
        #expect(PodVolumes.memoryVolumeSize(sizeLimit: 16 * gib, podMemoryLimit: 2 * gib, memTotal: 8 * gib) == 2 * gib)
        #expect(PodVolumes.memoryVolumeSize(sizeLimit: 16 * gib, podMemoryLimit: nil, memTotal: 8 * gib) == 4 * gib)
        // Zero and unknown values do not count.
        #expect(PodVolumes.memoryVolumeSize(sizeLimit: 0, podMemoryLimit: 0, memTotal: nil) == nil)
        #expect(PodVolumes.memoryVolumeSize(sizeLimit: 1 << 20, podMemoryLimit: nil, memTotal: nil) == 1 << 20)
    }

    @Test func memTotalIsReadFromTheGivenProc() throws {
        let lab = try Lab()
        defer { lab.finish() }
        try Sys.writeFileAtomically(lab.tmp + "/meminfo", Array("MemTotal:        2048 kB\nMemFree:  1 kB\n".utf8))
        let volumes = PodVolumes(proc: lab.tmp)
        #expect(volumes.memTotal() == Int64(2048 * 1024))
        #expect(volumes.memoryVolumeSize(sizeLimit: nil, podMemoryLimit: nil) == Int64(1024 * 1024))
        #expect(PodVolumes(proc: lab.tmp + "/missing").memTotal() == nil)
    }

    // MARK: hostPath

    func hostPath(_ lab: Lab, _ path: String, _ type: HostPathType) throws(VolumeError) -> PreparedVolume? {
        try lab.volumes.prepare([(name: "host", spec: .hostPath(path: path, type: type))], layout: lab.layout, podMemoryLimit: nil)["host"]
    }

    func hostPathError(_ lab: Lab, _ path: String, _ type: HostPathType) -> String? {
        do {
            _ = try hostPath(lab, path, type)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func hostPathTypesAreCheckedWithKubeletsMessages() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let dir = lab.tmp + "/dir", file = lab.tmp + "/file", fifo = lab.tmp + "/fifo", link = lab.tmp + "/link"
        try Sys.mkdir(dir, mode: 0o755)
        try Sys.writeFileAtomically(file, [], mode: 0o600)
        #expect(mkfifo(fifo, 0o600) == 0)
        try Sys.symlink(dir, link)

        #expect(try hostPath(lab, dir, .directory) == PreparedVolume(path: dir, isFile: false))
        #expect(try hostPath(lab, link, .directory) == PreparedVolume(path: link, isFile: false))
        #expect(try hostPath(lab, file, .file) == PreparedVolume(path: file, isFile: true))
        #expect(try hostPath(lab, "/dev/null", .charDevice) == PreparedVolume(path: "/dev/null", isFile: true))
        #expect(try hostPath(lab, file, .unset) == PreparedVolume(path: file, isFile: true))

        #expect(hostPathError(lab, file, .directory) == "volume \"host\": hostPath type check failed: \(file) is not a directory, it's a File")
        #expect(hostPathError(lab, dir, .file) == "volume \"host\": hostPath type check failed: \(dir) is not a file, it's a Directory")
        #expect(hostPathError(lab, file, .socket) == "volume \"host\": hostPath type check failed: \(file) is not a socket file, it's a File")
        #expect(hostPathError(lab, "/dev/null", .blockDevice)
                == "volume \"host\": hostPath type check failed: /dev/null is not a block device, it's a CharDevice")
        #expect(hostPathError(lab, dir, .charDevice) == "volume \"host\": hostPath type check failed: \(dir) is not a character device, it's a Directory")
        #expect(hostPathError(lab, lab.tmp + "/missing", .directory) == "volume \"host\": hostPath \(lab.tmp)/missing doesn't exist")
        #expect(hostPathError(lab, fifo, .file) == "volume \"host\": hostPath type check failed, \(fifo) is not a file, unable to determine its type: only recognise file, directory, socket, block device and character device")
        // FileOrCreate on something else is checked as File.
        #expect(hostPathError(lab, dir, .fileOrCreate) == "volume \"host\": hostPath type check failed: \(dir) is not a file, it's a Directory")
        #expect(hostPathError(lab, file, .directoryOrCreate) == "volume \"host\": hostPath type check failed: \(file) is not a directory, it's a File")
        // A hostPath volume makes nothing under the pod's data dir.
        #expect(!Sys.exists(lab.layout.dataDirectory))
    }

    @Test func aUnixSocketPassesTheSocketCheck() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let path = lab.tmp + "/app.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        #expect(try hostPath(lab, path, .socket) == PreparedVolume(path: path, isFile: true))
        #expect(hostPathError(lab, path, .file) == "volume \"host\": hostPath type check failed: \(path) is not a file, it's a Socket")
    }

    @Test func orCreateTypesCreateWhatIsMissingWithKubeletsModes() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let dir = lab.tmp + "/made/a/b"
        #expect(try hostPath(lab, dir, .directoryOrCreate) == PreparedVolume(path: dir, isFile: false))
        #expect(try lab.mode(lab.tmp + "/made") == 0o755)
        #expect(try lab.mode(dir) == 0o755)
        let file = lab.tmp + "/made/a/f"
        #expect(try hostPath(lab, file, .fileOrCreate) == PreparedVolume(path: file, isFile: true))
        #expect(try lab.mode(file) == 0o644)
        #expect(try Sys.readFile(file) == [])
        // An existing file is kept as it is.
        try Sys.writeFileAtomically(file, Array("data".utf8), mode: 0o600)
        _ = try hostPath(lab, file, .fileOrCreate)
        #expect(try Sys.readString(file) == "data")
        #expect(try lab.mode(file) == 0o600)
        // FileOrCreate makes no parents, as kubelet makes none.
        let orphan = lab.tmp + "/nowhere/f"
        #expect(hostPathError(lab, orphan, .fileOrCreate) == "volume \"host\": open \(orphan): ENOENT (No such file or directory)")
        // No type: a missing path becomes a dir, as containerd makes a missing bind source.
        let unset = lab.tmp + "/unset/x"
        #expect(try hostPath(lab, unset, .unset) == PreparedVolume(path: unset, isFile: false))
        #expect(try Sys.stat(unset).isDirectory)
    }

    @Test func hostPathsMustBeAbsoluteWithoutBacksteps() throws {
        let lab = try Lab()
        defer { lab.finish() }
        #expect(hostPathError(lab, "relative/x", .unset) == "volume \"host\": invalid hostPath relative/x: must be an absolute path")
        #expect(hostPathError(lab, lab.tmp + "/../etc", .directoryOrCreate)
                == "volume \"host\": invalid hostPath \(lab.tmp)/../etc: must not contain '..'")
        #expect(!Sys.exists(lab.tmp + "/relative"))
    }

    // MARK: configMap and secret files

    static let config = ProjectedFiles(files: [file("app.conf", "port=1\n"), file("nested/deep/key", "k1", 0o600),
                                               file("run.sh", "#!/bin/sh\n", 0o755)], secret: false)

    @Test func filesAreLaidOutAsKubeletsAtomicWriterLaysThemOut() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let prepared = try lab.volumes.prepare([(name: "config", spec: .files(Self.config))], layout: lab.layout, podMemoryLimit: nil)
        let dir = lab.layout.volumeDirectory("config")
        #expect(prepared == ["config": PreparedVolume(path: dir, isFile: false, readOnly: true)])
        let (visible, dataDirs) = try Self.entries(dir)
        #expect(visible == ["..data", "app.conf", "nested", "run.sh"])
        try #require(dataDirs.count == 1)
        let ts = dataDirs[0]
        // ..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN
        #expect(ts.count == 2 + 19 + 1 + 9)
        #expect(try Sys.readlink(dir + "/..data") == ts)
        for name in ["app.conf", "nested", "run.sh"] { #expect(try Sys.readlink(dir + "/" + name) == "..data/" + name) }
        #expect(try Sys.readString(dir + "/app.conf") == "port=1\n")
        #expect(try Sys.readString(dir + "/nested/deep/key") == "k1")
        #expect(try lab.mode(dir) == 0o755)
        #expect(try lab.mode(dir + "/" + ts) == 0o755)
        #expect(try lab.mode(dir + "/" + ts + "/nested") == 0o755)
        #expect(try lab.mode(dir + "/" + ts + "/nested/deep") == 0o755)
        #expect(try lab.mode(dir + "/" + ts + "/app.conf") == 0o644)
        #expect(try lab.mode(dir + "/" + ts + "/nested/deep/key") == 0o600)
        #expect(try lab.mode(dir + "/" + ts + "/run.sh") == 0o755)
    }

    @Test func anUpdateSwapsDataRemovesGoneKeysAndTheOldDirAndSkipsWhenNothingChanged() throws {
        let lab = try Lab()
        defer { lab.finish() }
        _ = try lab.volumes.prepare([(name: "config", spec: .files(Self.config))], layout: lab.layout, podMemoryLimit: nil)
        let dir = lab.layout.volumeDirectory("config")
        let first = try Sys.readlink(dir + "/..data")

        // Same contents and modes: nothing written.
        #expect(try lab.volumes.update(name: "config", files: Self.config, layout: lab.layout) == false)
        #expect(try Sys.readlink(dir + "/..data") == first)

        // A changed value, a removed key, a new nested key.
        let second = ProjectedFiles(files: [Self.file("app.conf", "port=2\n"), Self.file("run.sh", "#!/bin/sh\n", 0o755),
                                            Self.file("more/x", "x")], secret: false)
        #expect(try lab.volumes.update(name: "config", files: second, layout: lab.layout))
        let (visible, dataDirs) = try Self.entries(dir)
        #expect(visible == ["..data", "app.conf", "more", "run.sh"])
        #expect(dataDirs.count == 1 && dataDirs[0] != first)
        #expect(try Sys.readlink(dir + "/..data") == dataDirs[0])
        #expect(try Sys.readString(dir + "/app.conf") == "port=2\n")
        #expect(try Sys.readString(dir + "/more/x") == "x")
        #expect(!Sys.exists(dir + "/nested"))

        // A mode alone changes: written.
        let third = ProjectedFiles(files: second.files.map { var f = $0; if f.path == "run.sh" { f.mode = 0o700 }; return f }, secret: false)
        #expect(try lab.volumes.update(name: "config", files: third, layout: lab.layout))
        let ts = try Sys.readlink(dir + "/..data")
        #expect(try lab.mode(dir + "/" + ts + "/run.sh") == 0o700)
        #expect(try lab.volumes.update(name: "config", files: third, layout: lab.layout) == false)
    }

    @Test func anUpdateCleansWhatACrashedWriteLeft() throws {
        let lab = try Lab()
        defer { lab.finish() }
        _ = try lab.volumes.prepare([(name: "config", spec: .files(Self.config))], layout: lab.layout, podMemoryLimit: nil)
        let dir = lab.layout.volumeDirectory("config")
        try Sys.mkdirs(dir + "/..2020_01_01_00_00_00.000000001/half", mode: 0o755)
        try Sys.symlink("..2020_01_01_00_00_00.000000001", dir + "/..data_tmp")
        // A stray file where a key's link belongs is replaced by the link.
        try Sys.unlink(dir + "/app.conf")
        try Sys.writeFileAtomically(dir + "/app.conf", Array("stray".utf8))
        #expect(try lab.volumes.update(name: "config", files: Self.config, layout: lab.layout))
        let (visible, dataDirs) = try Self.entries(dir)
        #expect(visible == ["..data", "app.conf", "nested", "run.sh"])
        #expect(dataDirs.count == 1)
        #expect(try Sys.readString(dir + "/app.conf") == "port=1\n")
    }

    @Test func timestampedDirsAreNamedInUTCWithNanoseconds() {
        func name(_ seconds: Int64, _ nanos: Int64) -> String { AtomicWriter.timestampName(seconds * 1_000_000_000 + nanos) }
        #expect(name(1_795_941_000, 123_456_789) == "..2026_11_29_08_30_00.123456789")
        #expect(name(1_709_251_199, 5) == "..2024_02_29_23_59_59.000000005")
        #expect(name(0, 0) == "..1970_01_01_00_00_00.000000000")
        #expect(name(-1, 0) == "..1969_12_31_23_59_59.000000000")
    }

    @Test func aSecretIsNeverWrittenToADisk() throws {
        let lab = try Lab()
        defer { lab.finish() }
        _ = try lab.volumes.prepare([(name: "token", spec: .files(Self.config))], layout: lab.layout, podMemoryLimit: nil)
        let dir = lab.layout.volumeDirectory("token")
        let before = try Sys.readlink(dir + "/..data")
        let secret = ProjectedFiles(files: [Self.file("token", "s3cret")], secret: true)
        #expect(throws: VolumeError(volume: "token", path: dir, .secretNotOnTmpfs)) {
            try lab.volumes.update(name: "token", files: secret, layout: lab.layout)
        }
        #expect(try Sys.readlink(dir + "/..data") == before)
        #expect(!Sys.exists(dir + "/token"))
    }

    // MARK: Refusals

    func refusal(_ lab: Lab, _ volumes: [(name: String, spec: VolumeSpec)]) -> VolumeError? {
        do {
            _ = try lab.volumes.prepare(volumes, layout: lab.layout, podMemoryLimit: nil)
            return nil
        } catch {
            return error
        }
    }

    @Test func volumeNamesMustBeDNSLabelsBeforeAnythingIsMade() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let empty: VolumeSpec = .emptyDir(memory: false, sizeLimit: nil)
        for bad in ["Cache", "a/b", "..", ".", "", "-a", "a-", "a_b", String(repeating: "a", count: 64), "../../etc"] {
            // A good volume first: nothing is made when a later one is refused.
            let error = refusal(lab, [(name: "good", spec: empty), (name: bad, spec: empty)])
            #expect(error?.reason == .invalidVolumeName, "\(bad)")
            #expect(error?.volume == bad)
        }
        #expect(refusal(lab, [(name: "twice", spec: empty), (name: "twice", spec: empty)])?.reason == .duplicateVolumeName)
        #expect(refusal(lab, [(name: String(repeating: "a", count: 63), spec: empty)]) == nil)
        #expect(refusal(lab, [(name: "Bad", spec: empty)])?.description
                == "volume \"Bad\": volume name is not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)")
        #expect(throws: VolumeError.self) { try lab.volumes.update(name: "../x", files: Self.config, layout: lab.layout) }
        #expect(!Sys.exists(lab.layout.volumeDirectory("good")))
    }

    @Test func filePathsThatCouldEscapeOrClashAreRefused() throws {
        let lab = try Lab()
        defer { lab.finish() }
        func reason(_ paths: [String]) -> String? {
            let files = ProjectedFiles(files: paths.map { Self.file($0, "x") }, secret: false)
            return refusal(lab, [(name: "config", spec: .files(files))])?.reason.description
        }
        #expect(reason(["../x"]) == "file path \"../x\" must not contain '..'")
        #expect(reason(["a/../../x"]) == "file path \"a/../../x\" must not contain '..'")
        #expect(reason(["/etc/passwd"]) == "file path \"/etc/passwd\" must be a relative path")
        #expect(reason(["..data/x"]) == "file path \"..data/x\" must not start with '..'")
        #expect(reason(["..x"]) == "file path \"..x\" must not start with '..'")
        #expect(reason([""]) == "file path \"\" must not be empty")
        #expect(reason(["./"]) == "file path \"./\" must name a file")
        #expect(reason([String(repeating: "a", count: 256)]) == "file path \"\(String(repeating: "a", count: 256))\" must have components of at most 255 bytes")
        #expect(reason(["a", "a/b"]) == "file paths \"a\" and \"a/b\" conflict: one is a directory of the other")
        #expect(reason(["a", "./a"]) == "file path \"a\" given twice" || reason(["a", "./a"]) == "file path \"./a\" given twice")
        #expect(!Sys.exists(lab.layout.volumeDirectory("config")))
        // Empty and `.` components are dropped, as filepath.Clean drops them.
        #expect(reason(["./a//b", "c"]) == nil)
        #expect(try Sys.readString(lab.layout.volumeDirectory("config") + "/a/b") == "x")
    }

    @Test func aPodUIDThatIsNotOnePathComponentIsRefused() throws {
        for uid in ["", ".", "..", "a/b"] {
            let lab = try Lab(uid: uid)
            defer { lab.finish() }
            #expect(throws: VolumeError(volume: nil, path: lab.layout.dataDirectory, .invalidPodUID(uid))) {
                try lab.volumes.teardown(layout: lab.layout)
            }
            #expect(throws: VolumeError.self) {
                try lab.volumes.prepare([(name: "x", spec: .emptyDir(memory: false, sizeLimit: nil))], layout: lab.layout, podMemoryLimit: nil)
            }
        }
    }

    // MARK: hosts and resolv.conf

    @Test func aPodsHostsFileIsKubeletsWithTheHostnameOnLoopback() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let path = try lab.volumes.writeHosts(layout: lab.layout, hostname: "web-0",
                                              aliases: [(ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"]), (ip: "::2", hostnames: ["six"])],
                                              hostNetwork: false)
        #expect(path == lab.layout.hostsFile)
        #expect(try Sys.readString(path) == """
            # Kubernetes-managed hosts file.
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            fe00::0\tip6-mcastprefix
            fe00::1\tip6-allnodes
            fe00::2\tip6-allrouters
            127.0.0.1\tweb-0

            # Entries added by HostAliases.
            10.1.2.3\tfoo.local\tbar.local
            ::2\tsix

            """)
        #expect(try lab.mode(path) == 0o644)
        // Without aliases, no alias section.
        #expect(try String(decoding: PodVolumes.hostsFileContent(hostname: "h", aliases: [], hostHosts: nil), as: UTF8.self)
            .hasSuffix("fe00::2\tip6-allrouters\n127.0.0.1\th\n"))
    }

    @Test func aHostNetworkPodGetsTheHostsHostsFileFollowedInsideTheHostRoot() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let root = lab.tmp + "/host"
        try Sys.mkdirs(root + "/etc", mode: 0o755)
        try Sys.mkdirs(root + "/run/net", mode: 0o755)
        try Sys.writeFileAtomically(root + "/run/net/hosts", Array("127.0.0.1 localhost\n10.0.0.1 node".utf8), mode: 0o644)
        // An absolute link is taken from the host root, never from /.
        try Sys.symlink("/run/net/hosts", root + "/etc/hosts")
        try lab.volumes.writeHosts(layout: lab.layout, hostname: "node", aliases: [(ip: "10.9.9.9", hostnames: ["db"])],
                                   hostNetwork: true, hostRoot: root)
        #expect(try Sys.readString(lab.layout.hostsFile) == """
            # Kubernetes-managed hosts file (host network).
            127.0.0.1 localhost
            10.0.0.1 node

            # Entries added by HostAliases.
            10.9.9.9\tdb

            """)
        // No hosts file on the host: the header and the aliases.
        try Sys.unlink(root + "/etc/hosts")
        try lab.volumes.writeHosts(layout: lab.layout, hostname: "node", aliases: [], hostNetwork: true, hostRoot: root)
        #expect(try Sys.readString(lab.layout.hostsFile) == "# Kubernetes-managed hosts file (host network).\n")
    }

    @Test func hostsEntriesThatWouldAddLinesAreRefused() throws {
        let lab = try Lab()
        defer { lab.finish() }
        for (hostname, aliases) in [("a\nb", [(ip: String, hostnames: [String])]()), ("h", [(ip: "1.2.3.4", hostnames: ["x y"])]),
                                    ("h", [(ip: "1.2.3.4 # c", hostnames: ["x"])]), ("h", [(ip: "", hostnames: ["x"])])] {
            #expect(throws: VolumeError.self) {
                try lab.volumes.writeHosts(layout: lab.layout, hostname: hostname, aliases: aliases, hostNetwork: false)
            }
        }
        #expect(!Sys.exists(lab.layout.hostsFile))
    }

    @Test func resolvConfIsTheHostsThroughItsLinksWithTheResolvedStubReplaced() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let root = lab.tmp + "/host"
        try Sys.mkdirs(root + "/etc", mode: 0o755)
        try Sys.mkdirs(root + "/run/systemd/resolve", mode: 0o755)
        let stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.org\n"
        try Sys.writeFileAtomically(root + "/run/systemd/resolve/stub-resolv.conf", Array(stub.utf8), mode: 0o600)
        try Sys.symlink("../run/systemd/resolve/stub-resolv.conf", root + "/etc/resolv.conf")
        // The stub's upstreams, with a loopback one that a pod could not reach.
        let upstream = "# generated\nnameserver 192.0.2.53\nnameserver 127.0.0.1\nnameserver 198.51.100.53\nsearch lan example.org\n"
        try Sys.writeFileAtomically(root + "/run/systemd/resolve/resolv.conf", Array(upstream.utf8), mode: 0o600)
        let path = try lab.volumes.writeResolvConf(layout: lab.layout, hostRoot: root)
        #expect(path == lab.layout.resolvConfFile)
        #expect(try Sys.readString(path) == "nameserver 192.0.2.53\nnameserver 198.51.100.53\nsearch lan example.org\n")
        #expect(try lab.mode(path) == 0o644)
        // dnsConfig merged in: nameservers and searches appended once, options by name, the
        // pod's value winning; at most three nameservers.
        let dns = PodDNS(policy: "ClusterFirst", nameservers: ["203.0.113.1", "192.0.2.53", "203.0.113.2"], searches: ["svc.local", "lan"],
                         options: [ResolvConf.Option(name: "ndots", value: "2"), ResolvConf.Option(name: "rotate")])
        try lab.volumes.writeResolvConf(layout: lab.layout, dns: dns, hostRoot: root)
        #expect(try Sys.readString(path)
                == "nameserver 192.0.2.53\nnameserver 198.51.100.53\nnameserver 203.0.113.1\nsearch lan example.org svc.local\noptions ndots:2 rotate\n")
        // None: only the pod's own.
        try lab.volumes.writeResolvConf(layout: lab.layout, dns: PodDNS(policy: "None", nameservers: ["203.0.113.1"], options: [ResolvConf.Option(name: "ndots", value: "1")]),
                                        hostRoot: root)
        #expect(try Sys.readString(path) == "nameserver 203.0.113.1\noptions ndots:1\n")
        // A host file without the stub is taken as it is (loopback dropped); then none at all.
        try Sys.unlink(root + "/etc/resolv.conf")
        try Sys.writeFileAtomically(root + "/etc/resolv.conf", Array("nameserver ::1\nnameserver 192.0.2.1\noptions ndots:3\n".utf8), mode: 0o644)
        try lab.volumes.writeResolvConf(layout: lab.layout, dns: PodDNS(policy: "Default", options: [ResolvConf.Option(name: "ndots", value: "1")]), hostRoot: root)
        #expect(try Sys.readString(path) == "nameserver 192.0.2.1\noptions ndots:1\n")
        try Sys.unlink(root + "/etc/resolv.conf")
        try lab.volumes.writeResolvConf(layout: lab.layout, hostRoot: root)
        #expect(try Sys.readFile(path) == [])
    }

    // MARK: Teardown

    @Test func teardownRemovesTheDataDirWithoutFollowingLinksAndIsIdempotent() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let outside = lab.tmp + "/outside"
        try Sys.mkdirs(outside, mode: 0o755)
        try Sys.writeFileAtomically(outside + "/precious", Array("keep".utf8))
        let prepared = try lab.volumes.prepare([(name: "cache", spec: .emptyDir(memory: false, sizeLimit: nil)),
                                                (name: "config", spec: .files(Self.config)),
                                                (name: "host", spec: .hostPath(path: outside, type: .directory))],
                                               layout: lab.layout, podMemoryLimit: nil)
        try lab.volumes.writeHosts(layout: lab.layout, hostname: "web", aliases: [], hostNetwork: false)
        // What a container could leave in its emptyDir: links out, a deep tree.
        let cache = try #require(prepared["cache"]).path
        try Sys.symlink(outside, cache + "/escape")
        try Sys.symlink(outside + "/precious", cache + "/file-link")
        try Sys.mkdirs(cache + "/a/b/c", mode: 0o700)
        try Sys.writeFileAtomically(cache + "/a/b/c/f", [1, 2, 3])
        try lab.volumes.teardown(layout: lab.layout)
        #expect(!Sys.exists(lab.layout.dataDirectory))
        #expect(try Sys.readString(outside + "/precious") == "keep")
        #expect(try Sys.listDirectory(outside) == ["precious"])
        try lab.volumes.teardown(layout: lab.layout)
    }

    // MARK: mountinfo

    @Test func mountinfoLinesAreParsedWithTheirEscapes() throws {
        let line = "36 35 0:52 / /var/lib/podrec/pods/u/volumes/my\\040dir rw,nosuid,nodev,relatime shared:1 - tmpfs podrec rw,size=3072k,mode=1777"
        let entry = try #require(Sys.MountEntry(mountinfoLine: Substring(line)))
        #expect(entry.mountPoint == "/var/lib/podrec/pods/u/volumes/my dir")
        #expect(entry.filesystemType == "tmpfs")
        #expect(entry.source == "podrec")
        #expect(entry.mountOptions == ["rw", "nosuid", "nodev", "relatime"])
        #expect(entry.tmpfsSize == 3 << 20)
        #expect(Sys.MountEntry(mountinfoLine: "36 35 0:52 / /x rw") == nil)
        let mounts = try Sys.mounts()
        #expect(mounts.contains { $0.mountPoint == "/proc" && $0.filesystemType == "proc" })
    }
}
