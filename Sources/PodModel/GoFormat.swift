/// Go's formatting where Kubernetes' own output is matched: the API server's messages quote
/// values with `%q`, kubelet's downward API (`fieldpath.FormatMap`) quotes map values so, and
/// kubelet's probers quote addresses and URLs so (`podrec-probe`). In PodModel, which the
/// manifest layer and the probe helper both build on.
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
