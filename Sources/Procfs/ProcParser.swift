/// Pure parsers for the files under `/proc/PID` (and `/proc/stat`, `/proc/uptime`):
/// bytes or text in, typed values out. No I/O, no clock, no globals; `ProcfsReader` does
/// the reading.
///
/// Each parser takes the file's whole content as `String` or as the `[UInt8]` read from
/// the kernel. Malformed input throws a `ProcfsParseError` naming the file, the line and
/// what was wrong; fields a parser does not model are skipped, so newer kernels that add
/// fields still parse.
public enum ProcParser {}
