/// `NAME[:TAG]`: which image of the local store.
///
/// NAME follows Docker's repository grammar, restricted to what a local store needs:
/// lowercase components `[a-z0-9]+([._-][a-z0-9]+)*` separated by `/`, 255 characters at
/// most. No registry host with a port (`host:5000/x`) and no digest: the store is local
/// and keyed by name and tag only. TAG is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, `latest`
/// when left out. `host` is reserved: `image: host` means a view of the host, never a
/// stored image.
public struct ImageReference: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var name: String
    public var tag: String

    public static let defaultTag = "latest"
    /// The reserved image name (ARCHITECTURE, "Containers": `image: host`).
    public static let reservedName = "host"
    public static let maxNameLength = 255
    public static let maxTagLength = 128

    /// Parses `NAME[:TAG]`; throws `.invalidReference` with the rule that failed.
    public init(parsing text: String) throws(ImageSpecError) {
        func fail(_ reason: String) -> ImageSpecError { .invalidReference(text, reason: reason) }
        if text.contains("@") {
            throw fail("digests (@sha256:...) are not supported: the local store is keyed by NAME[:TAG] only")
        }
        // The tag follows the last ':' after the last '/': a ':' before a '/' would be a
        // registry port, which a local store has no use for and the name grammar refuses.
        var name = Substring(text)
        var tag = Substring(Self.defaultTag)
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            name = text[..<colon]
            tag = text[text.index(after: colon)...]
        }
        if let reason = Self.nameProblem(name) { throw fail(reason) }
        if let reason = Self.tagProblem(tag) { throw fail(reason) }
        // Each image is one directory below `images/`, a single path component.
        let slashes = name.utf8.filter { $0 == UInt8(ascii: "/") }.count
        if name.utf8.count + 2 * slashes > Self.maxNameLength {
            throw fail("the name is longer than \(Self.maxNameLength) characters once each '/' is stored as %2F")
        }
        if name == Self.reservedName {
            throw fail("\"host\" is reserved: `image: host` is a view of the host, not a stored image")
        }
        self.name = String(name)
        self.tag = String(tag)
    }

    /// A reference known to be valid (from the store's own listing).
    public init(validName name: String, tag: String) {
        self.name = name
        self.tag = tag
    }

    public var description: String { "\(name):\(tag)" }

    public static func < (a: ImageReference, b: ImageReference) -> Bool {
        (a.name, a.tag) < (b.name, b.tag)
    }

    /// Why `name` is not a valid NAME, or nil.
    public static func nameProblem(_ name: Substring) -> String? {
        if name.isEmpty { return "the name is empty" }
        if name.utf8.count > maxNameLength { return "the name is longer than \(maxNameLength) characters" }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "the name has an empty path component (a leading, trailing or double '/')" }
            if let reason = componentProblem(component) { return "name component \"\(component)\" \(reason)" }
        }
        return nil
    }

    /// `[a-z0-9]+([._-][a-z0-9]+)*`
    private static func componentProblem(_ c: Substring) -> String? {
        var previousWasSeparator = true  // a component may not start with a separator
        for u in c.utf8 {
            switch u {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                previousWasSeparator = false
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                if previousWasSeparator { return "must start with a lowercase letter or digit and have no two separators ('.', '_', '-') in a row" }
                previousWasSeparator = true
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return "must be lowercase"
            default:
                return "may contain only lowercase letters, digits, '.', '_' and '-'"
            }
        }
        if previousWasSeparator { return "must end with a lowercase letter or digit" }
        return nil
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
    public static func tagProblem(_ tag: Substring) -> String? {
        if tag.isEmpty { return "the tag after ':' is empty" }
        if tag.utf8.count > maxTagLength { return "the tag is longer than \(maxTagLength) characters" }
        for (i, u) in tag.utf8.enumerated() {
            switch u {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                continue
            case UInt8(ascii: "."), UInt8(ascii: "-"):
                if i == 0 { return "the tag must start with a letter, digit or '_'" }
            default:
                return "the tag may contain only letters, digits, '_', '.' and '-'"
            }
        }
        return nil
    }
}
