import Glibc
import Kernel

/// The C lower bound, `podlb` (../shared/reference/peers/podlb.c), built by pod-run.sh into
/// a temp dir. Its state and cgroups have fixed names: `/run/podlb/<pod>` and
/// `/sys/fs/cgroup/{memory,cpu,pids}/podlb/<pod>`; `podlb bench` always uses the pod
/// `bench`. It never removes the `podlb` parent cgroups or `/run/podlb`, so this wrapper
/// records which of them existed before and removes the ones it caused.
final class Podlb {
    static let controllers = ["memory", "cpu", "pids"]
    static let stateRoot = "/run/podlb"

    let executable: String
    let cgroupMount: String
    /// The `podlb` parent cgroups and the state root that were there before we ran podlb.
    let preexisting: Set<String>
    var used = false

    init(executable: String, cgroupMount: String) throws(BenchError) {
        guard access(executable, X_OK) == 0 else { throw BenchError("podlb: \(executable) is not executable") }
        self.executable = executable
        self.cgroupMount = cgroupMount
        var seen: Set<String> = []
        for path in Self.parentPaths(cgroupMount) + [Self.stateRoot] where Sys.exists(path) { seen.insert(path) }
        preexisting = seen
        // Someone else's `podlb bench` would share our pod name: refuse rather than collide.
        for c in Self.controllers where Sys.exists("\(cgroupMount)/\(c)/podlb/bench") {
            throw BenchError("\(cgroupMount)/\(c)/podlb/bench exists: another podlb bench is running (or left it); not touching it")
        }
        if Sys.exists(Self.stateRoot + "/bench") {
            throw BenchError("\(Self.stateRoot)/bench exists: another podlb bench is running (or left it); not touching it")
        }
    }

    static func parentPaths(_ mount: String) -> [String] { controllers.map { "\(mount)/\($0)/podlb" } }

    /// One `podlb bench RUNS` process: its own up+down loop, back to back, or `gapMs` apart
    /// (`GAP_MS`, a usleep in podlb before each up). Returns its "pod up total" row.
    func bench(runs: Int, gapMs: Int) throws(BenchError) -> Summary {
        used = true
        var env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        if gapMs > 0 { env.append("GAP_MS=\(gapMs)") }
        let (status, out) = try runCapturing([executable, "bench", String(runs), "2"], environment: env)
        guard status == 0 else { throw BenchError("podlb bench \(runs) failed (wait status \(status)): \(out)") }
        for line in out.split(separator: "\n") where line.hasPrefix("pod up total,") {
            let f = line.split(separator: ",").dropFirst().compactMap { Double($0) }
            guard f.count == 4 else { break }
            // podlb prints microseconds; its median is the upper middle value (r[runs/2]).
            return Summary(runs: Int(f[3]), median: f[0] / 1000, p90: nil, min: f[1] / 1000, max: f[2] / 1000)
        }
        throw BenchError("podlb bench: no \"pod up total\" row in:\n\(out)")
    }

    /// One run: `podlb bench 1` in a fresh process; its "pod up total" in ms.
    func oneRun(gapMs: Int) throws(BenchError) -> Double {
        try bench(runs: 1, gapMs: gapMs).median
    }

    /// Removes what podlb left: a pod `bench` after a failure (`podlb down bench` kills its
    /// infra and rmdirs its cgroups), then the parents that were not there before us.
    func cleanUp() -> [String] {
        guard used else { return [] }
        var problems: [String] = []
        let leftPod = Self.controllers.contains { Sys.exists("\(cgroupMount)/\($0)/podlb/bench") } || Sys.exists(Self.stateRoot + "/bench")
        if leftPod {
            if let (status, out) = try? runCapturing([executable, "down", "bench"], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]), status != 0 {
                problems.append("podlb down bench: \(out)")
            }
        }
        for path in Self.parentPaths(cgroupMount) + [Self.stateRoot] where !preexisting.contains(path) && Sys.exists(path) {
            do { try Sys.rmdir(path) } catch { problems.append("rmdir \(path): \(error)") }
        }
        return problems
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// posix_spawn `argv` with `environment`, stdin from /dev/null, stdout (and stderr) into a
/// pipe; waits for it. Returns the raw wait status and the output.
func runCapturing(_ argv: [String], environment: [String]) throws(BenchError) -> (status: Int32, output: String) {
    var fds: [Int32] = [-1, -1]
    // pipe2 needs _GNU_SOURCE; this process is single-threaded, so pipe + FD_CLOEXEC is as good.
    guard pipe(&fds) == 0 else { throw BenchError("pipe: errno \(errno)") }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = environment.map { strdup($0) } + [nil]
    defer {
        for p in cArgs { free(p) }
        for p in cEnv { free(p) }
    }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
    close(fds[1])
    guard rc == 0 else {
        close(fds[0])
        throw BenchError("posix_spawn \(argv[0]): errno \(rc)")
    }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n > 0 { output += buffer[0..<n]; continue }
        if n < 0 && errno == EINTR { continue }
        break
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status, String(decoding: output, as: UTF8.self))
}
