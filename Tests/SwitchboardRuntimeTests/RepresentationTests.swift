import DialerCore
import SwitchboardApp
import SwitchboardJSON
import SwitchboardServer
import SwitchboardTestSupport
import Testing

@Suite("What the API shows")
struct RepresentationTests {
    @Test func theGroupSummaryHasThePollingShape() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        let group = try #require(await handler.state.groups["g4"])
        let summary = group.summary
        #expect(summary.objectValue?.keys == ["groupId", "sessionId", "queueId", "status", "profile", "fanout", "staggerMs",
                                             "amdPolicy", "winner", "disposition", "calls", "position"])
        #expect(summary["status"] == "completed")
        // (c5 since issue 8: a contact cut short by a winner keeps its place instead of using an attempt.)
        #expect(summary["winner"] == ["callId": "g4-1", "contactId": "c5"])
        let calls = try #require(summary["calls"]?.arrayValue)
        #expect(calls.map { $0["status"]?.stringValue } == ["completed", "terminated", "terminated"])
        #expect(calls.map { $0["outcome"]?.stringValue } == ["winner", "terminated", "terminated"])
        #expect(calls.map { $0["abandoned"]?.boolValue } == [false, true, false])
        #expect(calls.first?.objectValue?.keys == ["callId", "contactId", "to", "callerId", "status", "outcome", "answeredBy",
                                                   "dialedAt", "answeredAt", "endedAt", "endReason", "abandoned"])
        let noAnswer = try #require(await handler.state.groups["g2"]?.summary)
        #expect(noAnswer["status"] == "no-answer")
        #expect(noAnswer["calls"]?.arrayValue?.first?["status"] == "completed")
        #expect(noAnswer["calls"]?.arrayValue?.first?["outcome"] == "no-answer")
        #expect(await handler.state.groups["g3"]?.summary["status"] == "cancelled")
    }
}
