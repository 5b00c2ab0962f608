import Planner
import PodModel
import Testing

/// The pure parts of attach: the socket's messages, the plan's tty/stdin fields, and which
/// container `attach` means.
@Suite struct AttachModelTests {
    @Test func everyMessageRoundTrips() {
        let messages: [AttachMessage] = [
            .hello(container: "app", stdin: true), .hello(container: "a-b", stdin: false), .accepted,
            .refused("container app is not running"), .input([0, 1, 0x10, 0x11, 255]), .input([]),
            .resize(rows: 40, columns: 120), .resize(rows: 0xFFFF, columns: 1), .endOfInput,
            .output(Array("got:hello\r\n".utf8)), .errorOutput([0x1B, 0x5B]),
        ]
        for m in messages { #expect(AttachMessage(m.encoded) == m, "\(m)") }
        #expect(AttachMessage.resize(rows: 0x0102, columns: 0x0304).encoded == [0x77, 1, 2, 3, 4], "big-endian")
    }

    @Test func malformedPacketsAreRefused() {
        #expect(AttachMessage([UInt8]()) == nil)
        #expect(AttachMessage([0x00, 1, 2]) == nil, "unknown type")
        #expect(AttachMessage([0x77, 1, 2, 3]) == nil, "a resize is 4 bytes")
        #expect(AttachMessage([0x68, 2] + Array("app".utf8)) == nil, "the stdin flag is 0 or 1")
        #expect(AttachMessage([0x6B, 0]) == nil)
        #expect(AttachMessage([0x65, 0]) == nil)
    }

    @Test func theTerminalFieldsRoundTripInThePlanAndAreLeftOutWhenUnset() throws {
        var c = ContainerLaunch(name: "app", executable: "/bin/sh", arguments: ["sh"], cgroup: "x/app")
        var plan = LaunchPlan(generation: 1, namespace: "default", name: "p", uid: "u", hostname: "p", logDirectory: "/l", scratchDirectory: "/s",
                              containers: [c])
        #expect(!plan.encoded().contains("\ntty") && !plan.encoded().contains("\nstdin"), "a plan without them reads as before")
        c.tty = true
        c.stdin = true
        c.stdinOnce = true
        plan.containers = [c]
        plan.defaultContainer = "app"
        let back = try LaunchPlan.decode(plan.encoded())
        #expect(back == plan)
        #expect(back.containers[0].tty && back.containers[0].stdin && back.containers[0].stdinOnce)
    }

    @Test func attachPicksTheNamedTheAnnotatedOrTheFirstContainer() throws {
        let containers: [(name: String, kind: ContainerKind)] = [("setup", .initContainer), ("web", .main), ("log", .main)]
        #expect(try ContainerChoice.pickForAttach("log", pod: "p", containers: containers, annotated: "web").get() == ("log", nil))
        #expect(try ContainerChoice.pickForAttach(nil, pod: "p", containers: containers, annotated: "log").get() == ("log", nil))
        let first = try ContainerChoice.pickForAttach(nil, pod: "p", containers: containers, annotated: nil).get()
        #expect(first.name == "web")
        #expect(first.note == "Defaulted container \"web\" out of: web, log, setup (init)")
        #expect(try ContainerChoice.pickForAttach(nil, pod: "p", containers: [("only", .main)], annotated: nil).get() == ("only", nil))
        #expect(throws: ContainerChoice.ChoiceError.self) { try ContainerChoice.pickForAttach("nope", pod: "p", containers: containers, annotated: nil).get() }
    }
}
