import DialerCore
import SwitchboardBasics
import SwitchboardTestSupport
import Testing

@Suite("After the call: dispositions and wrap-up")
struct DispositionTests {
    /// A session whose first batch was won by c1 and whose agent has hung up.
    func talkedAndHungUp(settings: SessionSettings = .default) throws -> Given {
        var given = Fixture.workingQueue(settings: settings)
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        given.advance(30_000)
        try given.when(.hangUp(sessionId: "s"))
        return given
    }

    @Test func theAgentRecordsWhatCameOfTheConversationOnce() throws {
        var given = try talkedAndHungUp()
        #expect(try given.when(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .interested, notes: "wants a demo",
                                                  callbackAt: nil)) == [
            .callDispositioned(.init(batchId: "g1", callId: "g1-1", contactId: "c1", sessionId: "s", outcome: .interested,
                                     notes: "wants a demo", callbackAt: nil)),
        ])
        #expect(given.state.batches["g1"]?.disposition == .interested)
        #expect(given.refusal(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .other, notes: nil, callbackAt: nil))
                == .invalidTransition("call g1-1 already has a disposition"))
        // Only the winner's conversation has one.
        var other = try talkedAndHungUp()
        #expect(other.refusal(.recordDisposition(sessionId: "s", callId: "g1-2", outcome: .other, notes: nil, callbackAt: nil))
                == .invalidTransition("call g1-2 was not connected to the agent"))
        #expect(other.refusal(.recordDisposition(sessionId: "s", callId: "g9-1", outcome: .other, notes: nil, callbackAt: nil))
                == .invalidTransition("call g9-1 is not the winner of session s's current or last batch"))
        try other.when(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .wrongNumber, notes: nil, callbackAt: nil))
    }

    @Test func aCallbackMakesTheContactDialableAtItsTimeAndNotBefore() throws {
        var given = try talkedAndHungUp()
        let later = given.time.adding(milliseconds: 3_600_000)
        #expect(given.refusal(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .callback, notes: nil,
                                                 callbackAt: nil))?.kind == .invalid)
        #expect(given.refusal(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .interested, notes: nil,
                                                 callbackAt: later))?.kind == .invalid)
        #expect(given.refusal(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .callback, notes: nil,
                                                 callbackAt: given.time))?.kind == .invalid)
        try given.when(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .callback, notes: nil, callbackAt: later))
        let c1 = try #require(given.state.queues["q"]?.contacts["c1"])
        #expect(!c1.isDialable(maxAttempts: 3, at: given.time))
        #expect(c1.isDialable(maxAttempts: 3, at: later))
    }

    @Test func aWrapUpHoldsTheNextBatchUntilTheDispositionOrItsTime() throws {
        var timed = try talkedAndHungUp(settings: SessionSettings(wrapUpMs: 20_000))
        let endsAt = timed.time.adding(milliseconds: 20_000)
        #expect(timed.state.sessions["s"]?.wrapUp == WrapUp(batchId: "g1", callId: "g1-1", endsAt: endsAt))
        #expect(timed.refusal(.startBatch(sessionId: "s", batchId: "g2")) == .inWrapUp("s", until: endsAt))
        timed.advance(20_000)
        try timed.when(.startBatch(sessionId: "s", batchId: "g2"))  // the time ran out
        #expect(timed.state.sessions["s"]?.wrapUp == nil)

        var required = try talkedAndHungUp(settings: SessionSettings(requireDisposition: true))
        required.advance(600_000)
        #expect(required.refusal(.startBatch(sessionId: "s", batchId: "g2")) == .inWrapUp("s", until: nil))
        try required.when(.recordDisposition(sessionId: "s", callId: "g1-1", outcome: .notInterested, notes: nil,
                                             callbackAt: nil))
        #expect(required.state.sessions["s"]?.wrapUp == nil)
        try required.when(.startBatch(sessionId: "s", batchId: "g2"))
    }

    @Test func whoHungUpIsRecorded() throws {
        var given = Fixture.workingQueue()
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        #expect(try given.when(.recordHangup(batchId: "g1", callId: "g1-1", endedBy: .carrier)).first
                == .callCompleted(.init(batchId: "g1", callId: "g1-1", endedBy: .carrier)))
        #expect(given.state.batches["g1"]?.call("g1-1")?.endReason == "carrier")
    }
}
