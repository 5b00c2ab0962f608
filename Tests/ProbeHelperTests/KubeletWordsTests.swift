import PodModel
import Testing
@testable import ProbeHelper

/// The helper's pure parts: its command line, kubelet's words and Go's redirect rules.
@Suite struct KubeletWordsTests {
    @Test func goDurations() {
        #expect(KubeletWords.duration(seconds: 1) == "1s")
        #expect(KubeletWords.duration(seconds: 59) == "59s")
        #expect(KubeletWords.duration(seconds: 60) == "1m0s")
        #expect(KubeletWords.duration(seconds: 90) == "1m30s")
        #expect(KubeletWords.duration(seconds: 3600) == "1h0m0s")
        #expect(KubeletWords.duration(seconds: 3661) == "1h1m1s")
    }

    /// pkg/probe/grpc/grpc.go's messages.
    @Test func grpcMessages() {
        #expect(KubeletWords.grpcUnhealthy(status: 2) == #"service unhealthy (responded with "NOT_SERVING")"#)
        #expect(KubeletWords.grpcUnhealthy(status: 3) == #"service unhealthy (responded with "SERVICE_UNKNOWN")"#)
        #expect(KubeletWords.grpcUnhealthy(status: 0) == #"service unhealthy (responded with "UNKNOWN")"#)
        #expect(KubeletWords.grpcUnhealthy(status: 7) == #"service unhealthy (responded with "7")"#)
        #expect(KubeletWords.grpcConnectTimeout(address: "10.0.0.2:9090", timeoutSeconds: 1)
                == #"timeout: failed to connect service "10.0.0.2:9090" within 1s: context deadline exceeded"#)
        #expect(KubeletWords.grpcRPCError(code: 5, message: "unknown service", timeoutSeconds: 1)
                == "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service")
        #expect(KubeletWords.grpcRPCError(code: 4, message: "x", timeoutSeconds: 2) == "timeout: health rpc did not complete within 2s")
        #expect(KubeletWords.grpcRPCError(code: 12, message: "Method not found!", timeoutSeconds: 1)
                == "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): Method not found!")
        #expect(KubeletWords.hostPort("fd00::2", 9090) == "[fd00::2]:9090")
    }

    /// pkg/probe/http/http.go's, and Go's net/http errors.
    @Test func httpMessages() {
        let url = KubeletWords.url("10.0.0.2", 8443, "/healthz")
        #expect(url == "https://10.0.0.2:8443/healthz")
        #expect(KubeletWords.httpTimeout(url: url)
                == #"Get "https://10.0.0.2:8443/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"#)
        #expect(KubeletWords.httpGetError(url: url, KubeletWords.dialError(address: "10.0.0.2:8443", "connection refused"))
                == #"Get "https://10.0.0.2:8443/healthz": dial tcp 10.0.0.2:8443: connect: connection refused"#)
        #expect(KubeletWords.httpStatusFailure(500) == "HTTP probe failed with statuscode: 500")
        #expect(KubeletWords.httpRedirectWarning(body: "moved") == "Probe terminated redirects, Response body: moved")
    }

    /// Go's client resolves a Location against the request's URL; kubelet's checker compares
    /// host names only (not ports or schemes).
    @Test func redirects() {
        let base = "https://10.0.0.2:8443/a/b?x=1"
        #expect(Redirect.resolve("/healthz", against: base) == "https://10.0.0.2:8443/healthz")
        #expect(Redirect.resolve("c", against: base) == "https://10.0.0.2:8443/a/c")
        #expect(Redirect.resolve("//other:1/x", against: base) == "https://other:1/x")
        #expect(Redirect.resolve("http://10.0.0.2:8080/", against: base) == "http://10.0.0.2:8080/")
        #expect(Redirect.host(of: base) == "10.0.0.2")
        #expect(Redirect.host(of: "http://10.0.0.2:8080/") == "10.0.0.2")
        #expect(Redirect.host(of: "https://[fd00::2]:1/") == "fd00::2")
        #expect(Redirect.host(of: "https://Elsewhere.Invalid/") == "elsewhere.invalid")
    }

    /// The supervisor's call and the helper's reading of it: one format, both ways.
    @Test func theCallRoundTrips() {
        let calls: [ProbeHelperCall] = [
            .grpc(timeoutSeconds: 1, host: "10.0.0.2", port: 9090, service: ""),
            .grpc(timeoutSeconds: 30, host: "127.0.0.1", port: 1, service: "a b\tc"),
            .https(timeoutSeconds: 2, get: HTTPGet(host: "10.0.0.2", port: 8443, path: "/healthz?a=b", https: true,
                                                   headers: [HTTPHeaderField(name: "X-A", value: ""), HTTPHeaderField(name: "Host", value: "web")])),
        ]
        for call in calls {
            #expect(ProbeHelperCall(arguments: call.arguments) == call)
        }
        #expect(ProbeHelperCall(.grpc(host: "h", port: 1, service: "s"), timeoutSeconds: 3) == .grpc(timeoutSeconds: 3, host: "h", port: 1, service: "s"))
        #expect(ProbeHelperCall(.httpGet(HTTPGet(host: "h", port: 1)), timeoutSeconds: 3) == nil, "plain HTTP stays in the supervisor")
        #expect(ProbeHelperCall(arguments: ["grpc", "0", "h", "1", ""]) == nil)
        #expect(ProbeHelperCall(arguments: ["https", "1", "h", "1", "/", "odd"]) == nil)
        #expect(ProbeHelperCall(arguments: ["tcp", "1", "h", "1", ""]) == nil)
        #expect(ProbeHelperCall.path(beside: "/usr/libexec/podrec/podrec-supervisor") == "/usr/libexec/podrec/podrec-probe")
        #expect(ProbeHelperCall.path(beside: "podrec-supervisor") == "./podrec-probe")
    }
}
