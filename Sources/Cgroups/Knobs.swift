import Glibc
import Kernel
import PodModel

/// Timing of the bounded waits. Short: a pass must not hang on one pod.
public enum CgroupTiming {
    /// How long `remove` retries rmdir on EBUSY: the kernel can hold a cgroup for a moment
    /// after its last process exited.
    public static let removeBusyWaitNanoseconds: Int64 = 200_000_000
    /// How long a freeze may take before the kill goes ahead without it.
    public static let freezeWaitNanoseconds: Int64 = 1_000_000_000
    /// How long `kill` waits for the killed processes to leave the tree. SIGKILLed
    /// processes release their memory first, which takes a while for large ones.
    public static let emptyWaitNanoseconds: Int64 = 5_000_000_000
}

/// Reading and writing cgroupfs files, through `Sys`, with `CgroupError`s.
enum Knobs {
    /// Runs a `Sys` call and wraps its `KernelError`. (The closure is untyped because Swift 6
    /// does not infer typed throws for closures; `Sys` throws nothing else.)
    static func k<T>(_ body: () throws -> T) throws(CgroupError) -> T {
        do { return try body() } catch let e as KernelError { throw .kernel(e) } catch {
            preconditionFailure("podrec bug: Sys threw \(error)")
        }
    }

    /// The file's content without the trailing newline.
    static func read(_ path: String) throws(CgroupError) -> String {
        let text = try k { try Sys.readString(path) }
        return String(text.trimmingSuffix { $0 == "\n" || $0 == " " })
    }

    /// One write of `value`. O_TRUNC is harmless on cgroupfs and keeps a fixture file from
    /// holding the tail of a longer old value; no O_CREAT, so a missing knob (a controller
    /// that is not there) is an error, in fixtures as on the kernel.
    static func write(_ path: String, _ value: String) throws(CgroupError) {
        let fd = try k { try Sys.open(path, O_WRONLY | O_TRUNC) }
        defer { Sys.close(fd) }
        try k { try Sys.writeAll(fd, Array(value.utf8), path: path, argument: value) }
    }

    static func readInt(_ path: String) throws(CgroupError) -> Int64 {
        let text = try read(path)
        guard let v = Int64(text) else { throw .malformed(path: path, content: text) }
        return v
    }

    /// `body`'s value, or nil when a file it reads does not exist (a controller or knob
    /// this kernel lacks, or a cgroup removed meanwhile). Other errors stay errors.
    static func optional<T>(_ body: () throws(CgroupError) -> T) throws(CgroupError) -> T? {
        do { return try body() } catch {
            if case .kernel(let e) = error, e.errno.rawValue == ENOENT { return nil }
            throw error
        }
    }

    /// "max" → .max; a number → .value.
    static func readLimit(_ path: String) throws(CgroupError) -> CgroupLimit {
        let text = try read(path)
        if text == "max" { return .max }
        guard let v = Int64(text) else { throw .malformed(path: path, content: text) }
        return .value(v)
    }

    /// A directory fd for reading files below it (`readAt`); nil when it does not exist.
    static func openDirectory(_ path: String) throws(CgroupError) -> Int32? {
        try optional { () throws(CgroupError) in try k { try Sys.open(path, Sys.openPath | O_DIRECTORY) } }
    }

    /// The bytes of the file `name` below `dirfd` (`dir` names it in errors); nil when it
    /// does not exist.
    static func readAt(_ dirfd: Int32, _ dir: String, _ name: String) throws(CgroupError) -> [UInt8]? {
        try optional { () throws(CgroupError) in
            let fd = try k { try Sys.openat(dirfd, name, O_RDONLY, describedAs: dir + "/" + name) }
            defer { Sys.close(fd) }
            return try k { try Sys.readAll(fd, path: dir + "/" + name) }
        }
    }

    /// An integer file's bytes, as `readInt` reads its text.
    static func parseInt(_ bytes: [UInt8], path: String) throws(CgroupError) -> Int64 {
        let trimmed = bytes.last == UInt8(ascii: "\n") ? bytes.dropLast() : bytes[...]
        guard let v = decimal(trimmed) else { throw .malformed(path: path, content: String(decoding: trimmed, as: UTF8.self)) }
        return v
    }

    /// The working set (`CgroupDriver.counters`) from the two files' bytes: the usage less
    /// `inactiveKey`'s value, never below 0.
    static func workingSet(usage: [UInt8]?, stat: [UInt8]?, inactiveKey: String, path: String) throws(CgroupError) -> Int64? {
        guard let usage, let stat else { return nil }
        let wanted = Array(inactiveKey.utf8)
        var inactive: Int64 = 0
        forEachKeyed(stat) { name, value in if name.elementsEqual(wanted) { inactive = value } }
        return max(0, try parseInt(usage, path: path) - inactive)
    }

    /// Files of "key value" lines: cpu.stat, memory.events, memory.oom_control, pids.events.
    static func readKeyed(_ path: String) throws(CgroupError) -> [String: Int64] {
        parseKeyed(try k { try Sys.readFile(path) })
    }

    /// One key's value of such a file; nil when the file has no such line. What `top` and
    /// the metrics read for every container: v1's memory.stat has ~40 lines, and making a
    /// dictionary of them through `String.split` was a third of `top`'s time at 50 pods.
    static func readKeyed(_ path: String, key: String) throws(CgroupError) -> Int64? {
        let wanted = Array(key.utf8)
        var found: Int64?
        forEachKeyed(try k { try Sys.readFile(path) }) { name, value in
            if found == nil, name.elementsEqual(wanted) { found = value }
        }
        return found
    }

    static func parseKeyed(_ bytes: [UInt8]) -> [String: Int64] {
        var out: [String: Int64] = [:]
        forEachKeyed(bytes) { name, value in out[String(decoding: name, as: UTF8.self)] = value }
        return out
    }

    /// Each line `key value` of `bytes` whose value is a decimal Int64 (optionally
    /// negative); other lines (`key` alone, more fields, no number) are skipped.
    static func forEachKeyed(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>, Int64) -> Void) {
        let space = UInt8(ascii: " "), newline = UInt8(ascii: "\n")
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: newline) ?? bytes.count
            defer { start = end + 1 }
            guard let gap = bytes[start..<end].firstIndex(of: space), gap > start else { continue }
            if let value = decimal(bytes[(gap + 1)..<end]) { body(bytes[start..<gap], value) }
        }
    }

    /// `digits` as an Int64: an optional `-`, then one or more digits, nothing else; nil
    /// on anything else or on overflow.
    static func decimal(_ digits: ArraySlice<UInt8>) -> Int64? {
        var rest = digits
        let negative = rest.first == UInt8(ascii: "-")
        if negative { rest = rest.dropFirst() }
        guard !rest.isEmpty else { return nil }
        var value: Int64 = 0
        for b in rest {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int64(b - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return negative ? -value : value
    }

    /// The pids in a `cgroup.procs` file.
    static func readPids(_ path: String) throws(CgroupError) -> [Int32] {
        try read(path).split(separator: "\n").compactMap { Int32($0) }
    }

    /// `dir` and every cgroup below it, parents before children.
    static func tree(_ dir: String) throws(CgroupError) -> [String] {
        var out = [dir]
        var i = 0
        while i < out.count {
            let d = out[i]
            i += 1
            let names: [String]
            do { names = try Sys.listSubdirectories(d) } catch {
                // A child removed while we walk is not an error.
                if error.errno.rawValue == ENOENT && d != dir { continue }
                throw .kernel(error)
            }
            for name in names { out.append(d + "/" + name) }
        }
        return out
    }

    /// Removes `dir` and its subdirectories, deepest first; each rmdir retries EBUSY for
    /// `CgroupTiming.removeBusyWaitNanoseconds`, with a doubling pause.
    static func removeTree(_ dir: String, report: inout RemoveReport) throws(CgroupError) {
        guard Sys.exists(dir) else { return }
        let dirs = try tree(dir)
        for d in dirs.reversed() {
            var backoff: Int64 = 1_000_000
            let deadline = Clock.now() + CgroupTiming.removeBusyWaitNanoseconds
            retry: while true {
                do {
                    try Sys.rmdir(d)
                    report.removed.append(d)
                    break retry
                } catch {
                    switch error.errno.rawValue {
                    case ENOENT:
                        break retry
                    case EBUSY where Clock.now() < deadline:
                        report.busyRetries += 1
                        Clock.sleep(nanoseconds: backoff)
                        backoff = min(backoff * 2, 20_000_000)
                    case EBUSY:
                        let pids = (try? readPids(d + "/cgroup.procs")) ?? []
                        throw .busy(path: d, pids: pids)
                    default:
                        throw .kernel(error)
                    }
                }
            }
        }
    }

    /// SIGKILL, ignoring processes that are already gone.
    static func sigkill(_ pid: Int32) throws(CgroupError) {
        do { try Sys.kill(pid, SIGKILL) } catch {
            if error.errno.rawValue == ESRCH { return }
            throw .kernel(error)
        }
    }

    /// Waits until `list()` is empty or the wait runs out; returns what is left.
    static func waitUntilEmpty(timeoutNanoseconds: Int64, _ list: () throws(CgroupError) -> [Int32]) throws(CgroupError) -> [Int32] {
        let deadline = Clock.now() + timeoutNanoseconds
        var pause: Int64 = 200_000
        while true {
            let left = try list()
            if left.isEmpty || Clock.now() >= deadline { return left }
            Clock.sleep(nanoseconds: pause)
            pause = min(pause * 2, 10_000_000)
        }
    }
}

/// The monotonic clock and sleeping, for the bounded retries above: Kernel's.
typealias Clock = MonotonicClock

/// Validates a relative cgroup path: it must stay below the root it is joined to.
enum CgroupPaths {
    static func validate(_ path: String) throws(CgroupError) -> [Substring] {
        if path.isEmpty { throw .invalidPath(path, reason: "empty") }
        if path.hasPrefix("/") { throw .invalidPath(path, reason: "must be relative to the cgroup root") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for p in parts {
            if p.isEmpty { throw .invalidPath(path, reason: "empty component") }
            if p == "." || p == ".." { throw .invalidPath(path, reason: "\"\(p)\" component") }
            if p.utf8.count > CgroupNames.maxComponentBytes { throw .invalidPath(path, reason: "component longer than 255 bytes; shorten it with CgroupNames.component") }
            if p.utf8.contains(0) { throw .invalidPath(path, reason: "NUL byte") }
        }
        return parts
    }
}

extension StringProtocol {
    func trimmingSuffix(while drop: (Character) -> Bool) -> SubSequence {
        var s = self[...]
        while let last = s.last, drop(last) { s = s.dropLast() }
        return s
    }
}
