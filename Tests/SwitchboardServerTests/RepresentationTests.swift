import DialerCore
import ReadModels
import WritePath
import SwitchboardJSON
@testable import SwitchboardServer
import SwitchboardTestSupport
import Testing
import DialerSimulation

@Suite("What the API shows")
struct RepresentationTests {
    @Test func theGroupSummaryHasThePollingShape() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        let group = try #require(await handler.state.batches["g4"])
        let summary = group.summary
        #expect(summary.objectValue?.keys == ["groupId", "sessionId", "queueId", "status", "profile", "profileReason", "fanout",
                                             "linesLimitedBy", "linesWhy", "staggerMs", "amdPolicy", "winner", "disposition", "calls", "position"])
        #expect(summary["status"] == "completed")
        // The winner, and when it was put through (what the console's "after the call" panel keys on).
        let connectedAt = try #require(group.call("g4-1")?.connectedAt)
        #expect(summary["winner"] == ["callId": "g4-1", "contactId": "c6", "connectedAt": connectedAt.json])
        let calls = try #require(summary["calls"]?.arrayValue)
        #expect(calls.map { $0["status"]?.stringValue } == ["completed", "terminated", "terminated"])
        #expect(calls.map { $0["outcome"]?.stringValue } == ["winner", "terminated", "terminated"])
        #expect(calls.map { $0["abandoned"]?.boolValue } == [false, true, false])
        #expect(calls.first?.objectValue?.keys == ["callId", "contactId", "name", "to", "callerId", "priorAttempts", "timeZones",
                                                   "status", "outcome", "answeredBy", "dialedAt", "answeredAt", "endedAt",
                                                   "endReason", "abandoned", "abandonment"])
        // The agent's context: a 713 number rings in Houston's zone; the attempts before this batch.
        let houston = try #require(calls.first { $0["to"] == "+17135550006" })
        #expect(houston["timeZones"] == ["America/Chicago"])
        // Every contact's first call had no attempt before it; later ones count up, never down, and the
        // day (which retries at once) has calls to contacts already tried.
        let everyCall = await handler.state.batches.values.sorted { $0.position < $1.position }.flatMap(\.calls)
        let byContact = Dictionary(grouping: everyCall, by: \.contactId)
        #expect(byContact.values.allSatisfy { $0.first?.priorAttempts == 0 })
        #expect(byContact.values.allSatisfy { calls in zip(calls, calls.dropFirst()).allSatisfy { $0.priorAttempts <= $1.priorAttempts } })
        #expect(everyCall.contains { $0.priorAttempts > 0 })
        #expect(calls[1]["abandonment"]?["cause"] == "after-winner" && calls[0]["abandonment"] == .null)
        let noAnswer = try #require(await handler.state.batches["g2"]?.summary)
        #expect(noAnswer["status"] == "no-answer")
        #expect(noAnswer["calls"]?.arrayValue?.first?["status"] == "completed")
        #expect(noAnswer["calls"]?.arrayValue?.first?["outcome"] == "no-answer")
        #expect(await handler.state.batches["g3"]?.summary["status"] == "cancelled")
    }
}

@Suite("The queue brief")
struct QueueBriefTests {
    /// Issue 19: the brief's profile and lines are the ones the engine's next batch gets, guard and all —
    /// before, a capped queue's brief said `aggressive` while the engine dialled `balanced` on one line.
    @Test func theBriefShowsThePacingOfTheBatchTheEngineStartsNext() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(60), maxAttempts: 1)
        func profile() -> JSONValue? { given.state.queues["q"]?.brief(at: given.time)["profile"] }
        var batch = 0
        while (given.state.queues["q"]?.dialedCalls ?? 0) < 25 {  // nobody answers: a low answer rate
            batch += 1
            let group = BatchID("g\(batch)")
            try Fixture.dialAll(&given, group: group)
            for call in given.state.batches[group]?.calls ?? [] {
                try given.when(.recordNoAnswer(batchId: group, callId: call.id, cause: .timeout))
            }
        }
        #expect(profile() == ["name": "aggressive", "reason": "low-answer-rate", "lines": 5, "linesLimitedBy": .null])
        try Fixture.dialAll(&given, group: "abandoning")
        #expect(given.state.batches["abandoning"]?.calls.count == 5)
        try given.when(.recordAnswer(batchId: "abandoning", callId: "abandoning-1", answeredBy: .human))
        try given.when(.recordAnswer(batchId: "abandoning", callId: "abandoning-2", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "abandoning"))
        try given.when(.hangUp(sessionId: "s"))
        #expect(given.state.queues["q"]?.guardLevel == .capped)
        let promised = profile()
        #expect(promised == ["name": "balanced", "reason": "abandonment-guard", "lines": 1,
                             "linesLimitedBy": "abandonment-capped"])
        try given.when(.startBatch(sessionId: "s", batchId: "next"))
        let next = try #require(given.state.batches["next"])
        #expect(promised == ["name": next.profile.json, "reason": next.profileReason?.json ?? .null, "lines": next.calls.count.json,
                             "linesLimitedBy": next.linesLimitedBy?.json ?? .null])
    }

    /// Issue 19: with no safe-harbor message anywhere the guard says why the queue dials one line.
    @Test func theBriefSaysAQueueWithoutASafeHarborMessageDialsOneLine() throws {
        var given = Fixture.workingQueue(safeHarborMessage: nil)
        let brief = try #require(given.state.queues["q"]?.brief(at: given.time))
        #expect(brief["profile"]?["lines"] == 1 && brief["profile"]?["linesLimitedBy"] == "no-safe-harbor-message")
        #expect(brief["compliance"]?["guard"]?["maxLines"] == 1)
        #expect(brief["compliance"]?["guard"]?["limitedBy"] == "no-safe-harbor-message")
        try given.when(.setOrganisationSafeHarbor(message: Fixture.safeHarborMessage))
        let lifted = try #require(given.state.queues["q"]?.brief(at: given.time))
        #expect(lifted["profile"]?["lines"] == 3 && lifted["profile"]?["linesLimitedBy"] == .null)
        #expect(lifted["compliance"]?["guard"]?["maxLines"] == .null)
    }
}
