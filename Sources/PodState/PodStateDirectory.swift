import Kernel
import PodModel

/// The state dir's reads and writes, by the names `PodStateDirectory` gives its files. Every
/// file is replaced atomically (rename), mode 0600, so a reader sees a whole old file or a
/// whole new one.
extension PodStateDirectory {
    // MARK: Reading

    /// The file's text; nil when it does not exist. Any other failure throws: "could not
    /// read" is never "not there".
    public func text(_ file: File) throws(KernelError) -> String? {
        do { return try Sys.readString(path(file)) } catch {
            if error.isNotFound { return nil }
            throw error
        }
    }

    /// The record, when there is one that decodes.
    public func record() -> PodRecord? { (try? text(.record)).flatMap { $0 }.flatMap { try? PodRecord.decode($0) } }
    /// The status, when there is one that decodes.
    public func status() -> PodStatus? { (try? text(.status)).flatMap { $0 }.flatMap { try? PodStatus.decode($0) } }
    /// The supervisor recorded at creation (not whether it still lives).
    public func supervisor() -> SupervisorIdentity? { (try? text(.supervisor)).flatMap { $0 }.flatMap(SupervisorIdentity.init(line:)) }

    // MARK: Writing

    public func write(_ record: PodRecord) throws(KernelError) {
        try Sys.mkdirs(path, mode: 0o700)
        try replace(.record, record.encoded())
    }

    public func write(_ plan: LaunchPlan) throws(KernelError) { try replace(.plan, plan.encoded()) }
    public func write(_ supervisor: SupervisorIdentity) throws(KernelError) { try replace(.supervisor, supervisor.line) }

    /// `text` as the file's new content, atomically.
    public func replace(_ file: File, _ text: String) throws(KernelError) {
        try Sys.writeFileAtomically(path(file), Array(text.utf8), mode: 0o600, durable: false)
    }

    /// Makes the dir and its scratch dir (0700).
    public func create() throws(KernelError) {
        try Sys.mkdirs(path, mode: 0o700)
        try Sys.mkdirs(scratchDirectory, mode: 0o700)
    }

    /// Removes the dir: record, plan, status, supervisor files and the empty scratch dirs.
    public func remove() throws(KernelError) {
        do { try Sys.removeTree(path) } catch where error.isNotFound {}
    }
}

extension StateRoot {
    /// Takes the pass lock, waiting for a pass in progress; close the fd to release it.
    public func lock() throws(KernelError) -> Int32 {
        try Sys.mkdirs(path, mode: 0o700)
        return try Sys.lockFile(lockFile)
    }
}

extension StateRoot {
    /// About the newest 256 KiB of events are kept, some 1,500 of them: enough for
    /// `events` to tell what the last passes did.
    public static let keptEventBytes = 256 << 10

    /// Appends `events` in one write. Called under the pass lock, so there is one writer;
    /// past twice `keptEventBytes` the file is replaced (atomically) by its newest whole
    /// lines within `keptEventBytes`, so it never grows without bound.
    public func append(_ events: [ReconcilerEvent]) throws(KernelError) {
        guard !events.isEmpty else { return }
        try Sys.mkdirs(path, mode: 0o700)
        let fd = try Sys.openForAppending(eventsFile, mode: 0o600)
        defer { Sys.close(fd) }
        try Sys.writeAll(fd, Array(events.map(\.line).joined().utf8), path: eventsFile)
        guard try Sys.fstat(fd, describedAs: eventsFile).size > Int64(2 * Self.keptEventBytes) else { return }
        let bytes = Array(try Sys.readString(eventsFile).utf8)
        var cut = bytes.count - Self.keptEventBytes
        while cut < bytes.count, bytes[cut - 1] != UInt8(ascii: "\n") { cut += 1 }
        try Sys.writeFileAtomically(eventsFile, Array(bytes[cut...]), mode: 0o600, durable: false)
    }

    /// The reconciler's events, oldest first; none when there is no file.
    public func events() -> [ReconcilerEvent] {
        guard let text = try? Sys.readString(eventsFile) else { return [] }
        return ReconcilerEvent.decode(text)
    }
}
