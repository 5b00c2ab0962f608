/// Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation), as plain functions
/// that return the reason a name is bad, or nil.
enum Names {
    static func isAlnum(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
    static func isAlnum(_ c: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) }

    /// RFC 1123 label: lowercase alphanumerics and '-', starting and ending alphanumeric.
    static func dns1123Label(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 63 { return "must be no more than 63 characters" }
        guard isLabelText(s.utf8) else {
            return "must be a lowercase RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (\"my-name\")"
        }
        return nil
    }

    /// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
    static func dns1123Subdomain(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 253 { return "must be no more than 253 characters" }
        // Labels split by bytes, not characters: a `.` that a combining mark joins to would
        // not split a character, but either way that label holds a non-ASCII scalar and fails.
        for label in s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if label.count > 63 || !isLabelText(label) {
                return "must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (\"example.com\")"
            }
        }
        return nil
    }

    /// The characters of an RFC 1123 label (not its length): lowercase alphanumerics and '-',
    /// starting and ending alphanumeric; false when empty. By bytes, with no array of
    /// scalars: a non-ASCII scalar fails as any of its bytes does.
    static func isLabelText(_ u: some BidirectionalCollection<UInt8>) -> Bool {
        guard let first = u.first, let last = u.last else { return false }
        return isAlnum(first) && isAlnum(last) && u.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// IANA service name, for named ports: at most 15 characters, lowercase alphanumerics
    /// and '-', at least one letter, no "--", not starting or ending with '-'.
    static func ianaServiceName(_ s: String) -> String? {
        let u = Array(s.unicodeScalars)
        if u.isEmpty || u.count > 15 { return "must be 1 to 15 characters" }
        guard u.allSatisfy({ isAlnum($0) || $0 == "-" }), u.first != "-", u.last != "-", !s.contains("--"),
            u.contains(where: { ("a"..."z").contains($0) })
        else { return "must be an IANA service name: lowercase letters, digits and single '-', with at least one letter" }
        return nil
    }

    /// Environment variable names: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
    static func envVarName(_ s: String) -> String? {
        let u = Array(s.unicodeScalars)
        func ok(_ c: Unicode.Scalar, first: Bool) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == "-" || c == "." || (!first && ("0"..."9").contains(c))
        }
        guard let f = u.first, ok(f, first: true), u.dropFirst().allSatisfy({ ok($0, first: false) }) else {
            return "must consist of letters, digits, '_', '-' and '.', and must not start with a digit"
        }
        return nil
    }

    /// Keys of ConfigMap and Secret data: `[-._a-zA-Z0-9]+`, not `.` or `..`.
    static func configMapKey(_ s: String) -> String? {
        let u = s.unicodeScalars
        if s.isEmpty || s.utf8.count > 253 { return "must be 1 to 253 characters" }
        if s == "." || s == ".." { return "must not be '.' or '..'" }
        guard u.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "." }) else {
            return "must consist of letters, digits, '-', '_' and '.'"
        }
        return nil
    }

    /// Label and annotation keys: an optional DNS subdomain prefix and '/', then a name
    /// of at most 63 characters of alphanumerics, '-', '_' and '.', alphanumeric at both ends.
    static func qualifiedName(_ s: String) -> String? {
        var name = Substring(s)
        if let slash = s.firstIndex(of: "/") {
            let prefix = String(s[..<slash])
            if dns1123Subdomain(prefix) != nil { return "prefix \"\(prefix)\" must be a DNS subdomain" }
            name = s[s.index(after: slash)...]
        }
        return labelValue(String(name), allowEmpty: false).map { _ in
            "must be 1 to 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit, with an optional DNS subdomain prefix and '/'"
        }
    }

    static func labelValue(_ s: String, allowEmpty: Bool = true) -> String? {
        if s.isEmpty { return allowEmpty ? nil : "must not be empty" }
        if s.utf8.count > 63 { return "must be no more than 63 characters" }
        func alnum(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) }
        let u = Array(s.unicodeScalars)
        guard u.allSatisfy({ alnum($0) || $0 == "-" || $0 == "_" || $0 == "." }), alnum(u.first!), alnum(u.last!) else {
            return "must be at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        }
        return nil
    }

    /// A relative path with no `..` element, as Kubernetes requires of `subPath` and
    /// volume item paths.
    static func safeRelativePath(_ s: String) -> String? {
        if s.hasPrefix("/") { return "must be a relative path" }
        if s.split(separator: "/").contains("..") { return "must not contain '..'" }
        return nil
    }

    /// A file's path in a configMap, secret, downwardAPI or projected volume: relative, no
    /// `..` element, and not starting with `..` (ValidateLocalNonReservedPath: kubelet's
    /// AtomicWriter keeps `..data` and its timestamped dirs there).
    static func volumeFilePath(_ s: String) -> String? {
        if let why = safeRelativePath(s) { return why }
        if s.hasPrefix("..") { return "must not start with '..'" }
        return nil
    }

    static let capabilities: Set<String> = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE", "ALL",
    ]

    static let signals: Set<String> = [
        "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGFPE", "SIGHUP", "SIGILL", "SIGINT", "SIGIO",
        "SIGIOT", "SIGKILL", "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR", "SIGQUIT", "SIGSEGV", "SIGSTKFLT", "SIGSTOP",
        "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGUSR1", "SIGUSR2", "SIGVTALRM",
        "SIGWINCH", "SIGXCPU", "SIGXFSZ",
    ]
}
