import Glibc
import Kernel

/// mkdtemp(3): a new directory `<under>/<prefix>-XXXXXX`, mode 0700, its path. Every test
/// that needs a scratch tree makes it here and removes it itself (`Sys.removeTree`, which
/// never follows a symlink or descends into a mount).
public func makeTemporaryDirectory(_ prefix: String, under parent: String = "/tmp") throws(KernelError) -> String {
    let pattern = "\(parent)/\(prefix)-XXXXXX"
    var template = Array(pattern.utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
        throw KernelError("mkdtemp", path: pattern, errno: .init(rawValue: errno))
    }
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
