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
