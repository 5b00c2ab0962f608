import CCrypto
import Glibc
import Kernel

/// Compiled programs on disk, content-addressed: `<dir>/<sha256>.bpf`, written once per
/// distinct program and shared by every container that runs it (most containers run the
/// same RuntimeDefault program). The dir is under the state root (`<root>/seccomp`), a
/// tmpfs like the pods' state, so the programs go when the pods do (at reboot); a program
/// no plan names any more stays until then: a few KiB each, one per distinct profile and
/// capability set.
public struct SeccompStore: Sendable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Lowercase hex SHA-256.
    public static func sha256(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = bytes.withUnsafeBytes { b in
            digest.withUnsafeMutableBufferPointer { EVP_Digest(b.baseAddress, b.count, $0.baseAddress, &length, EVP_sha256(), nil) }
        }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest { out += [hex[Int(byte >> 4)], hex[Int(byte & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    /// Where `bytes` are stored, writing them first if no file has them (atomically: a
    /// reader never sees half a program). The name is the hash, so a file that exists holds
    /// exactly these bytes.
    public func store(_ bytes: [UInt8]) throws(KernelError) -> (path: String, sha256: String) {
        let sha = Self.sha256(bytes)
        let path = "\(directory)/\(sha).bpf"
        if Sys.exists(path) { return (path, sha) }
        try Sys.mkdirs(directory, mode: 0o700)
        try Sys.writeFileAtomically(path, bytes, mode: 0o600, durable: false)
        return (path, sha)
    }
}
