import Kernel
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
        for argument in arguments {
            if argument == "-" {
                do { files.append(ManifestFile(name: "<stdin>", bytes: try Sys.readAll(0, path: "<stdin>"))) } catch {
                    failures.append("<stdin>: error: \(Self.reason(error))")
                }
                continue
            }
            let status: Sys.FileStatus
            do { status = try Sys.stat(argument) } catch {
                failures.append("\(argument): error: \(Self.reason(error))")
                continue
            }
            if status.isDirectory {
                let names: [String]
                do { names = try Sys.listDirectory(argument) } catch {
                    failures.append("\(argument): error: cannot read directory: \(Self.reason(error))")
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
        do { files.append(ManifestFile(name: path, bytes: try Sys.readFile(path))) } catch {
            failures.append("\(path): error: cannot read file: \(Self.reason(error))")
        }
    }

    /// `no such file or directory`, as `ls` and kubectl say it.
    static func reason(_ error: KernelError) -> String {
        let message = error.errno.message
        return message.prefix(1).lowercased() + message.dropFirst()
    }
}
