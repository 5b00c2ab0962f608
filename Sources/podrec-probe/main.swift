#if canImport(Glibc)
import Glibc
#endif
import Kernel
import PodModel
import ProbeHelper

// podrec-probe grpc TIMEOUT HOST PORT SERVICE
// podrec-probe https TIMEOUT HOST PORT PATH [NAME VALUE]...
//
// Started by the pod's supervisor for one gRPC or HTTPS probe run (or HTTPS hook), in the
// pod's network namespace; the format is `ProbeHelperCall`'s. Exit status 0 is success, 1
// failure; stdout has kubelet's message. It exits as soon as it knows, without closing its
// clients: the process is the unit of cleanup.
// As the supervisor: no container that shares the pod's PID namespace may reach the host's
// root through /proc/<this>/root while it runs.
try? Sys.setDumpable(false)
guard let call = ProbeHelperCall(arguments: Array(CommandLine.arguments.dropFirst())) else {
    Sys.printError("usage: podrec-probe grpc TIMEOUT HOST PORT SERVICE | https TIMEOUT HOST PORT PATH [NAME VALUE]...\n")
    exit(ProbeHelperCall.usage)
}
let outcome = ProbeHelper.run(call)
// exit(3) flushes stdout.
if let message = outcome.message { print(message) }
exit(outcome.exitStatus)
