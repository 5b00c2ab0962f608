import Kernel
import Supervisor

// podrec-supervisor STATE_DIR
//
// Started by the reconciler (Runtime's PodLauncher) in the pod's new namespaces and its
// `_infra` cgroup, with stderr on STATE_DIR/supervisor.log. Reads STATE_DIR/plan, writes
// STATE_DIR/status; SIGHUP re-reads the plan, SIGTERM stops the pod gracefully.
let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    Sys.printError("usage: podrec-supervisor STATE_DIR\n")
    Sys.exit(2)
}
do {
    let supervisor = try Supervisor(stateDirectory: arguments[1])
    Sys.exit(try supervisor.run())
} catch {
    Sys.printError("podrec-supervisor: \(error)\n")
    Sys.exit(1)
}
