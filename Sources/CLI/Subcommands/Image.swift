import ImageModel
import ArgumentParser
import Images
import YAML

extension Podrec {
    struct Image: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "image",
            abstract: "Manage the local image store: import a rootfs, list, remove.",
            discussion: """
                Images live under DATA-ROOT/images/<name, '/' as %2F>/<tag>/{rootfs/,config.json}.
                A Pod's `image: NAME[:TAG]` names one; `image: host` is reserved for a view of the host.
                """,
            subcommands: [Import.self, List.self, Remove.self]
        )

        /// `--data-root`, shared by every image subcommand.
        struct DataRoot: ParsableArguments {
            @Option(name: .customLong("data-root"), help: ArgumentHelp(
                "Where volumes and images live.",
                discussion: "Default: $PODREC_DATA_ROOT, else /var/lib/podrec.", valueName: "dir"))
            var dataRoot: String?

            var store: ImageStore {
                ImageStore(dataRoot: dataRoot ?? RootOptions.env("PODREC_DATA_ROOT") ?? "/var/lib/podrec")
            }
        }

        /// Prints `error: ...` and exits 1: image errors are the user's to fix, not usage.
        static func fail(_ error: ImageError) -> ExitCode {
            var stderr = StandardError()
            print("error: \(error)", to: &stderr)
            return ExitCode.failure
        }

        static func reference(_ text: String) throws -> ImageReference {
            do throws(ImageSpecError) { return try ImageReference(parsing: text) } catch { throw fail(ImageError(error)) }
        }
    }
}

extension Podrec.Image {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import a root filesystem as NAME[:TAG] (TAG defaults to latest).",
            discussion: """
                SOURCE is a directory, an uncompressed tar file (as `podman export` or `tar -c` \
                write it; decompress a .tar.gz first), or - for a tar on stdin. Owners, modes \
                (setuid bits included) and symlinks are kept. Refused, naming the entry: '..' \
                paths, symlinks that escape the root, device nodes, FIFOs and sockets, hard \
                links to nothing extracted before. An existing NAME:TAG is replaced atomically.

                --entrypoint and --cmd take either a JSON array, for arguments with spaces:
                  --entrypoint '["/bin/sh", "-c"]' --cmd '["echo hello; sleep 1"]'
                or a string split on spaces:
                  --entrypoint /bin/httpd --cmd "-f -p 8080"
                A Pod's `command` replaces the entrypoint, its `args` replace cmd.
                """
        )

        @Argument(help: "NAME[:TAG]: lowercase components [a-z0-9]+([._-][a-z0-9]+)* separated by '/'.")
        var reference: String

        @Argument(help: ArgumentHelp("A directory, a tar file, or - for a tar on stdin.", valueName: "source"))
        var source: String

        @Option(help: ArgumentHelp("The image's entrypoint: a JSON array or a string split on spaces.", valueName: "command"))
        var entrypoint: String?

        @Option(help: ArgumentHelp("The image's default arguments: a JSON array or a string split on spaces.", valueName: "args"))
        var cmd: String?

        @Option(help: ArgumentHelp("An environment variable; repeat for more.", valueName: "KEY=VALUE"))
        var env: [String] = []

        @Option(help: ArgumentHelp("The working directory: an absolute path.", valueName: "dir"))
        var workdir: String?

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            let ref = try Podrec.Image.reference(reference)
            do throws(ImageError) {
                var config = ImageConfig(env: env, workdir: workdir ?? "")
                do throws(ImageSpecError) {
                    if let entrypoint { config.entrypoint = try ImageConfig.parseCommand(entrypoint, option: "--entrypoint") }
                    if let cmd { config.cmd = try ImageConfig.parseCommand(cmd, option: "--cmd") }
                } catch { throw ImageError(error) }
                let from: ImageStore.Source = source == "-" ? .tarStream(fd: 0, name: "<stdin>") : .path(source)
                let image = try dataRoot.store.importImage(ref, from: from, config: config)
                print("imported \(image.reference) (\(Podrec.Image.List.formatSize(image.config.size)))")
            } catch {
                throw Podrec.Image.fail(error)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List the stored images: name, tag, rootfs size, import time.",
            aliases: ["list"]
        )

        @Option(name: .shortAndLong, help: "Output format: json.")
        var output: Podrec.Validate.OutputFormat?

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            let images: [StoredImage]
            do throws(ImageError) { images = try dataRoot.store.list() } catch { throw Podrec.Image.fail(error) }
            if output == .json {
                let value = JSONValue.array(images.map { image in
                    .object([
                        JSONMember("name", .string(image.reference.familiarName)),
                        JSONMember("tag", .string(image.reference.tag ?? "")),
                        JSONMember("size", .int(image.config.size)),
                        JSONMember("created", .string(image.config.created)),
                        JSONMember("rootfs", .string(image.rootfs)),
                        JSONMember("config", image.config.json),
                    ])
                })
                print(value.serialized(indent: 2))
                return
            }
            let rows = [("NAME", "TAG", "SIZE", "CREATED")] + images.map {
                ($0.reference.familiarName, $0.reference.tag ?? "<none>", Self.formatSize($0.config.size), $0.config.created)
            }
            let w0 = rows.map(\.0.count).max()!, w1 = rows.map(\.1.count).max()!, w2 = rows.map(\.2.count).max()!
            for r in rows {
                func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: w - s.count) }
                print("\(pad(r.0, w0))  \(pad(r.1, w1))  \(pad(r.2, w2))  \(r.3)")
            }
        }

        /// 1000-based units, as `podman images` prints them.
        static func formatSize(_ bytes: Int64) -> String {
            if bytes < 1000 { return "\(bytes) B" }
            var value = Double(bytes)
            for unit in ["kB", "MB", "GB", "TB"] {
                value /= 1000
                if value < 1000 || unit == "TB" {
                    if value < 10 {
                        let tenths = Int((value * 10).rounded())
                        return "\(tenths / 10).\(tenths % 10) \(unit)"
                    }
                    return "\(Int(value.rounded())) \(unit)"
                }
            }
            return "\(bytes) B"
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove NAME[:TAG] (TAG defaults to latest) from the store.",
            aliases: ["remove"]
        )

        @Argument(help: "NAME[:TAG]")
        var references: [String]

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            var failed = false
            for text in references {
                do {
                    let ref = try ImageReference(parsing: text)
                    try dataRoot.store.remove(ref)
                    print("removed \(ref)")
                } catch {
                    var stderr = StandardError()
                    print("error: \(error)", to: &stderr)
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }
}
