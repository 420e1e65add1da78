import DialerCore
import DialerEngine
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

typealias H = EngineHarness

@Suite("Dialer engine on virtual time", .serialized, .timeLimit(.minutes(1)))
struct EngineTests {
    @Test func callsArePlacedAStaggerApartWithLocalCallerIDs() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", "+15125550001", answer: "none"), H.contact("c2", "+17135550002", answer: "none"),
                     H.contact("c3", "+12125550003", answer: "none")], maxAttempts: 1)
        try await h.run(until: 40_000)
        #expect(try await h.timeline(types: ["call.dialed", "call.ringing", "call.no-answer", "batch.completed", "queue.completed"]) == [
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 400, type: "call.ringing", detail: "g1-1"),
            L(ms: 500, type: "call.dialed", detail: "g1-2"),
            L(ms: 900, type: "call.ringing", detail: "g1-2"),
            L(ms: 1000, type: "call.dialed", detail: "g1-3"),
            L(ms: 1400, type: "call.ringing", detail: "g1-3"),
            L(ms: 30_000, type: "call.no-answer", detail: "g1-1 timeout"),
            L(ms: 30_500, type: "call.no-answer", detail: "g1-2 timeout"),
            L(ms: 31_000, type: "call.no-answer", detail: "g1-3 timeout"),
            L(ms: 31_000, type: "batch.completed", detail: "no-answer"),
            // After the cooldown the next batch finds nobody left: the queue is done.
            L(ms: 33_000, type: "queue.completed"),
        ])
        let callerIds = h.engine.state.batches["g1"]?.calls.map(\.callerId.e164)
        #expect(callerIds == ["+15125550100", "+17135550100", "+15125550100"])
    }

    @Test func theFirstAnswerWinsAndEveryOtherCallEndsAtOnce() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 1200, answer: "human", talkMs: 60_000), H.contact("c2", answer: "none"),
                     H.contact("c3", ringMs: 5000, answer: "human")])
        try await h.run(until: 1300)
        #expect(try await h.timeline(types: ["call.dialed", "call.answered", "call.connected", "call.terminated"]) == [
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 500, type: "call.dialed", detail: "g1-2"),
            L(ms: 1000, type: "call.dialed", detail: "g1-3"),
            L(ms: 1200, type: "call.answered", detail: "g1-1 human"),
            L(ms: 1200, type: "call.connected", detail: "g1-1"),
            L(ms: 1200, type: "call.terminated", detail: "g1-2 lost-race"),
            L(ms: 1200, type: "call.terminated", detail: "g1-3 lost-race"),
        ])
        // The carrier was told: only the winner is still up.
        #expect(h.carrier.liveCalls() == [CallReference(batchId: "g1", callId: "g1-1")])
    }

    @Test func callsNotYetPlacedWhenSomeoneAnswersAreNeverPlaced() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 300, answer: "human", talkMs: 60_000), H.contact("c2", answer: "none"),
                     H.contact("c3", answer: "none")])
        try await h.run(until: 5000)
        #expect(try await h.timeline(types: ["call.dialed", "call.connected", "call.terminated"]) == [
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 300, type: "call.connected", detail: "g1-1"),
            L(ms: 300, type: "call.terminated", detail: "g1-2 lost-race"),
            L(ms: 300, type: "call.terminated", detail: "g1-3 lost-race"),
        ])
    }

    @Test func twoPeopleAnsweringAtOnceGiveOneWinnerAndOneAbandonedCall() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 1500, answer: "human", talkMs: 60_000),
                     H.contact("c2", ringMs: 1000, answer: "human"), H.contact("c3", answer: "none")])
        try await h.run(until: 20_000)  // the abandoned person hears the safe-harbor message, then is hung up
        #expect(try await h.timeline(types: ["call.answered", "call.connected", "call.terminated"]) == [
            L(ms: 1500, type: "call.answered", detail: "g1-1 human"),
            L(ms: 1500, type: "call.connected", detail: "g1-1"),
            L(ms: 1500, type: "call.answered", detail: "g1-2 human"),
            L(ms: 1500, type: "call.terminated", detail: "g1-2 abandoned"),
            L(ms: 1500, type: "call.terminated", detail: "g1-3 lost-race"),
        ])
        #expect(h.engine.state.queues["q"]?.abandonedCalls == 1)
        #expect(h.carrier.liveCalls() == [CallReference(batchId: "g1", callId: "g1-1")])
    }

    @Test func machinesEndAsVoicemailFailuresAsFailedAndUnansweredCallsAsNoAnswer() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 800, answer: "machine"), H.contact("c2", fail: "invalid-number"),
                     H.contact("c3", answer: "none")], maxAttempts: 1)
        try await h.run(until: 40_000)
        #expect(try await h.timeline(types: ["call.answered", "call.voicemail", "call.failed", "call.no-answer", "batch.completed"]) == [
            L(ms: 800, type: "call.answered", detail: "g1-1 machine"),
            L(ms: 800, type: "call.voicemail", detail: "g1-1"),
            L(ms: 800, type: "call.failed", detail: "g1-2 invalid-number"),
            L(ms: 31_000, type: "call.no-answer", detail: "g1-3 timeout"),
            L(ms: 31_000, type: "batch.completed", detail: "no-answer"),
        ])
    }

    @Test func humanOnlyHangsUpUnknownAnswers() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 700, answer: "unknown"), H.contact("c2", ringMs: 2000, answer: "human", talkMs: 9000)],
                    name: "VIP accounts")
        try await h.run(until: 3000)
        #expect(try await h.timeline(types: ["call.dialed", "call.answered", "call.terminated", "call.connected"]) == [
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 700, type: "call.answered", detail: "g1-1 unknown"),
            L(ms: 700, type: "call.terminated", detail: "g1-1 amd-policy"),
            L(ms: 800, type: "call.dialed", detail: "g1-2"),  // conservative: 800 ms stagger
            L(ms: 2800, type: "call.answered", detail: "g1-2 human"),
            L(ms: 2800, type: "call.connected", detail: "g1-2"),
        ])
    }

    @Test func afterAConversationTheNextBatchIsDialledAtOnceAfterNoAnswerAfterTheCooldown() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 1000, answer: "human", talkMs: 20_000), H.contact("c2", fail: "busy-signal"),
                     H.contact("c3", fail: "invalid-number"), H.contact("c4", ringMs: 100, fail: "invalid-number")],
                    mode: .single, settings: SessionSettings(cooldownMs: 3000, wrapUpMs: 0), maxAttempts: 1)
        try await h.run(until: 60_000)
        #expect(try await h.timeline(types: ["batch.started", "call.completed", "batch.completed"]) == [
            L(ms: 0, type: "batch.started"),
            L(ms: 21_000, type: "call.completed", detail: "g1-1 contact"),  // the contact hangs up after 20 s
            L(ms: 21_000, type: "batch.completed", detail: "connected"),
            L(ms: 21_000, type: "batch.started"),  // at once
            L(ms: 21_300, type: "batch.completed", detail: "no-answer"),
            L(ms: 24_300, type: "batch.started"),  // after the 3 s cooldown
            L(ms: 24_600, type: "batch.completed", detail: "no-answer"),
            L(ms: 27_600, type: "batch.started"),
            L(ms: 27_700, type: "batch.completed", detail: "no-answer"),
        ])
    }

    @Test func theAgentsHangUpEndsTheCallAndDialsTheNextBatch() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 1000, answer: "human", talkMs: 600_000), H.contact("c2", answer: "none")],
                    mode: .single)
        h.at(5000, .hangUp)
        try await h.run(until: 6000)
        #expect(try await h.timeline(types: ["call.connected", "call.completed", "batch.completed", "call.dialed"]) == [
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 1000, type: "call.connected", detail: "g1-1"),
            L(ms: 5000, type: "call.completed", detail: "g1-1 agent"),
            L(ms: 5000, type: "batch.completed", detail: "connected"),
            L(ms: 5000, type: "call.dialed", detail: "g2-1"),
        ])
        #expect(!h.carrier.liveCalls().contains(CallReference(batchId: "g1", callId: "g1-1")))
    }

    // Changed (issue 8): the cancel paused the queue; it now pauses the agent's session.
    @Test func cancelEndsTheBatchPausesTheSessionAndResumeDialsTheSameContactsAgain() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", answer: "none"), H.contact("c2", answer: "none"), H.contact("c3", answer: "none"),
                     H.contact("c4", answer: "none")])
        h.at(700, .cancel)
        h.at(10_000, .resume)
        try await h.run(until: 10_500)
        #expect(try await h.timeline(types: ["call.dialed", "call.terminated", "batch.cancelled", "session.paused",
                                             "session.resumed", "batch.started"]) == [
            L(ms: 0, type: "batch.started"),
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 500, type: "call.dialed", detail: "g1-2"),
            L(ms: 700, type: "call.terminated", detail: "g1-1 cancelled"),
            L(ms: 700, type: "call.terminated", detail: "g1-2 cancelled"),
            L(ms: 700, type: "call.terminated", detail: "g1-3 cancelled"),
            L(ms: 700, type: "batch.cancelled", detail: "requested"),
            L(ms: 700, type: "session.paused", detail: "batch-cancelled"),
            L(ms: 10_000, type: "session.resumed"),
            L(ms: 10_000, type: "batch.started"),
            L(ms: 10_000, type: "call.dialed", detail: "g2-1"),
            L(ms: 10_500, type: "call.dialed", detail: "g2-2"),
        ])
        // The cancelled contacts went back to pending and are the ones dialled again; nothing rang on.
        #expect(h.engine.state.batches["g2"]?.calls.map(\.contactId) == ["c1", "c2", "c3"])
        #expect(h.carrier.liveCalls().allSatisfy { $0.batchId == "g2" })
    }

    @Test func aPauseAndResumeDuringTheCooldownDoNotSkipItAndStaleTimersDoNothing() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        // Every call fails at once: each batch ends 100 ms after it starts, then the 2 s cooldown.
        h.workQueue((1...9).map { H.contact("c\($0)", ringMs: 100, fail: "congestion") }, mode: .single)
        h.at(300, .pause)
        h.at(600, .resume)
        try await h.run(until: 5000)
        #expect(try await h.timeline(types: ["batch.started", "batch.completed", "session.paused", "session.resumed"]) == [
            L(ms: 0, type: "batch.started"),
            L(ms: 100, type: "batch.completed", detail: "no-answer"),
            L(ms: 300, type: "session.paused", detail: "requested"),
            L(ms: 600, type: "session.resumed"),
            // The resume waits out the cooldown from 100 ms; the cooldown's own timer finds the batch
            // already started and does nothing: one batch at 2 100 ms, not two.
            L(ms: 2100, type: "batch.started"),
            L(ms: 2200, type: "batch.completed", detail: "no-answer"),
            L(ms: 4200, type: "batch.started"),
            L(ms: 4300, type: "batch.completed", detail: "no-answer"),
        ])
    }

    @Test func aPauseStopsTheStaggerAndTheBatchEndsWithThePlacedCalls() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 900, fail: "busy-here"), H.contact("c2", answer: "none"),
                     H.contact("c3", answer: "none"), H.contact("c4", answer: "none")])
        h.at(600, .pause)
        try await h.run(until: 60_000)
        // The third call is never placed; the two placed ones end on their own; no new batch while paused.
        #expect(try await h.timeline(types: ["call.dialed", "call.terminated", "call.failed", "call.no-answer",
                                             "batch.completed", "batch.started"]) == [
            L(ms: 0, type: "batch.started"),
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 500, type: "call.dialed", detail: "g1-2"),
            L(ms: 600, type: "call.terminated", detail: "g1-3 cancelled"),
            L(ms: 900, type: "call.failed", detail: "g1-1 busy-here"),
            L(ms: 30_500, type: "call.no-answer", detail: "g1-2 timeout"),
            L(ms: 30_500, type: "batch.completed", detail: "no-answer"),
        ])
        #expect(h.engine.state.sessions["s"]?.state == .paused)
    }

    @Test func aFailedContactIsDialledAgainOnlyAfterTheRetryDelayAndTheEngineWakesForIt() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 100, fail: "congestion")], mode: .single, maxAttempts: 2, retryDelayMs: 10_000)
        try await h.run(until: 60_000)
        #expect(try await h.timeline(types: ["call.dialed", "call.failed", "queue.completed"]) == [
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 100, type: "call.failed", detail: "g1-1 congestion"),
            // The cooldown ends at 2 100 ms, but c1 waits for its retry time: the queue stays open and the
            // engine looks again when it comes.
            L(ms: 10_100, type: "call.dialed", detail: "g3-1"),  // (the refused look at 2 100 ms took the name g2)
            L(ms: 10_200, type: "call.failed", detail: "g3-1 congestion"),
            L(ms: 12_200, type: "queue.completed"),
        ])
    }

    @Test func aRequiredDispositionHoldsTheNextBatchUntilTheAgentRecordsIt() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 1000, answer: "human", talkMs: 4000), H.contact("c2", answer: "none")],
                    mode: .single, settings: SessionSettings(requireDisposition: true))
        h.at(20_000, .recordDisposition(sessionId: "s", callId: "g1-1", outcome: .notInterested, notes: nil, callbackAt: nil))
        try await h.run(until: 21_000)
        #expect(try await h.timeline(types: ["call.completed", "batch.completed", "call.dispositioned", "batch.started"]) == [
            L(ms: 0, type: "batch.started"),
            L(ms: 5000, type: "call.completed", detail: "g1-1 contact"),
            L(ms: 5000, type: "batch.completed", detail: "connected"),
            // Nothing dialled during the wrap-up; the disposition starts the next batch.
            L(ms: 20_000, type: "call.dispositioned", detail: "g1-1"),
            L(ms: 20_000, type: "batch.started"),
        ])
    }

    @Test func aTimedWrapUpStartsTheNextBatchWhenItRunsOut() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 1000, answer: "human", talkMs: 4000), H.contact("c2", answer: "none")],
                    mode: .single, settings: SessionSettings(wrapUpMs: 8000))
        try await h.run(until: 14_000)
        #expect(try await h.timeline(types: ["batch.completed", "batch.started"]).map(\.ms) == [0, 5000, 13_000])
    }

    /// Issue 21: with the product's defaults the next batch dialled in the millisecond the call
    /// ended, so no disposition was ever asked for. Now each conversation is followed by the default
    /// wrap-up (15 s); a disposition ends it early; the session says what its next batch waits for.
    @Test func withTheDefaultsEachConversationGetsAWrapUpThatADispositionEndsEarly() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 1000, answer: "human", talkMs: 4000), H.contact("c2", ringMs: 1000, answer: "human", talkMs: 4000),
                     H.contact("c3", answer: "none")],
                    mode: .single, settings: .default)
        h.at(28_000, .recordDisposition(sessionId: "s", callId: "g2-1", outcome: .interested, notes: nil, callbackAt: nil))
        try await h.run(until: 7000)
        let waiting = try #require(h.engine.state.sessions["s"]?.nextBatch)
        #expect(waiting.reason == .wrapUp && waiting.at == H.start.adding(milliseconds: 20_000))
        try await h.run(until: 30_000)
        #expect(try await h.timeline(types: ["batch.completed", "call.dispositioned", "batch.started"]) == [
            L(ms: 0, type: "batch.started"),
            L(ms: 5000, type: "batch.completed", detail: "connected"),
            L(ms: 20_000, type: "batch.started"),  // the wrap-up ran out: 15 s after the call
            L(ms: 25_000, type: "batch.completed", detail: "connected"),
            L(ms: 28_000, type: "call.dispositioned", detail: "g2-1"),
            L(ms: 28_000, type: "batch.started"),  // recorded 3 s in: at once
        ])
    }

    @Test func modeAndSettingsChangesTakeEffectFromTheNextBatch() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue((1...8).map { H.contact("c\($0)", ringMs: 100, fail: "congestion") })
        h.at(50, .setMode(.single))
        h.at(60, .setSettings(SettingsPatch(cooldownMs: 1000)))
        try await h.run(until: 3000)
        let state = h.engine.state
        #expect(state.batches["g1"]?.calls.count == 3)  // already started in parallel
        #expect(state.batches["g2"]?.calls.count == 1)
        // Batch 1 ends at 1 100 (last failure); the new 1 s cooldown applies: batch 2 at 2 100, batch 3 at 3 200.
        #expect(try await h.timeline(types: ["batch.started"]).map(\.ms) == [0, 2100])
    }

    @Test func theQueueCompletesOnceEveryContactHasUsedItsAttempts() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 100, fail: "congestion"), H.contact("c2", ringMs: 100, fail: "congestion")],
                    settings: SessionSettings(cooldownMs: 1000, wrapUpMs: 0), maxAttempts: 2)
        try await h.run()
        #expect(try await h.timeline(types: ["call.dialed", "queue.completed", "session.ended"]) == [
            L(ms: 0, type: "call.dialed", detail: "g1-1"),
            L(ms: 500, type: "call.dialed", detail: "g1-2"),
            L(ms: 1600, type: "call.dialed", detail: "g2-1"),
            L(ms: 2100, type: "call.dialed", detail: "g2-2"),
            L(ms: 3200, type: "queue.completed"),
            L(ms: 3200, type: "session.ended", detail: "queue-completed"),
        ])
        #expect(h.engine.state.queues["q"]?.contacts["c1"]?.attempts == 2)
    }

    @Test func theProfileIsChosenAgainForEveryBatch() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue((1...60).map { H.contact("c\($0)", ringMs: 50, fail: "congestion") },
                    settings: SessionSettings(cooldownMs: 0, wrapUpMs: 0), maxAttempts: 1)
        try await h.run()
        let batches = h.engine.state.batches.values.sorted { $0.startedAt < $1.startedAt }
        let profiles = batches.map(\.profile)
        // Nobody answers: once 25 calls were dialled the queue is judged poor and worked aggressively.
        #expect(profiles.prefix(9).allSatisfy { $0 == .balanced })
        #expect(profiles.dropFirst(9).allSatisfy { $0 == .aggressive })
        #expect(batches.dropFirst(9).first?.calls.count == 5)
        #expect(h.engine.state.queues["q"]?.state == .completed)
    }

    @Test func twoAgentsOnOneQueueNeverDialTheSameContact() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue((1...7).map { H.contact("c\($0)", ringMs: 200, fail: "congestion") }, maxAttempts: 1)
        h.at(0, .startSession(sessionId: "s2", agentId: "agent-2", queueId: "q", mode: .parallel, profile: .auto,
                              settings: .default, callerIds: H.callerIds))
        try await h.run()
        let dialed = try await h.timeline(types: ["call.dialed"])
        #expect(dialed.count == 7)
        let contacts = h.engine.state.batches.values.flatMap { $0.calls.filter(\.isPlaced).map(\.contactId) }
        #expect(Set(contacts).count == 7)
        #expect(h.engine.state.queues["q"]?.state == .completed)
    }
}
