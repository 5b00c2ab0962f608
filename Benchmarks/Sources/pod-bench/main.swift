// pod-bench: how fast podrec starts a pod, next to the C lower bound podlb, and what an idle
// pod costs in memory. A benchmark, not a test; run it through Benchmarks/pod-run.sh (root).
//
//   pod-bench --supervisor PATH --podlb PATH [--runs 30] [--block 10] [--gap-ms 200]
//             [--pods 50] [--settle-ms 1000] [--only start|memory]
//
// Progress goes to stderr, the tables (markdown) to stdout. See Benchmarks/README.md for
// exactly what each number covers.
import Cgroups
import Glibc
import Kernel
import PodModel
import ContainerRuntime
import HostSetup
import Seccomp

struct Options {
    var supervisor = ""
    var podlb = ""
    var runs = 30
    var block = 10
    var gapMs = 200
    var pods = 50
    var settleMs = 1000
    var only: String?

    static let usage = "usage: pod-bench --supervisor PATH --podlb PATH [--runs N] [--block N] [--gap-ms MS] [--pods N] [--settle-ms MS] [--only start|memory]"

    init(_ args: [String]) throws(BenchError) {
        var i = 0
        func value() throws(BenchError) -> String {
            guard i + 1 < args.count else { throw BenchError("\(args[i]) needs a value\n\(Self.usage)") }
            i += 1
            return args[i]
        }
        func number() throws(BenchError) -> Int {
            let flag = args[i]
            guard let n = Int(try value()), n >= 0 else { throw BenchError("\(flag): a number ≥ 0 expected") }
            return n
        }
        while i < args.count {
            switch args[i] {
            case "--supervisor": supervisor = try value()
            case "--podlb": podlb = try value()
            case "--runs": runs = try number()
            case "--block": block = try number()
            case "--gap-ms": gapMs = try number()
            case "--pods": pods = try number()
            case "--settle-ms": settleMs = try number()
            case "--only":
                let v = try value()
                guard v == "start" || v == "memory" else { throw BenchError("--only: start or memory") }
                only = v
            default: throw BenchError(Self.usage)
            }
            i += 1
        }
        guard !supervisor.isEmpty else { throw BenchError("--supervisor is required\n\(Self.usage)") }
        guard !podlb.isEmpty || only == "memory" else { throw BenchError("--podlb is required\n\(Self.usage)") }
        guard runs > 0, block > 0, pods > 0 else { throw BenchError("--runs, --block and --pods must be > 0") }
    }
}

func progress(_ text: String) { Sys.printError("pod-bench: " + text + "\n") }

func sleepMilliseconds(_ ms: Int) { if ms > 0 { MonotonicClock.sleep(nanoseconds: Int64(ms) * 1_000_000) } }

let MiB: Int64 = 1 << 20
/// Like podlb's: c0 64 MiB and 50 % of a CPU, c1 32 MiB and 25 %, pids.max 1024 on both;
/// the pod cgroup gets the sum of memory and CPU (podlb leaves its pod cgroup unlimited).
let startLimits = PodCgroupLimits(
    pod: CgroupLimits(cpuMax: CPUMax(quota: .value(75_000), period: 100_000), memory: .value(96 * MiB)),
    containers: [
        "c0": CgroupLimits(cpuMax: CPUMax(quota: .value(50_000), period: 100_000), memory: .value(64 * MiB), pids: .value(1024)),
        "c1": CgroupLimits(cpuMax: CPUMax(quota: .value(25_000), period: 100_000), memory: .value(32 * MiB), pids: .value(1024)),
    ])
let idleLimits = PodCgroupLimits(
    pod: CgroupLimits(cpuMax: CPUMax(quota: .value(25_000), period: 100_000), memory: .value(32 * MiB)),
    containers: ["c0": CgroupLimits(cpuMax: CPUMax(quota: .value(25_000), period: 100_000), memory: .value(32 * MiB), pids: .value(1024))])

// MARK: Pod start

struct StartResults {
    var podrecWarm: [Double] = []
    /// The same pods with RuntimeDefault's program in every container, in blocks that
    /// alternate with the unconfined ones.
    var podrecWarmSeccomp: [Double] = []
    /// The same pods with a user namespace (`hostUsers: false`), in blocks of their own.
    var podrecWarmUserns: [Double] = []
    var podlbWarm: [Double] = []
    var podlbWarmLoop: Summary?
    var podrecCold: [Double] = []
    var podlbCold: [Double] = []
    var podlbColdLoop: Summary?
}

final class StartBench {
    let lab: BenchLab
    let podlb: Podlb
    let options: Options
    var serial = 0
    /// RuntimeDefault for the containers' capabilities, compiled with libseccomp and stored
    /// as the reconciler stores it: what a pod with no profile runs under.
    let runtimeDefault: SeccompFilterRef

    init(lab: BenchLab, podlb: Podlb, options: Options) throws {
        self.lab = lab
        self.podlb = podlb
        self.options = options
        let bounding = Set(CapabilitySet(rawValue: BenchLab.defaultCapabilities).names)
        let bytes = try SeccompCompiler.compile(RuntimeDefault.profile(bounding: bounding), bounding: bounding, unknown: .skip)
        let stored = try SeccompStore(directory: lab.tmp + "/run/seccomp").store(bytes)
        runtimeDefault = SeccompFilterRef(path: stored.path, sha256: stored.sha256, profile: "RuntimeDefault")
    }

    /// One podrec start of a 2-container pod, in ms; stop and cleanup are not timed.
    func podrecRun(gapMs: Int, seccomp: Bool = false, userns: Bool = false) throws -> Double {
        try checkInterrupted()
        serial += 1
        let (launcher, plan) = lab.pod("start-\(serial)", containers: ["c0", "c1"], seccomp: seccomp ? runtimeDefault : nil,
                                       userNamespace: userns ? IDRange(start: UserNamespaceRange.defaultStart, count: UserNamespaceRange.perPod) : nil)
        sleepMilliseconds(gapMs)
        let (_, ns) = try lab.create(launcher, plan, limits: startLimits)
        try lab.destroy(launcher)
        return Double(ns) / 1e6
    }

    /// One podlb start (`podlb bench 1`, its own "pod up total"), in ms.
    func podlbRun(gapMs: Int) throws -> Double {
        try checkInterrupted()
        return try podlb.oneRun(gapMs: gapMs)
    }

    func run() throws -> StartResults {
        var r = StartResults()
        let runs = options.runs
        // Warm: each system back to back in blocks, so that every run follows the same
        // system's previous run by milliseconds. The first run of a block (after the other
        // system's block) is a warm-up and is not counted.
        var done = 0
        while done < runs {
            let n = min(options.block, runs - done)
            progress("warm: podrec runs \(done + 1)-\(done + n) of \(runs)")
            _ = try podrecRun(gapMs: 0)
            for _ in 0..<n { r.podrecWarm.append(try podrecRun(gapMs: 0)) }
            progress("warm: podrec with RuntimeDefault, runs \(done + 1)-\(done + n) of \(runs)")
            _ = try podrecRun(gapMs: 0, seccomp: true)
            for _ in 0..<n { r.podrecWarmSeccomp.append(try podrecRun(gapMs: 0, seccomp: true)) }
            progress("warm: podrec with a user namespace, runs \(done + 1)-\(done + n) of \(runs)")
            _ = try podrecRun(gapMs: 0, userns: true)
            for _ in 0..<n { r.podrecWarmUserns.append(try podrecRun(gapMs: 0, userns: true)) }
            progress("warm: podlb runs \(done + 1)-\(done + n) of \(runs)")
            _ = try podlbRun(gapMs: 0)
            for _ in 0..<n { r.podlbWarm.append(try podlbRun(gapMs: 0)) }
            done += n
        }
        progress("warm: podlb bench \(runs), one process")
        try checkInterrupted()
        r.podlbWarmLoop = try podlb.bench(runs: runs, gapMs: 0)

        // Cold: every start comes `gapMs` after the end of the previous one, whichever
        // system ran it; podrec and podlb alternate.
        for i in 0..<runs {
            if i % 10 == 0 { progress("cold: runs \(i + 1)-\(min(i + 10, runs)) of \(runs), podrec and podlb alternating, \(options.gapMs) ms apart") }
            r.podrecCold.append(try podrecRun(gapMs: options.gapMs))
            r.podlbCold.append(try podlbRun(gapMs: options.gapMs))
        }
        progress("cold: GAP_MS=\(options.gapMs) podlb bench \(runs), one process")
        try checkInterrupted()
        r.podlbColdLoop = try podlb.bench(runs: runs, gapMs: options.gapMs)
        return r
    }
}

// MARK: Memory of idle pods

struct MemoryResults {
    var pods: Int
    var supervisorPssSumKB: Int
    var containerPssSumKB: Int
    var oneSupervisorRssKB: Int
    var oneSupervisorPssKB: Int
    var memAvailableBeforeKB: Int
    var memAvailableAfterKB: Int
}

func memoryBench(lab: BenchLab, options: Options) throws -> MemoryResults {
    sleepMilliseconds(options.settleMs)
    guard let before = kilobytes("/proc/meminfo", "MemAvailable") else { throw BenchError("no MemAvailable in /proc/meminfo") }
    var pods: [(launcher: PodLauncher, supervisor: Int32, container: Int32)] = []
    for i in 0..<options.pods {
        try checkInterrupted()
        if i % 10 == 0 { progress("memory: starting idle pods \(i + 1)-\(min(i + 10, options.pods)) of \(options.pods)") }
        let (launcher, plan) = lab.pod("idle-\(i)", containers: ["c0"])
        let (status, _) = try lab.create(launcher, plan, limits: idleLimits)
        guard let sup = lab.supervisorPID(launcher) else { throw BenchError("pod idle-\(i): no supervisor pid recorded") }
        pods.append((launcher, sup, status.containers[0].pid ?? 0))
    }
    progress("memory: \(options.pods) pods up; waiting \(options.settleMs) ms")
    sleepMilliseconds(options.settleMs)
    var supervisorPss = 0
    var containerPss = 0
    for p in pods {
        guard let pss = kilobytes("/proc/\(p.supervisor)/smaps_rollup", "Pss") else {
            throw BenchError("supervisor \(p.supervisor) of \(p.launcher.layout.name): no Pss (did it exit?)")
        }
        supervisorPss += pss
        containerPss += kilobytes("/proc/\(p.container)/smaps_rollup", "Pss") ?? 0
    }
    let first = pods[0].supervisor
    let rss = kilobytes("/proc/\(first)/smaps_rollup", "Rss") ?? 0
    let pss = kilobytes("/proc/\(first)/smaps_rollup", "Pss") ?? 0
    guard let after = kilobytes("/proc/meminfo", "MemAvailable") else { throw BenchError("no MemAvailable in /proc/meminfo") }
    progress("memory: stopping \(options.pods) pods")
    for p in pods {
        try checkInterrupted()
        try lab.destroy(p.launcher)
    }
    return MemoryResults(pods: options.pods, supervisorPssSumKB: supervisorPss, containerPssSumKB: containerPss,
                         oneSupervisorRssKB: rss, oneSupervisorPssKB: pss, memAvailableBeforeKB: before, memAvailableAfterKB: after)
}

// MARK: Report

func ms(_ v: Double?) -> String { v.map { fixed($0, 2) } ?? "—" }

func printStart(_ r: StartResults, _ options: Options) {
    let warm = Summary(r.podrecWarm), cold = Summary(r.podrecCold)
    let warmLb = Summary(r.podlbWarm), coldLb = Summary(r.podlbCold)
    func row(_ title: String, _ s: Summary, ratio: Double?) {
        print("| \(title) | \(s.runs) | \(ms(s.median)) | \(ms(s.p90)) | \(ms(s.min)) | \(ms(s.max)) | \(ratio.map { fixed($0, 2) + "×" } ?? "") |")
    }
    print("Pod start, 2 containers (busybox `sleep 3600`), ms. Warm: back to back; cold: each start \(options.gapMs) ms after the previous one ended.")
    print()
    print("| start | runs | median | p90 | min | max | podrec ÷ this (medians) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    row("warm: **podrec** `PodLauncher.create`", warm, ratio: nil)
    let seccomp = Summary(r.podrecWarmSeccomp)
    row("warm: podrec, every container under RuntimeDefault (seccomp)", seccomp, ratio: warm.median / seccomp.median)
    let userns = Summary(r.podrecWarmUserns)
    row("warm: podrec, the pod in a user namespace (hostUsers: false)", userns, ratio: warm.median / userns.median)
    row("warm: podlb, `podlb bench 1` per run", warmLb, ratio: warm.median / warmLb.median)
    if let l = r.podlbWarmLoop { row("warm: podlb, `podlb bench \(l.runs)` in one process", l, ratio: warm.median / l.median) }
    row("cold: **podrec** `PodLauncher.create`", cold, ratio: nil)
    row("cold: podlb, `GAP_MS=\(options.gapMs) podlb bench 1` per run", coldLb, ratio: cold.median / coldLb.median)
    if let l = r.podlbColdLoop { row("cold: podlb, `GAP_MS=\(options.gapMs) podlb bench \(l.runs)` in one process", l, ratio: cold.median / l.median) }
    print()
    print("RuntimeDefault against Unconfined, warm medians: \(ms(seccomp.median)) − \(ms(warm.median)) = \(ms(seccomp.median - warm.median)) ms per pod start (2 containers).")
    print("A user namespace against none, warm medians: \(ms(userns.median)) − \(ms(warm.median)) = \(ms(userns.median - warm.median)) ms per pod start (2 containers).")
    print()
}

func printMemory(_ m: MemoryResults) {
    let perPodPss = Double(m.supervisorPssSumKB) / Double(m.pods)
    let drop = Double(m.memAvailableBeforeKB - m.memAvailableAfterKB) / Double(m.pods)
    print("Idle pods: \(m.pods) pods, each the supervisor + one busybox `sleep 3600` container; KiB (1 MiB = 1024 KiB).")
    print()
    print("| memory | KiB | MiB |")
    print("|---|---:|---:|")
    print("| **supervisor Pss** (`smaps_rollup`), sum ÷ \(m.pods) | \(fixed(perPodPss, 0)) | \(fixed(perPodPss / 1024, 2)) |")
    print("| MemAvailable drop ÷ \(m.pods) (supervisor, container, cgroups, tmpfs roots, namespaces, page cache: everything) | \(fixed(drop, 0)) | \(fixed(drop / 1024, 2)) |")
    print("| one supervisor: Rss / Pss | \(m.oneSupervisorRssKB) / \(m.oneSupervisorPssKB) | \(fixed(Double(m.oneSupervisorRssKB) / 1024, 2)) / \(fixed(Double(m.oneSupervisorPssKB) / 1024, 2)) |")
    print("| for reference: container (busybox sleep) Pss, sum ÷ \(m.pods) | \(fixed(Double(m.containerPssSumKB) / Double(m.pods), 0)) | \(fixed(Double(m.containerPssSumKB) / Double(m.pods) / 1024, 2)) |")
    print()
}

func printBudget(_ start: StartResults?, _ memory: MemoryResults?) {
    print("Budget:")
    print()
    func verdict(_ ok: Bool) -> String { ok ? "within" : "**over**" }
    if let r = start {
        for (label, podrec, perRun, loop) in [("warm", r.podrecWarm, r.podlbWarm, r.podlbWarmLoop), ("cold", r.podrecCold, r.podlbCold, r.podlbColdLoop)] {
            let p = Summary(podrec).median
            // The stricter of the two podlb measurements decides.
            let ratio = max(p / Summary(perRun).median, loop.map { p / $0.median } ?? 0)
            print("- pod start \(label) ≤ 2× podlb (median, the larger of the two podlb ratios): \(fixed(ratio, 2))× → \(verdict(ratio <= 2))")
        }
    }
    if let m = memory {
        let kb = Double(m.supervisorPssSumKB) / Double(m.pods)
        print("- supervisor Pss ≤ 1 MiB per pod: \(fixed(kb / 1024, 2)) MiB → \(verdict(kb <= 1024))")
    }
    print()
}

// MARK: Main

installInterruptHandlers()
var exitCode: Int32 = 0
do {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    guard geteuid() == 0 else { throw BenchError("run as root (cgroups, namespaces)") }
    // podlb first: it only looks, so a refusal leaves nothing to clean.
    let podlb = options.only == "memory" ? nil : try Podlb(executable: options.podlb, cgroupMount: "/sys/fs/cgroup")
    let lab = try BenchLab(supervisorExecutable: options.supervisor)
    progress("roots under \(lab.tmp), cgroup parent \(lab.cgroupParent) (\(lab.driver.setup.mode))")
    var start: StartResults?
    var memory: MemoryResults?
    do {
        if let podlb { start = try StartBench(lab: lab, podlb: podlb, options: options).run() }
        if options.only != "start" { memory = try memoryBench(lab: lab, options: options) }
    } catch {
        progress("failed: \(error)")
        exitCode = 1
    }
    progress("cleaning up")
    var problems = lab.finish()
    problems += podlb?.cleanUp() ?? []
    if !lab.reapChildren() { problems.append("child processes still running after cleanup") }
    for p in problems { progress("cleanup: \(p)") }
    if !problems.isEmpty { exitCode = 1 }
    if exitCode == 0 {
        if let start { printStart(start, options) }
        if let memory { printMemory(memory) }
        printBudget(start, memory)
        print("Cgroups: \(lab.driver.setup.mode); podrec's parent `\(lab.cgroupParent)`, removed at the end.")
    }
} catch {
    progress("\(error)")
    exitCode = 1
}
Sys.exit(exitCode)
