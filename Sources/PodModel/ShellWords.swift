/// Arguments as a POSIX shell reads them back, for people: `describe`'s Command and
/// `diff`'s command changes.
public enum ShellWords {
    /// Bare when it is safe, else in single quotes.
    public static func quote(_ s: String) -> String {
        if !s.isEmpty && s.utf8.allSatisfy(isSafe) { return s }
        return "'" + s.replacing("'", with: "'\\''") + "'"
    }

    public static func join(_ words: [String]) -> String { words.map(quote).joined(separator: " ") }

    static func isSafe(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return "_@%+=:,./-".utf8.contains(b)
        }
    }
}
