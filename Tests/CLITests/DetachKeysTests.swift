@testable import CLI
import Testing

/// `attach -t`'s detach keys: docker's notation, and the scan of typed input.
@Suite struct DetachKeysTests {
    @Test func theNotationParsesAsDockerWritesIt() throws {
        #expect(try DetachKeys(DetachKeys.standard).sequence == [0x10, 0x11])
        #expect(try DetachKeys("ctrl-a,x,ctrl-@,ctrl-[,ctrl-_").sequence == [1, UInt8(ascii: "x"), 0, 27, 31])
        #expect(try DetachKeys("CTRL-Q").sequence == [0x11])
        for bad in ["", "ctrl-", "ctrl-1", "ab", "ctrl-p,,ctrl-q"] {
            #expect(throws: CLIError.self, "\(bad.debugDescription)") { try DetachKeys(bad) }
        }
    }

    @Test func theSequenceDetachesAndIsNeverSent() throws {
        var keys = try DetachKeys(DetachKeys.standard)
        var r = keys.scan(Array("ls\r".utf8) + [0x10, 0x11] + Array("after".utf8))
        #expect(r.send == Array("ls\r".utf8) && r.detach, "what follows the sequence is dropped")

        // Split over two reads: the first half is held back, not sent.
        keys = try DetachKeys(DetachKeys.standard)
        r = keys.scan([UInt8(ascii: "a"), 0x10])
        #expect(r.send == [UInt8(ascii: "a")] && !r.detach)
        r = keys.scan([0x11])
        #expect(r.send == [] && r.detach)
    }

    @Test func aBrokenSequenceIsSentAfterAll() throws {
        var keys = try DetachKeys(DetachKeys.standard)
        var r = keys.scan([0x10, UInt8(ascii: "x")])
        #expect(r.send == [0x10, UInt8(ascii: "x")] && !r.detach)
        // ctrl-p ctrl-p ctrl-q: the first ctrl-p goes, the next two detach.
        r = keys.scan([0x10, 0x10, 0x11])
        #expect(r.send == [0x10] && r.detach)
        // A held ctrl-p, then something else in the next read.
        r = keys.scan([0x10])
        #expect(r.send == [] && !r.detach)
        r = keys.scan(Array("q".utf8))
        #expect(r.send == [0x10, UInt8(ascii: "q")] && !r.detach)
    }
}
