import Foundation

enum FileHandleStream {
    static func standardError(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }
}
