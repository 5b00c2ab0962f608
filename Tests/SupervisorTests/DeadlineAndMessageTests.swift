import Foundation
import ContainerLogs
import PodModel
import Supervisor
import Testing

/// `activeDeadlineSeconds` and termination messages: the pure rules (PodModel), the
/// lifecycle's part, what the plan and the status carry, and the log tail.
@Suite struct DeadlineAndMessageTests {
    static let s: Int64 = 1_000_000_000

    static func plan(deadline: Int64?, start: Int64?, grace: Int64 = 30, restart: RestartPolicy = .always) -> LaunchPlan {
        var p = LaunchPlan(generation: 1, namespace: "default", name: "p", uid: "u", hostname: "p", terminationGracePeriodSeconds: grace,
                           logDirectory: "/l", scratchDirectory: "/s",
                           containers: [ContainerLaunch(name: "a", specHash: "1", restartPolicy: restart, executable: "/bin/sleep",
                                                        arguments: ["sleep", "9"], cgroup: "x/a")])
        p.activeDeadlineSeconds = deadline
        p.startTime = start.map { WallTime($0 * s) }
        return p
    }

    // MARK: The rule (kubelet's pastActiveDeadline: now - startTime >= deadline)

    @Test func startTimeIsTruncatedToSecondsAsKubeletKeepsIt() {
        #expect(ActiveDeadline.startTime(WallTime(12 * Self.s + 999_999_999)) == WallTime(12 * Self.s))
        #expect(ActiveDeadline.startTime(WallTime(12 * Self.s)) == WallTime(12 * Self.s))
    }

    @Test func deadlineIsReachedAtExactlyStartPlusSeconds() {
        let start = WallTime(100 * Self.s)
        #expect(ActiveDeadline.deadline(start: start, seconds: 2) == WallTime(102 * Self.s))
        #expect(!ActiveDeadline.isPast(start: start, seconds: 2, now: WallTime(102 * Self.s - 1)))
        #expect(ActiveDeadline.isPast(start: start, seconds: 2, now: WallTime(102 * Self.s)))
        #expect(!ActiveDeadline.isPast(start: nil, seconds: 2, now: WallTime(Int64.max)), "no start time: never")
        #expect(!ActiveDeadline.isPast(start: start, seconds: nil, now: WallTime(Int64.max)), "no deadline: never")
        // A deadline far off saturates instead of trapping.
        #expect(ActiveDeadline.deadline(start: WallTime(Int64.max - 5), seconds: Int64.max) == WallTime(Int64.max))
    }

    /// ValidatePodUpdate: added or lowered is fine; raised or removed is refused, in its words.
    @Test func updatesAsTheAPIServerAllowsThem() {
        #expect(ActiveDeadline.refusedChange(from: nil, to: 10) == nil)
        #expect(ActiveDeadline.refusedChange(from: 10, to: 5) == nil)
        #expect(ActiveDeadline.refusedChange(from: 10, to: 10) == nil)
        #expect(ActiveDeadline.refusedChange(from: nil, to: nil) == nil)
        #expect(ActiveDeadline.refusedChange(from: 10, to: 20)
                == "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value")
        #expect(ActiveDeadline.refusedChange(from: 10, to: nil)
                == "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value")
    }

    // MARK: The lifecycle

    struct Run {
        var life: PodLifecycle
        var now: Int64
        var log: [String] = []
        init(_ plan: LaunchPlan, at seconds: Int64) {
            now = seconds * DeadlineAndMessageTests.s
            life = PodLifecycle(plan: plan, now: Instant(mono: now, wall: WallTime(now)), probesEnabled: true)
        }
        var instant: Instant { Instant(mono: now, wall: WallTime(now)) }
        mutating func step() {
            while true {
                let actions = life.actions(at: instant)
                if actions.isEmpty { return }
                for a in actions {
                    switch a {
                    case .start(let c): life.started(c.name, pid: 7, hostPID: 7, at: instant); log.append("start \(c.name)")
                    case .signal(let c, let sig): log.append("signal \(c) \(sig)")
                    case .kill(let c): log.append("kill \(c)")
                    default: break
                    }
                }
            }
        }
        mutating func at(_ seconds: Int64) {
            now = seconds * DeadlineAndMessageTests.s
            step()
        }
    }

    /// kubelet: past the deadline the pod is Failed (DeadlineExceeded) and killed with its
    /// grace period; under restartPolicy Always nothing starts again.
    @Test func thePodIsStoppedOnceAndStaysFailed() {
        var r = Run(Self.plan(deadline: 2, start: 100, grace: 5), at: 100)
        r.step()
        #expect(r.log == ["start a"])
        #expect(r.life.nextDeadline() == 102 * Self.s, "the supervisor wakes at the deadline")
        r.at(101)
        #expect(r.life.phase == .running && !r.life.deadlineExceeded)
        r.at(102)
        #expect(r.life.deadlineExceeded)
        #expect(r.life.phase == .failed)
        #expect(r.log == ["start a", "signal a 15"])
        #expect(r.life.events.contains { $0.reason == "DeadlineExceeded" && $0.message == ActiveDeadline.message && $0.type == "Normal" })
        r.at(107)
        #expect(r.log.last == "kill a", "SIGKILL at the grace period's end")
        r.life.exited("a", status: .signaled(9), oomKilled: false, at: r.instant)
        r.at(200)
        #expect(r.log.filter { $0 == "start a" }.count == 1, "restartPolicy Always restarts nothing: \(r.log)")
        #expect(r.life.phase == .failed)
        #expect(r.life.stopped)
        #expect(r.life.containerStatuses[0].state == .terminated)
        // A later plan (the same spec, or a changed one) starts nothing either.
        var next = Self.plan(deadline: 2, start: 100, grace: 5)
        next.generation = 2
        next.containers[0].specHash = "2"
        r.life.apply(next, at: r.instant)
        r.at(300)
        #expect(r.log.filter { $0 == "start a" }.count == 1)
    }

    /// A supervisor made again for a pod already past its deadline starts nothing.
    @Test func aPodPastItsDeadlineAtStartRunsNothing() {
        var r = Run(Self.plan(deadline: 2, start: 100), at: 500)
        r.step()
        #expect(r.log.isEmpty)
        #expect(r.life.phase == .failed && r.life.deadlineExceeded)
    }

    /// A pod that finished before its deadline stays Succeeded.
    @Test func aFinishedPodIsNotFailedLater() {
        var r = Run(Self.plan(deadline: 5, start: 100, restart: .never), at: 100)
        r.step()
        r.life.exited("a", status: .exited(0), oomKilled: false, at: r.instant)
        r.at(101)
        #expect(r.life.phase == .succeeded)
        r.at(200)
        #expect(r.life.phase == .succeeded && !r.life.deadlineExceeded)
    }

    /// A deadline lowered (or added) by a new plan applies at once, with no restart first.
    @Test func aLoweredDeadlineAppliesWithoutARestart() {
        var r = Run(Self.plan(deadline: 100, start: 100), at: 100)
        r.step()
        r.at(110)
        var next = Self.plan(deadline: 5, start: 100)
        next.generation = 2
        r.life.apply(next, at: r.instant)
        r.step()
        #expect(r.life.deadlineExceeded)
        #expect(r.log == ["start a", "signal a 15"])
    }

    // MARK: Termination messages

    /// getTerminationMessage: the file's last 4096 bytes; the log only with the policy, a
    /// failed exit and an empty (or missing) file.
    @Test func messageRules() {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 5000) + Array("END".utf8)
        let fromFile = TerminationMessage.message(file: big, policy: .file, exitCode: 1, started: true) { "log" }
        #expect(fromFile?.utf8.count == 4096)
        #expect(fromFile?.hasSuffix("END") == true)
        #expect(TerminationMessage.message(file: Array("bye\n".utf8), policy: .fallbackToLogsOnError, exitCode: 3, started: true) { "log" } == "bye\n")
        #expect(TerminationMessage.message(file: [], policy: .fallbackToLogsOnError, exitCode: 3, started: true) { "log" } == "log")
        #expect(TerminationMessage.message(file: nil, policy: .fallbackToLogsOnError, exitCode: 3, started: true) { "log" } == "log")
        #expect(TerminationMessage.message(file: [], policy: .fallbackToLogsOnError, exitCode: 0, started: true) { "log" } == nil, "exit 0: no fallback")
        #expect(TerminationMessage.message(file: [], policy: .file, exitCode: 3, started: true) { "log" } == nil)
        #expect(TerminationMessage.message(file: [], policy: .fallbackToLogsOnError, exitCode: 3, started: false) { "log" } == nil)
    }

    /// readLastStringFromContainerLogs: the last 80 records, then their last 2048 bytes; a
    /// full record ends in `\n`, a part does not.
    @Test func logTailRule() {
        let lines = (1...100).map { (content: Array("line \($0)".utf8), full: true) }
        let tail = TerminationMessage.fromLogRecords(lines)
        #expect(tail.hasPrefix("line 21\n") && tail.hasSuffix("line 100\n"))
        let long = (1...80).map { _ in (content: [UInt8](repeating: UInt8(ascii: "x"), count: 100), full: true) }
        #expect(TerminationMessage.fromLogRecords(long).utf8.count == 2048)
        #expect(TerminationMessage.fromLogRecords([(Array("ab".utf8), false), (Array("cd".utf8), true)]) == "abcd\n")
    }

    /// The records of a CRI log window: a record cut at the window's start is dropped.
    @Test func logRecordsOfAWindow() {
        let text = "2026-01-01T00:00:00.000000000Z stdout F one\n2026-01-01T00:00:00.1Z stderr P tw\n2026-01-01T00:00:00.2Z stderr F o\n"
        let all = LogTail.records(Array(text.utf8), fromStart: true)
        #expect(all.map { String(decoding: $0.content, as: UTF8.self) } == ["one", "tw", "o"])
        #expect(all.map(\.full) == [true, false, true])
        #expect(TerminationMessage.fromLogRecords(all) == "one\ntwo\n")
        let cut = LogTail.records(Array(text.utf8.dropFirst(5)), fromStart: false)
        #expect(cut.count == 2)
    }

    // MARK: What the files carry

    @Test func planCarriesTheDeadlineStartAndMessageSettings() throws {
        var p = Self.plan(deadline: 30, start: 1_700_000_000)
        p.containers[0].terminationMessagePath = "/tmp/my\tmsg"
        p.containers[0].terminationMessagePolicy = .fallbackToLogsOnError
        p.containers[0].terminationMessageDirectory = "/var/lib/podrec/pods/u/containers/a"
        let back = try LaunchPlan.decode(p.encoded())
        #expect(back == p)
        // A plan of an older podrec: the defaults, and no file.
        var old = p
        old.activeDeadlineSeconds = nil
        old.startTime = nil
        old.containers[0].terminationMessageDirectory = nil
        let oldBack = try LaunchPlan.decode(old.encoded())
        #expect(oldBack.containers[0].terminationMessageDirectory == nil && oldBack.activeDeadlineSeconds == nil)
    }

    @Test func statusCarriesTheReasonAndTheMessages() throws {
        let t = Termination(exitCode: 3, reason: "Error", startedAt: WallTime(5), finishedAt: WallTime(9), message: "bye\n\twith a tab\\")
        let last = Termination(exitCode: 143, signal: 15, reason: "Error", startedAt: nil, finishedAt: WallTime(4), message: "")
        var status = PodStatus(observedGeneration: 1, phase: .failed, supervisorPID: 4, updatedAt: WallTime(1), containers: [
            ContainerStatus(name: "a", kind: .main, specHash: "h", state: .terminated, reason: "Error", termination: t, lastTermination: last),
        ])
        status.reason = ActiveDeadline.reason
        status.message = ActiveDeadline.message
        status.startTime = WallTime(3 * Self.s)
        let back = try PodStatus.decode(status.encoded())
        #expect(back == status)
        #expect(back.containers[0].termination?.message == "bye\n\twith a tab\\")
        // A status of an older supervisor: five fields, no message.
        let five = status.encoded().replacingOccurrences(of: "\\tbye\\n\\twith a tab\\\\", with: "")
        #expect(try PodStatus.decode(five).containers[0].termination?.message == nil)
    }

    @Test func recordKeepsTheStartTime() throws {
        let r = PodRecord(uid: "u", source: "apply", immutable: [:], generation: 2, startTime: WallTime(42 * Self.s))
        #expect(try PodRecord.decode(r.encoded()).startTime == WallTime(42 * Self.s))
    }
}
