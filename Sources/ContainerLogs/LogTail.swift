import Kernel
import PodModel

/// The end of one run's log as kubelet reads it for a `FallbackToLogsOnError` termination
/// message (`readLastStringFromContainerLogs`: ReadLogs of the current file with
/// `TailLines: 80` into a 2048-byte ring). Beside the writer, which owns the format.
public enum LogTail {
    /// The run's termination message from its log: the last 80 records of
    /// `<directory>/<restart>.log` (the file being written; rotated ones are not read, as
    /// kubelet reads only the current file), then their last 2048 bytes. "" without a log.
    /// Read backwards a block at a time, only as far as the message needs: the file may be
    /// 10 MiB, and the supervisor's memory is bounded.
    public static func terminationMessage(directory: String, restart: Int) throws(KernelError) -> String {
        let path = "\(directory)/\(restart).log"
        let fd: Int32
        do { fd = try Sys.openForReading(path) } catch where error.isNotFound || error.isNotDirectory { return "" }
        defer { Sys.close(fd) }
        let size = Int(try Sys.fstat(fd, describedAs: path).size)
        var window: [UInt8] = []
        var offset = size
        while offset > 0 {
            let count = min(blockSize, offset)
            offset -= count
            window = try Sys.readAt(fd, offset: offset, count: count, describedAs: path) + window
            let found = records(window, fromStart: offset == 0)
            if found.count >= TerminationMessage.maxLogLines
                || found.suffix(TerminationMessage.maxLogLines).reduce(0, { $0 + $1.content.count + 1 }) >= TerminationMessage.maxLogBytes {
                break
            }
        }
        return TerminationMessage.fromLogRecords(records(window, fromStart: offset == 0))
    }

    static let blockSize = 4096

    /// The whole records in `window` (the bytes before its first newline are the end of a
    /// record cut off, unless the window starts the file): each one's content, and whether
    /// its tag says `F` (a full line, which ReadLogs ends with `\n`).
    public static func records(_ window: [UInt8], fromStart: Bool) -> [(content: [UInt8], full: Bool)] {
        var out: [(content: [UInt8], full: Bool)] = []
        var start = 0
        if !fromStart {
            guard let first = window.firstIndex(of: CRIParser.newline) else { return [] }
            start = first + 1
        }
        while start < window.count {
            let end = window[start...].firstIndex(of: CRIParser.newline) ?? window.count
            let line = window[start..<end]
            start = end + 1
            // `<stamp> <stream> <tags> <content>`: a line without the three fields is skipped.
            guard let s1 = line.firstIndex(of: CRIParser.space),
                  let s2 = line[(s1 + 1)...].firstIndex(of: CRIParser.space) else { continue }
            let s3 = line[(s2 + 1)...].firstIndex(of: CRIParser.space) ?? line.endIndex
            let full = s2 + 1 < line.endIndex && line[s2 + 1] != CRIParser.partialTag
            out.append((Array(line[min(s3 + 1, line.endIndex)...]), full))
        }
        return out
    }
}
