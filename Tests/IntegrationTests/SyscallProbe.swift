import Kernel
import KernelTestSupport
import Testing

/// The escape tests' tiny static C probes (Tests/Fixtures/seccomp/syscall_probe.c,
/// Tests/Fixtures/userns/userns_probe.c): built with `cc -static` into `<lab>/bin`, which the
/// pods mount at /probe, and each printing one line per action, `action ERRNO` or `action OK`.
enum SyscallProbe {
    /// Builds `fixture` (a path under Tests/Fixtures) as `<lab>/bin/<name>`; returns the dir.
    static func build(_ lab: PodLab, _ fixture: String, as name: String) throws -> String {
        let dir = lab.tmp + "/bin"
        try Sys.mkdirs(dir, mode: 0o755)
        let source = Integration.CLIPodTests.repository + "/Tests/Fixtures/" + fixture
        let cc = try Integration.CLIPodTests.CLI(lab: lab).run(["/usr/bin/cc", "-static", "-O2", source, "-o", dir + "/" + name])
        try #require(cc.status == 0, "cc: \(cc.output)")
        return dir
    }

    /// The probe's lines, by action.
    static func results(_ output: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2 { out[String(f[0])] = String(f[1]) }
        }
        return out
    }
}
