import PodModel

/// The Kubernetes API server's own wording of its validation errors, for the rules that
/// `IgnoredFieldValidation` copies: the error types of
/// k8s.io/apimachinery/pkg/util/validation/field (`Invalid value: "x": ...`,
/// `Unsupported value: ...: supported values: ...`, `Required value`, ...) and the name
/// rules of k8s.io/apimachinery/pkg/util/validation (IsQualifiedName, IsDNS1123Label, ...)
/// at v0.32.2, the version of the reference schema.
///
/// The words are copied, not paraphrased, so that a user can paste a podrec error into a
/// search engine and land on the same rule, and so that a file moved to a cluster fails
/// there with the message podrec printed. `Names` keeps podrec's shorter wording for the
/// honoured fields; these are for the fields podrec only validates.
enum APIServerWording {
    // MARK: field.Error bodies (ErrorBody in field/errors.go)

    /// `field.Invalid` with a string value: Go prints it with %q.
    static func invalid(_ value: String, _ detail: String) -> String {
        "Invalid value: \(goQuote(value))" + (detail.isEmpty ? "" : ": \(detail)")
    }

    /// `field.Invalid` with an integer value: Go prints it with %v.
    static func invalid(_ value: Int64, _ detail: String) -> String {
        "Invalid value: \(value)" + (detail.isEmpty ? "" : ": \(detail)")
    }

    static func required(_ detail: String = "") -> String {
        "Required value" + (detail.isEmpty ? "" : ": \(detail)")
    }

    static func forbidden(_ detail: String) -> String {
        "Forbidden: \(detail)"
    }

    static func duplicate(_ value: String) -> String {
        "Duplicate value: \(goQuote(value))"
    }

    /// `field.NotSupported`: the supported values are listed in the order the server
    /// passes them (often `sets.List`, which sorts).
    static func notSupported(_ value: String, _ supported: [String]) -> String {
        "Unsupported value: \(goQuote(value)): supported values: " + supported.map(goQuote).joined(separator: ", ")
    }

    static func tooLong(_ maxBytes: Int) -> String {
        "Too long: may not be more than \(maxBytes) bytes"
    }

    /// Go's %q, as the API server prints a value (`GoFormat.quoted`).
    static func goQuote(_ s: String) -> String { GoFormat.quoted(s) }

    // MARK: k8s.io/apimachinery/pkg/util/validation

    static let qualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
    static let qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let labelValueFmt = "(" + qualifiedNameFmt + ")?"
    static let labelValueErrMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123LabelErrMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    static let dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
    static let dns1123SubdomainErrMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

    static func maxLenError(_ n: Int) -> String { "must be no more than \(n) characters" }

    static func emptyError() -> String { "must be non-empty" }

    /// RegexError, with its odd spacing (`'MyName',  or 'my.name', `) kept: it is what
    /// users will search for.
    static func regexError(_ msg: String, _ fmt: String, _ examples: String...) -> String {
        if examples.isEmpty { return msg + " (regex used for validation is '" + fmt + "')" }
        var out = msg + " (e.g. "
        for (i, e) in examples.enumerated() {
            if i > 0 { out += " or " }
            out += "'" + e + "', "
        }
        return out + "regex used for validation is '" + fmt + "')"
    }

    private static func isAlnum(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }

    private static func isLowerAlnum(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("0"..."9").contains(c)
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
    static func matchesQualifiedName(_ s: String) -> Bool {
        let u = Array(s.unicodeScalars)
        guard let first = u.first, let last = u.last, isAlnum(first), isAlnum(last) else { return false }
        return u.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
    static func matchesDNS1123Label(_ s: Substring) -> Bool {
        let u = Array(s.unicodeScalars)
        guard let first = u.first, let last = u.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        return u.allSatisfy { isLowerAlnum($0) || $0 == "-" }
    }

    static func matchesDNS1123Subdomain(_ s: String) -> Bool {
        s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(matchesDNS1123Label)
    }

    /// IsQualifiedName: label keys, annotation keys (lowercased first), topology keys,
    /// condition types, scheduling gates.
    static func isQualifiedName(_ value: String) -> [String] {
        var errs: [String] = []
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let name: String
        switch parts.count {
        case 1:
            name = value
        case 2:
            let prefix = String(parts[0])
            name = String(parts[1])
            if prefix.isEmpty {
                errs.append("prefix part " + emptyError())
            } else {
                errs += isDNS1123Subdomain(prefix).map { "prefix part " + $0 }
            }
        default:
            return ["a qualified name " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errs.append("name part " + emptyError())
        } else if name.utf8.count > 63 {
            errs.append("name part " + maxLenError(63))
        }
        if !matchesQualifiedName(name) {
            errs.append("name part " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc"))
        }
        return errs
    }

    static func isValidLabelValue(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 63 { errs.append(maxLenError(63)) }
        if !value.isEmpty && !matchesQualifiedName(value) {
            errs.append(regexError(labelValueErrMsg, labelValueFmt, "MyValue", "my_value", "12345"))
        }
        return errs
    }

    static func isDNS1123Label(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 63 { errs.append(maxLenError(63)) }
        if !matchesDNS1123Label(Substring(value)) {
            errs.append(matchesDNS1123Subdomain(value) ? "must not contain dots" : regexError(dns1123LabelErrMsg, dns1123LabelFmt, "my-name", "123-abc"))
        }
        return errs
    }

    static func isDNS1123Subdomain(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 253 { errs.append(maxLenError(253)) }
        if !matchesDNS1123Subdomain(value) {
            errs.append(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, "example.com"))
        }
        return errs
    }
}
