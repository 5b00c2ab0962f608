import Planner
import PodModel
import Testing

@Suite struct RecordTests {
    @Test func aRecordRoundTrips() throws {
        let r = PodRecord(uid: "u-1", source: "watch:/etc/pods/a b.yaml", immutable: ["hostNetwork": "false", "volumes": "a\tb"], generation: 4)
        let back = try PodRecord.decode(r.encoded())
        #expect(back.uid == "u-1" && back.source == r.source && back.generation == 4)
        #expect(back.immutable["hostNetwork"] == "false")
    }

    @Test func aRecordWithoutUIDIsRefused() {
        #expect(throws: RecordError.self) { try PodRecord.decode("podrec-pod-record 1\nsource apply\n") }
    }
}
