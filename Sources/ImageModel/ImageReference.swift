/// `[REGISTRY/]REPOSITORY[:TAG][@sha256:HEX]`: an image, as a Pod's `image:` and the CLI
/// name it, with Docker's normalisation (distribution's `reference.ParseNormalizedNamed`):
///
/// - The first `/`-separated component is a registry when it has a `.` or a `:`, or is
///   `localhost`; otherwise the registry is `docker.io`, and a one-component repository on
///   Docker Hub is under `library/`: `nginx` is `docker.io/library/nginx:latest`.
///   `index.docker.io` is `docker.io`.
/// - Repository components are `[a-z0-9]+([._-][a-z0-9]+)*`; the whole name
///   (registry/repository) is 255 characters at most.
/// - TAG is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; `latest` when neither a tag nor a digest
///   is given. A digest pins the manifest; a tag next to it is kept for display only.
///
/// The local names of the first store (`busybox`, `my/app:1`) parse to the same images as
/// before: they are Docker Hub names, and `description` prints them as they were written
/// (the familiar form), so messages and `image ls` read as before. `host` is reserved:
/// `image: host` means a view of the host, never a stored image.
public struct ImageReference: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `docker.io`, `registry.k8s.io`, `localhost:5000`.
    public var domain: String
    /// `library/nginx`, `pause`.
    public var path: String
    public var tag: String?
    public var digest: Digest?

    public static let defaultTag = "latest"
    public static let defaultDomain = "docker.io"
    /// The reserved image name (ARCHITECTURE, "Containers": `image: host`).
    public static let reservedName = "host"
    public static let maxNameLength = 255
    public static let maxTagLength = 128

    /// Parses a reference; throws `.invalidReference` with the rule that failed.
    public init(parsing text: String) throws(ImageSpecError) {
        func fail(_ reason: String) -> ImageSpecError { .invalidReference(text, reason: reason) }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            do { digest = try Digest(parsing: String(rest[rest.index(after: at)...])) } catch {
                if case .invalidDigest(_, let reason) = error { throw fail("the digest: \(reason)") }
                throw fail("\(error)")
            }
            rest = rest[..<at]
        }
        // The tag follows the last ':' after the last '/': a ':' before a '/' is a port.
        var tag: Substring?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
        }
        if let tag, let reason = Self.tagProblem(tag) { throw fail(reason) }
        if rest == Substring(Self.reservedName) {
            throw fail("\"host\" is reserved: `image: host` is a view of the host, not a stored image")
        }
        var domain = Self.defaultDomain
        var path = rest
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
                if let reason = Self.domainProblem(first) { throw fail("registry \"\(first)\" \(reason)") }
                domain = first == "index.docker.io" ? Self.defaultDomain : String(first)
                path = rest[rest.index(after: slash)...]
            }
        }
        if let reason = Self.nameProblem(path) { throw fail(reason) }
        if domain == Self.defaultDomain && !path.contains("/") { path = "library/" + path }
        if domain.utf8.count + 1 + path.utf8.count > Self.maxNameLength {
            throw fail("the name is longer than \(Self.maxNameLength) characters (registry and repository)")
        }
        self.domain = domain
        self.path = String(path)
        self.tag = tag.map(String.init) ?? (digest == nil ? Self.defaultTag : nil)
        self.digest = digest
    }

    /// A reference known to be valid (the store's own index): `name` a full or familiar
    /// repository, `tag` a tag.
    public init(validName name: String, tag: String?, digest: Digest? = nil) {
        var r = try! ImageReference(parsing: name)
        r.tag = tag
        r.digest = digest
        self = r
    }

    /// `docker.io/library/nginx`: the repository with its registry, as the index keys it.
    public var name: String { domain + "/" + path }

    /// `nginx`, `me/app`, `registry.k8s.io/pause`: the name as Docker prints it.
    public var familiarName: String {
        guard domain == Self.defaultDomain else { return name }
        return path.hasPrefix("library/") && path.utf8.filter({ $0 == UInt8(ascii: "/") }).count == 1 ? String(path.dropFirst(8)) : path
    }

    /// The familiar form with tag and digest: `nginx:1.27`, `nginx@sha256:…`.
    public var description: String {
        familiarName + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    /// The full form: `docker.io/library/nginx:1.27`.
    public var canonical: String {
        name + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    /// The same repository with only the tag (or only the digest).
    public var withoutDigest: ImageReference { var r = self; r.digest = nil; if r.tag == nil { r.tag = Self.defaultTag }; return r }

    public static func < (a: ImageReference, b: ImageReference) -> Bool {
        (a.name, a.tag ?? "", a.digest?.hex ?? "") < (b.name, b.tag ?? "", b.digest?.hex ?? "")
    }

    /// Why `name` is not a valid repository path, or nil.
    public static func nameProblem(_ name: Substring) -> String? {
        if name.isEmpty { return "the name is empty" }
        if name.utf8.count > maxNameLength { return "the name is longer than \(maxNameLength) characters" }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "the name has an empty path component (a leading, trailing or double '/')" }
            if let reason = componentProblem(component) { return "name component \"\(component)\" \(reason)" }
        }
        return nil
    }

    /// A registry host: DNS labels `[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?` joined by `.`,
    /// or a bracketed IPv6 address, then an optional `:PORT`.
    static func domainProblem(_ d: Substring) -> String? {
        var host = d
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return "has an unclosed '['" }
            let inner = host[host.index(after: host.startIndex)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return "is not an IPv6 address" }
            host = host[host.index(after: close)...]
            if !host.isEmpty && !host.hasPrefix(":") { return "has text after ']'" }
            if host.isEmpty { return nil }
            host = Substring("x") + host  // check the port below
        }
        if let colon = host.firstIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber), port.count <= 5 else { return "has a bad port" }
            host = host[..<colon]
        }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard let f = label.first, let l = label.last, f.isASCII, f.isLetter || f.isNumber, l.isASCII, l.isLetter || l.isNumber,
                  label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                return "is not a host name (letters, digits and '-' in labels separated by '.', then an optional :PORT)"
            }
        }
        return nil
    }

    /// `[a-z0-9]+([._-][a-z0-9]+)*` (distribution allows `__` too; podrec does not need it).
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
