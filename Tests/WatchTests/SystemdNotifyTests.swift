import Glibc
import Kernel
import KernelTestSupport
import Testing
import Watch

/// sd_notify(3) without libsystemd: which environment turns it on, and the datagrams, read
/// from a socket bound here as systemd binds its own.
@Suite struct SystemdNotifyTests {
    @Test func theEnvironmentSaysWhetherAndHowOften() {
        #expect(SystemdNotify(environment: [:], pid: 7) == nil, "not under systemd")
        #expect(SystemdNotify(environment: ["NOTIFY_SOCKET": "relative/sock"], pid: 7) == nil, "neither a path nor an abstract name")
        let plain = SystemdNotify(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"], pid: 7)
        #expect(plain?.socket == "/run/systemd/notify" && plain?.watchdogInterval == nil)
        // Half of WatchdogSec, as sd_watchdog_enabled(3) advises.
        let watched = SystemdNotify(environment: ["NOTIFY_SOCKET": "@abstract", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"], pid: 7)
        #expect(watched?.watchdogInterval == 15_000_000_000)
        let other = SystemdNotify(environment: ["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"], pid: 7)
        #expect(other != nil && other?.watchdogInterval == nil, "the watchdog is another process's")
        #expect(SystemdNotify(environment: ["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "0"], pid: 7)?.watchdogInterval == nil)
    }

    @Test func oneDatagramPerMessageToAPathOrAnAbstractName() throws {
        let dir = try makeTemporaryDirectory("podrec-notify")
        defer { _ = try? Sys.removeTree(dir) }
        let listener = try NotifyListener(path: dir + "/notify")
        defer { listener.close() }
        let notify = try #require(SystemdNotify(environment: ["NOTIFY_SOCKET": listener.path], pid: getpid()))
        try notify.send(["READY=1", "STATUS=watching /etc/podrec/pods"])
        try notify.send(["WATCHDOG=1"])
        #expect(listener.receive(milliseconds: 1000) == "READY=1\nSTATUS=watching /etc/podrec/pods\n")
        #expect(listener.receive(milliseconds: 1000) == "WATCHDOG=1\n")

        let missing = SystemdNotify(environment: ["NOTIFY_SOCKET": dir + "/none"], pid: getpid())!
        #expect(throws: KernelError.self) { try missing.send(["READY=1"]) }
        let abstract = SystemdNotify(environment: ["NOTIFY_SOCKET": "@podrec-test-\(getpid())-none"], pid: getpid())!
        #expect(throws: KernelError.self, "no one listens on that abstract name") { try abstract.send(["READY=1"]) }
    }
}
