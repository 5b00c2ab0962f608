import Kernel

enum FileHandleStream {
    static func standardError(_ s: String) {
        try? Sys.writeAll(2, Array(s.utf8))
    }
}
