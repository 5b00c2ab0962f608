/// kubelet's rules for a pod that runs out of time (`activeDeadlineSeconds`,
/// pkg/kubelet/active_deadline.go) and for what a container leaves behind when it ends (the
/// termination message, pkg/kubelet/kuberuntime/kuberuntime_container.go). Pure: the
/// supervisor, which lives for the whole pod and owns its containers' stops and status,
/// carries them out; the reconciler only records the start and hands the plan over.
public enum ActiveDeadline {
    /// The pod's `status.reason` and `status.message`, and the event's, in kubelet's words.
    public static let reason = "DeadlineExceeded"
    public static let message = "Pod was active on the node longer than the specified deadline"

    /// The pod's `status.startTime` as kubelet keeps it: set once, when it first writes the
    /// pod's status, and truncated to whole seconds (normalizeStatus keeps metav1.Time at
    /// RFC 3339 seconds). The deadline counts from it.
    public static func startTime(_ now: WallTime) -> WallTime {
        let s = now.nanoseconds / 1_000_000_000
        return WallTime((now.nanoseconds < 0 && now.nanoseconds % 1_000_000_000 != 0 ? s - 1 : s) * 1_000_000_000)
    }

    /// When the pod is past its deadline: `pastActiveDeadline` is `now - start >=
    /// activeDeadlineSeconds`. nil without a deadline or a start time. Saturating: a
    /// validated deadline is at most 2^31 - 1 s, but the plan is a file.
    public static func deadline(start: WallTime?, seconds: Int64?) -> WallTime? {
        guard let start, let seconds else { return nil }
        let (ns, over) = max(seconds, 0).multipliedReportingOverflow(by: 1_000_000_000)
        let (at, over2) = start.nanoseconds.addingReportingOverflow(ns)
        return WallTime(over || over2 ? Int64.max : at)
    }

    public static func isPast(start: WallTime?, seconds: Int64?, now: WallTime) -> Bool {
        guard let d = deadline(start: start, seconds: seconds) else { return false }
        return now >= d
    }

    /// The API server's rule for a change of `activeDeadlineSeconds` on a live pod
    /// (ValidatePodUpdate): it may be added, or lowered; raising or removing it is refused,
    /// with these words. nil when the change is allowed.
    public static func refusedChange(from old: Int64?, to new: Int64?) -> String? {
        switch (old, new) {
        case (let o?, let n?) where n > o:
            return "spec.activeDeadlineSeconds: Invalid value: \(n): must be less than or equal to previous value"
        case (.some, nil):
            return "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"
        default:
            return nil
        }
    }
}

/// `terminationMessagePolicy`.
public enum TerminationMessagePolicy: String, Sendable, Hashable, CaseIterable {
    case file = "File"
    case fallbackToLogsOnError = "FallbackToLogsOnError"
}

public enum TerminationMessage {
    /// `MaxContainerTerminationMessageLength`: the file's last 4096 bytes.
    public static let maxFileBytes = 4096
    /// `MaxContainerTerminationMessageLogLines` and `...LogLength`: from the log, the last
    /// 80 lines, then the last 2048 bytes of those.
    public static let maxLogLines = 80
    public static let maxLogBytes = 2048

    /// The message of a run that ended: the file's tail as read (nil: the file is missing),
    /// and, only when the policy says so, the exit failed and the file gave nothing
    /// (getTerminationMessage's `fallbackToLogs && len(data) == 0`), the log's tail. A run
    /// that never started (a start error) has no logs to fall back to, as kubelet's
    /// ContainerCannotRun.
    public static func message(file: [UInt8]?, policy: TerminationMessagePolicy, exitCode: Int32, started: Bool,
                               logTail: () -> String) -> String? {
        let fromFile = file.map { String(decoding: $0.suffix(maxFileBytes), as: UTF8.self) } ?? ""
        if fromFile.isEmpty && policy == .fallbackToLogsOnError && exitCode != 0 && started {
            let tail = logTail()
            return tail.isEmpty ? nil : tail
        }
        return fromFile.isEmpty ? nil : fromFile
    }

    /// `readLastStringFromContainerLogs` over the records of a log (CRI lines: content, and
    /// whether the tag is `F`): kubelet's ReadLogs with `TailLines: 80` takes the file's last
    /// 80 records and writes each one's content (a full one with its `\n`) into a 2048-byte
    /// ring, so the message is the last 2048 bytes of those.
    public static func fromLogRecords(_ records: [(content: [UInt8], full: Bool)]) -> String {
        var out: [UInt8] = []
        for r in records.suffix(maxLogLines) {
            out += r.content
            if r.full { out.append(0x0A) }
        }
        return String(decoding: out.suffix(maxLogBytes), as: UTF8.self)
    }
}
