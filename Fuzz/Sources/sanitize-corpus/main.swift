#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport

// The YAML layer and manifest loading over every file under the given paths, one file at a
// time, for `run.sh --asan`: built with AddressSanitizer, so a memory error aborts at once
// and LeakSanitizer reports what is still allocated at exit. Both make the exit status
// non-zero, which is what fails the run. Plain Glibc I/O, so the driver itself adds no
// Foundation allocations to the leak report.
//
//   sanitize-corpus PATH...

/// To fd 2 with write(2): Glibc's `stderr` is a mutable global, which Swift 6 refuses.
func fail(_ message: String, status: Int32 = 2) -> Never {
    let line = "sanitize-corpus: " + message + "\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(status)
}

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if n > 0 { out += chunk[0..<n] }
        if n < chunk.count { break }
    }
    return ferror(f) == 0 ? out : nil
}

/// Regular files under `path`, depth first, sorted so that runs are comparable.
func files(under path: String) -> [String] {
    var st = stat()
    guard stat(path, &st) == 0 else { return [] }
    if st.st_mode & S_IFMT == S_IFREG { return [path] }
    guard st.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) else { return [] }
    var names: [String] = []
    while let entry = readdir(dir) {
        // Through a pointer, not `entry.pointee.d_name`: that copies all 256 bytes of the
        // array, and the kernel's record can end sooner (ASan caught it at the end of the
        // buffer readdir returns).
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let name = String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
        if name != "." && name != ".." { names.append(name) }
    }
    closedir(dir)
    return names.sorted().flatMap { files(under: path + "/" + $0) }
}

let paths = CommandLine.arguments.dropFirst()
guard !paths.isEmpty else {
    fail("usage: sanitize-corpus PATH...")
}
var count = 0
var work = 0
for path in paths {
    let found = files(under: path)
    guard !found.isEmpty else {
        fail("no files under \(path)")
    }
    for file in found {
        guard let bytes = readFile(file) else {
            fail("cannot read \(file)")
        }
        work &+= Exercise.yaml(bytes)
        work &+= Exercise.manifest(bytes)
        count += 1
    }
}
print("sanitize-corpus: \(count) files through the YAML layer and manifest loading (work \(work))")
