import Kernel
import PodState
import Planner
import PodModel

extension ReconcilerEvent {
    /// The event an action done makes: reason in kubelet's style (`Created`, and
    /// `FailedCreate` when it failed), message as `diff` prints the action. Nil for what
    /// tells nothing new: a pod left alone, a signal repeated, a deletion still waited
    /// for, leftovers of no pod.
    static func of(_ o: Executor.Outcome, source: String, time: WallTime) -> ReconcilerEvent? {
        guard let key = o.action.key, let (verb, done) = Self.verbs(o) else { return nil }
        // The reason, then what the subject says beyond the pod's name: its containers, a
        // plan's changes.
        var detail = ""
        switch o.action.kind {
        case .create, .updatePlan, .resize, .deferredResize, .repairNetwork:
            detail = o.action.subject.hasPrefix("pod \(key) ") ? String(o.action.subject.dropFirst("pod \(key) ".count)) : ""
            if detail.hasPrefix("("), detail.hasSuffix(")") { detail = String(detail.dropFirst().dropLast()) }
        default: break
        }
        var message = o.action.reason + (detail.isEmpty ? "" : " [\(detail)]")
        if let error = o.error { message += ": " + error }
        let warning = o.error != nil || o.deferred || done == "Refused"
        return ReconcilerEvent(time: time, type: warning ? "Warning" : "Normal", reason: o.error != nil ? "Failed" + verb : done,
                               pod: key, message: message, source: source)
    }

    static func verbs(_ o: Executor.Outcome) -> (verb: String, done: String)? {
        switch o.action.kind {
        case .create: return ("Create", "Created")
        case .recreate: return ("Recreate", o.stopping ? "Killing" : "Recreated")
        case .updatePlan: return ("Update", "Updated")
        case .refreshFiles: return ("UpdateFiles", "FilesUpdated")
        case .resize: return ("Resize", o.deferred ? "ResizeDeferred" : "Resized")
        case .deferredResize: return ("Resize", "ResizeDeferred")
        case .delete: return ("Delete", o.stopping ? "Killing" : "Deleted")
        case .recordSource: return ("ChangeOwner", "OwnerChanged")
        case .refuse: return ("Apply", "Refused")
        case .repairNetwork: return ("RepairNetwork", "NetworkRepaired")
        case .resignal, .awaitTermination, .skip, .finished, .removeStrayCgroup, .removeStrayData, .removeStrayLogs, .removeStrayAttachment:
            return nil
        }
    }
}

extension Reconciler {
    /// Keeps what a pass did as events (`<root>/events`), under the lock the pass holds. A
    /// failure to write them fails nothing: the pods matter more than their history.
    /// `started`: when the pass began acting, so that a pod's Created comes before the
    /// supervisor's Started.
    func record(_ outcomes: [Executor.Outcome], source: String, started: Int64) {
        try? roots.stateRoot.append(outcomes.compactMap { ReconcilerEvent.of($0, source: source, time: WallTime(started)) })
    }
}
