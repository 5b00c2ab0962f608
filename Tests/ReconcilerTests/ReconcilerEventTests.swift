import Kernel
import KernelTestSupport
import Planner
import PodModel
import PodState
@testable import Reconciler
import Testing

/// The reconciler's events (`<root>/events`): one line each, whatever their text holds;
/// what each action done says; a file that never grows without bound.
@Suite struct ReconcilerEventTests {
    static let key = PodKey(namespace: "default", name: "web")

    @Test func aLineIsOneEventWhateverItsTextHolds() {
        let e = ReconcilerEvent(time: WallTime(1_796_000_000_123_456_789), type: "Warning", reason: "FailedCreate", pod: Self.key,
                                message: "exec \"app\":\tENOENT\nnext line", source: "watch:/etc/podrec/pods")
        #expect(e.line == "1796000000123456789\tWarning\tFailedCreate\tdefault\tweb\twatch:/etc/podrec/pods\texec \"app\": ENOENT next line\n")
        var back = e
        back.message = "exec \"app\": ENOENT next line"
        // A line cut short by a crash mid-write is left out, the rest read.
        #expect(ReconcilerEvent.decode(e.line + e.line + "1796000000\tNormal\tCrea") == [back, back])
    }

    @Test(arguments: [
        (Action.Kind.delete(key), false, false, nil as String?, "Normal Deleted deleted by request"),
        (.delete(key), true, false, nil, "Normal Killing deleted by request"),
        (.delete(key), false, false, "kill: EPERM", "Warning FailedDelete deleted by request: kill: EPERM"),
        (.refuse(key), false, false, "not applied", "Warning FailedApply deleted by request: not applied"),
        (.refuse(key), false, false, nil, "Warning Refused deleted by request"),
        (.deferredResize(key, container: "app", wanted: 1, usage: 2), false, true, nil, "Warning ResizeDeferred deleted by request [container app]"),
    ] as [(Action.Kind, Bool, Bool, String?, String)])
    func whatAnActionDoneSays(_ kind: Action.Kind, _ stopping: Bool, _ deferred: Bool, _ error: String?, _ want: String) throws {
        let o = Executor.Outcome(action: Action(kind, reason: "deleted by request"), error: error, deferred: deferred, stopping: stopping)
        let e = try #require(ReconcilerEvent.of(o, source: "apply", time: WallTime(1)))
        #expect("\(e.type) \(e.reason) \(e.message)" == want)
        #expect(e.pod == Self.key && e.source == "apply")
    }

    @Test func nothingNewIsNoEvent() {
        for kind: Action.Kind in [.skip(Self.key), .awaitTermination(Self.key), .resignal(Self.key, generation: 2), .removeStrayData(uid: "u1")] {
            #expect(ReconcilerEvent.of(Executor.Outcome(action: Action(kind, reason: "r"), error: nil, deferred: false), source: "apply", time: WallTime(1)) == nil)
        }
    }

    /// Past twice `keptEventBytes`, the newest whole lines within `keptEventBytes` are kept.
    @Test func theFileIsTrimmedToTheNewest() throws {
        let dir = try makeTemporaryDirectory("podrec-events")
        defer { _ = try? Sys.removeTree(dir) }
        let root = StateRoot(path: dir + "/root")
        func event(_ i: Int) -> ReconcilerEvent {
            // Lines of one length: 19-digit times, 6-digit pass numbers.
            let n = String(i)
            return ReconcilerEvent(time: WallTime(1_796_000_000_000_000_000 + Int64(i)), type: "Normal", reason: "Updated", pod: Self.key,
                                   message: "pass " + String(repeating: "0", count: 6 - n.count) + n + " " + String(repeating: "x", count: 100),
                                   source: "apply")
        }
        #expect(root.events().isEmpty, "no file yet")
        let perLine = event(0).line.utf8.count
        let fits = 2 * StateRoot.keptEventBytes / perLine
        try root.append((0..<fits).map(event))
        #expect(root.events().count == fits, "not over the bound yet")
        try root.append([event(fits), event(fits + 1)])
        let kept = root.events()
        #expect(kept.count == StateRoot.keptEventBytes / perLine, "whole lines within the bound")
        #expect(kept.last == event(fits + 1))
        #expect(try Sys.readString(root.eventsFile).hasPrefix(String(kept[0].time.nanoseconds) + "\t"), "cut at a line's start")
        #expect(try Sys.stat(root.eventsFile).mode & 0o777 == 0o600)
    }
}
