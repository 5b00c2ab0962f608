import Glibc

/// A program from the host that a test runs or copies, and the Debian package it comes from.
///
/// A test that needs one calls `try HostTool.require(...)` first (the pod labs do it for
/// busybox). When the program is missing the test fails at once with one line that says what
/// to install, `needs /bin/busybox: apt-get install busybox-static`, instead of failing
/// later with `exec /bin/busybox: ENOENT`. It is a failure, never a skip: `Tools/deps test`
/// installs everything the tests need.
public enum HostTool {
    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public let package: String
        public var description: String { "needs \(path): apt-get install \(package)" }
    }

    /// Throws `Missing` unless `path` is there and executable.
    public static func require(_ path: String, package: String) throws(Missing) {
        guard access(path, X_OK) == 0 else { throw Missing(path: path, package: package) }
    }
}
