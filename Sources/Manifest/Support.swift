/// Substring search without Foundation (the manifest layer imports only the standard library).
extension Substring {
    func components(_ separator: String) -> [Substring] {
        var out: [Substring] = []
        var rest = self
        while let r = rest.range(of: separator) {
            out.append(rest[..<r.lowerBound])
            rest = rest[r.upperBound...]
        }
        out.append(rest)
        return out
    }

    func range(of s: String) -> Range<Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(s) { return i..<index(i, offsetBy: s.count) }
            i = index(after: i)
        }
        return nil
    }
}

/// Go's formatting where Kubernetes' own output is matched: the API server's messages quote
/// values with `%q`, and kubelet's downward API (`fieldpath.FormatMap`) quotes map values so.
public enum GoFormat {
    /// `%q` of a string: quotes, backslashes and control characters escaped as Go escapes
    /// them (`\a \b \f \n \r \t \v`, else `\xNN`).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let h = String(u.value, radix: 16)
                    out += "\\x" + (h.count < 2 ? "0" + h : h)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
