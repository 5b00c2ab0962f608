import Glibc
import Kernel
import Spawn
import Testing

/// Spawns `request` with its stdout and stderr together on one socket, reads them to the
/// end and reaps it: the exit code (-1 when a signal ended it) and the output. What the CLI
/// fixture and the registry lab each run their commands through.
func runToEnd(_ request: SpawnRequest) throws -> (status: Int32, output: String) {
    var request = request
    var ends: [Int32] = [-1, -1]
    try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
    defer { close(ends[0]) }
    request.stdout = ends[1]
    request.stderr = ends[1]
    let child: SpawnedProcess
    do { child = try spawn(request) } catch {
        close(ends[1])
        throw error
    }
    close(ends[1])
    if let fd = child.pidfd { close(fd) }
    let output = String(decoding: try Sys.readAll(ends[0]), as: UTF8.self)
    guard case .exited(let code) = WaitStatus(try Sys.wait(child.pid)) else { return (-1, output) }
    return (code, output)
}
