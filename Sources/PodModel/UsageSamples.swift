/// The CPU counters of a pod's cgroups as its supervisor read them at one moment, kept in
/// the pod's state dir (`usage`) so that `top` has a start for its window without waiting:
/// cAdvisor's housekeeping, in the process that lives as long as the pod. The supervisor
/// writes the last two samples, `sampleInterval` apart; `top` reads the counters again
/// and takes the newest sample that is at least `minimumWindow` old.
public struct UsageSample: Sendable, Hashable {
    public var time: WallTime
    /// CPU time used since the cgroup was made, in nanoseconds, by container name; the
    /// pod's own cgroup under "".
    public var cpu: [String: Int64]

    public init(time: WallTime, cpu: [String: Int64]) {
        self.time = time
        self.cpu = cpu
    }

    /// kubelet's cAdvisor housekeeping runs every 10 s; metrics-server's window is 15 s.
    public static let sampleInterval: Int64 = 10_000_000_000
    /// A shorter window would show the noise of the scheduler's slices, not a rate.
    public static let minimumWindow: Int64 = 1_000_000_000

    public static let header = "podrec-usage"
    public static let version = 1

    public static func encode(_ samples: [UsageSample]) -> String {
        var w = RecordWriter(header: header, version: version)
        for s in samples {
            w.line("sample", s.time.nanoseconds)
            for name in s.cpu.keys.sorted() { w.line("cpu", "\(s.cpu[name]!) \(name)") }
        }
        return w.text
    }

    /// The samples, oldest first; nil when the text is not a usage file.
    public static func decode(_ text: String) -> [UsageSample]? {
        guard let records = try? RecordReader.records(text, header: header, version: version) else { return nil }
        var out: [UsageSample] = []
        for r in records {
            switch r.key {
            case "sample":
                guard let t = Int64(r.value) else { return nil }
                out.append(UsageSample(time: WallTime(t), cpu: [:]))
            case "cpu":
                let parts = r.value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard !out.isEmpty, let ns = Int64(parts[0]) else { return nil }
                out[out.count - 1].cpu[parts.count > 1 ? String(parts[1]) : ""] = ns
            default: continue
            }
        }
        return out
    }

    /// The sample a window that ends `now` starts at: the newest at least `minimumWindow`
    /// old.
    public static func start(of samples: [UsageSample], now: Int64) -> UsageSample? {
        samples.last { now - $0.time.nanoseconds >= minimumWindow }
    }
}
