import ImageModel
import Foundation
import Glibc
@testable import Images
import Kernel

/// A temp directory for one test, removed (with everything in it) when dropped.
final class TempDir {
    let path: String

    init(_ label: String = "img") {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/podrec-images-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? ImageStore(dataRoot: path).removeTree(path)
    }

    func sub(_ name: String) -> String { "\(path)/\(name)" }

    /// A fresh data root inside this temp dir.
    var store: ImageStore { ImageStore(dataRoot: sub("data")) }
}

enum FS {
    static func write(_ path: String, _ text: String, mode: mode_t = 0o644) {
        try! FileManager.default.createDirectory(atPath: parentDirectory(path), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        precondition(chmod(path, mode) == 0)
    }

    static func mkdir(_ path: String, mode: mode_t = 0o755) {
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        precondition(chmod(path, mode) == 0)
    }

    static func symlink(_ target: String, _ path: String) {
        precondition(Glibc.symlink(target, path) == 0, "symlink \(path)")
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func lstat(_ path: String) -> Sys.FileStatus? {
        try? Sys.stat(path, followSymlinks: false)
    }

    static func names(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }
}

/// Runs a program; returns its exit status, stdout and stderr.
@discardableResult
func run(_ program: String, _ args: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = args
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Tar archives built byte by byte, for entries no host tree should hold (device nodes)
/// and for damaged headers.
struct TarBuilder {
    var bytes: [UInt8] = []

    static func octal(_ value: Int, width: Int) -> [UInt8] {
        let digits = String(value, radix: 8)
        let padded = String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        return Array(padded.utf8) + [0]
    }

    static func header(name: String, type: Character, size: Int = 0, mode: Int = 0o644, linkName: String = "",
                       uid: Int = 0, gid: Int = 0, corruptChecksum: Bool = false) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ offset: Int, _ value: [UInt8]) { for (i, b) in value.enumerated() { h[offset + i] = b } }
        put(0, Array(name.utf8.prefix(100)))
        put(100, octal(mode, width: 8))
        put(108, octal(uid, width: 8))
        put(116, octal(gid, width: 8))
        put(124, octal(size, width: 12))
        put(136, octal(1_700_000_000, width: 12))
        put(148, Array("        ".utf8))
        h[156] = type.asciiValue!
        put(157, Array(linkName.utf8.prefix(100)))
        put(257, Array("ustar\0".utf8))
        put(263, Array("00".utf8))
        if type == "3" || type == "4" {
            put(329, octal(1, width: 8))
            put(337, octal(3, width: 8))
        }
        var sum = h.reduce(0) { $0 + Int($1) }
        if corruptChecksum { sum += 1 }
        put(148, octal(sum, width: 7))
        h[155] = 0x20
        return h
    }

    mutating func add(_ name: String, type: Character, data: String = "", mode: Int = 0o644, linkName: String = "", corruptChecksum: Bool = false) {
        let d = Array(data.utf8)
        bytes += Self.header(name: name, type: type, size: d.count, mode: mode, linkName: linkName, corruptChecksum: corruptChecksum)
        bytes += d
        bytes += [UInt8](repeating: 0, count: (512 - d.count % 512) % 512)
    }

    mutating func file(_ name: String, _ data: String = "", mode: Int = 0o644) { add(name, type: "0", data: data, mode: mode) }
    mutating func dir(_ name: String, mode: Int = 0o755) { add(name, type: "5", mode: mode) }
    mutating func symlink(_ name: String, to target: String) { add(name, type: "2", mode: 0o777, linkName: target) }

    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    func write(to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(finished()))
    }
}

/// The result of an import that must fail.
func importError(_ store: ImageStore, _ ref: String, _ source: String) -> ImageError? {
    do throws(ImageError) {
        try store.importImage(ImageReference(validName: ref, tag: ImageReference.defaultTag), from: .path(source))
        return nil
    } catch {
        return error
    }
}

func ref(_ s: String) -> ImageReference { try! ImageReference(parsing: s) }

/// No image and no temp file: what a refused or interrupted import must leave (blobs it
/// verified may stay, unreferenced, for `image prune`).
func nothingVisible(_ t: TempDir) -> Bool {
    ((try? t.store.list())?.isEmpty ?? true) && FS.names(t.sub("data/images/tmp")).isEmpty && FS.names(t.sub("data/images/layers/sha256")).isEmpty
}
