import ArgumentParser

/// The `podrec` command: one subcommand per file under `Subcommands`. The executable's
/// `main.swift` only calls `Podrec.main()`.
public struct Podrec: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "podrec",
        abstract: "Declarative Kubernetes-style pods on one Linux host, with no container daemon.",
        subcommands: [Apply.self, Watch.self, Diff.self, Delete.self, Get.self, Events.self, Top.self, Exec.self, Attach.self, Logs.self, Describe.self, Validate.self, Fields.self, Image.self, Network.self]
    )

    public init() {}
}
