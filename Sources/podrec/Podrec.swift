import ArgumentParser

@main
struct Podrec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podrec",
        abstract: "Declarative Kubernetes-style pods on one Linux host, with no container daemon.",
        subcommands: [Apply.self, Diff.self, Delete.self, Get.self, Exec.self, Logs.self, Describe.self, Validate.self, Fields.self, Image.self]
    )
}
