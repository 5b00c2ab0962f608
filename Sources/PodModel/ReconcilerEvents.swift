/// What the reconciler did to a pod (`apply`, `watch`, `delete`), kept as events beside the
/// supervisors' own, so that `podrec events` tells a pod's whole story: kubelet's
/// SandboxChanged/Killing come from the node agent too. One line per event in
/// `<root>/events`; the reconciler appends under the pass lock, `events` reads without it.
public struct ReconcilerEvent: Sendable, Hashable {
    public var time: WallTime
    /// `Normal` or `Warning` (a failed or refused action).
    public var type: String
    /// `Created`, `Recreated`, `Updated`, `Resized`, `Deleted`, ...
    public var reason: String
    public var pod: PodKey
    /// The action's reason, as `diff` prints it; with its error, when it failed.
    public var message: String
    /// Who acted: `apply`, `watch:<dir>`, `delete`.
    public var source: String

    public init(time: WallTime, type: String, reason: String, pod: PodKey, message: String, source: String) {
        self.time = time
        self.type = type
        self.reason = reason
        self.pod = pod
        self.message = message
        self.source = source
    }

    /// `time type reason namespace name source message`, tab-separated; tabs and line
    /// breaks in a field become spaces, so a line is always one event.
    public var line: String {
        [String(time.nanoseconds), type, reason, pod.namespace, pod.name, source, message]
            .map { String($0.map { $0 == "\t" || $0.isNewline ? " " : $0 }) }.joined(separator: "\t") + "\n"
    }

    /// The events of a file's text, oldest first; a line that does not parse (one cut
    /// short by a crash mid-write) is left out.
    public static func decode(_ text: String) -> [ReconcilerEvent] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 6, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 7, let t = Int64(f[0]) else { return nil }
            return ReconcilerEvent(time: WallTime(t), type: f[1], reason: f[2], pod: PodKey(namespace: f[3], name: f[4]), message: f[6], source: f[5])
        }
    }
}

extension StateRoot {
    /// `<root>/events`: the reconciler's events (`ReconcilerEvent`).
    public var eventsFile: String { path + "/events" }
}
