import Foundation
import Manifest

/// Reads the manifest arguments: files, directories (their manifest files in name order,
/// by `ManifestLoader.isManifestFileName`) and `-` for stdin.
enum Input {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ arguments: [String]) -> (files: [ManifestFile], failures: [String]) {
        var files: [ManifestFile] = []
        var failures: [String] = []
        let fm = FileManager.default
        for argument in arguments {
            if argument == "-" {
                files.append(ManifestFile(name: "<stdin>", bytes: Array(FileHandle.standardInput.readDataToEndOfFile())))
                continue
            }
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                failures.append("\(argument): error: no such file or directory")
                continue
            }
            if isDirectory.boolValue {
                guard let names = try? fm.contentsOfDirectory(atPath: argument) else {
                    failures.append("\(argument): error: cannot read directory")
                    continue
                }
                let base = argument.hasSuffix("/") ? argument : argument + "/"
                for name in names.sorted() where ManifestLoader.isManifestFileName(name) {
                    readFile(base + name, into: &files, failures: &failures)
                }
            } else {
                readFile(argument, into: &files, failures: &failures)
            }
        }
        return (files, failures)
    }

    static func readFile(_ path: String, into files: inout [ManifestFile], failures: inout [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            failures.append("\(path): error: cannot read file")
            return
        }
        files.append(ManifestFile(name: path, bytes: Array(data)))
    }
}
