import Kernel
import Supervisor
import PodModel

// podrec-supervisor STATE_DIR [--gate]
//
// Started by the reconciler (HostSetup's PodLauncher) in the pod's new namespaces and its
// `_infra` cgroup, with stderr on STATE_DIR/supervisor.log. Reads STATE_DIR/plan, writes
// STATE_DIR/status; SIGHUP re-reads the plan, SIGTERM stops the pod gracefully. With
// --gate, stdin is a pipe on which the launcher says "go" once the containers' cgroups
// exist; the supervisor boots meanwhile and starts no container before it.
let arguments = CommandLine.arguments
guard arguments.count == 2 || (arguments.count == 3 && arguments[2] == "--gate") else {
    Sys.printError("usage: podrec-supervisor STATE_DIR [--gate]\n")
    Sys.exit(2)
}
// The probe helper is the one beside this executable, as the reconciler started it: the
// reconciler chose this supervisor by its own directory, and the helper ships with it.
// (Computed in PodModel, not in a closure here: a closure in top-level code that reads a
// top-level variable checks that it runs on the main actor, and that one check linked Swift
// Concurrency and Dispatch into the supervisor: +1.2 MB, +25 KiB Pss per pod.)
let helper = ProbeHelperCall.path(beside: arguments[0])
do {
    let supervisor = try Supervisor(stateDirectory: arguments[1], gate: arguments.count == 3, probeHelper: helper)
    Sys.exit(try supervisor.run())
} catch {
    Sys.printError("podrec-supervisor: \(error)\n")
    Sys.exit(1)
}
