import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

@Suite("Carrier races and silence", .serialized, .timeLimit(.minutes(1)))
struct CarrierRaceTests {
    @Test func aCancelThatRacesWithAnAnswerLeavesNoCallUp() async throws {
        let h = try await EngineHarness()
        defer { h.cleanUp() }
        h.workQueue([EngineHarness.contact("c1", ringMs: 700, answer: "human", talkMs: 60_000),
                     EngineHarness.contact("c2", answer: "none")])
        // The agent cancels at the very instant c1 picks up; the cancel is recorded first, the carrier
        // still reports the answer (it was on its way), and the engine hangs that call up.
        // Changed (issue 12): that person was abandoned — recorded, with the cause.
        h.at(700, .cancel)
        try await h.run(until: 5000)
        #expect(try await h.timeline(types: ["call.answered", "call.connected", "call.terminated", "batch.cancelled",
                                             "call.abandoned"]) == [
            L(ms: 700, type: "call.terminated", detail: "g1-1 cancelled"),
            L(ms: 700, type: "call.terminated", detail: "g1-2 cancelled"),
            L(ms: 700, type: "batch.cancelled", detail: "requested"),
            L(ms: 700, type: "call.abandoned", detail: "g1-1 human raced-cancel"),
        ])
        #expect(h.carrier.liveCalls().isEmpty)
    }

    @Test func theEngineEndsACallTheCarrierNeverReportsOn() async throws {
        let carrier = SilentCarrier()
        let h = try await EngineHarness(seed: 3, carrier: { _ in carrier })
        defer { h.cleanUp() }
        h.workQueue([NewContact(contactId: "c1", phone: PhoneNumber("+15125550001")!)], mode: .single, maxAttempts: 1)
        try await h.run(until: 60_000)
        let engine = h.engine
        let call = try #require(engine.state.batches["g1"]?.call("g1-1"))
        // Ring timeout (30 s) plus the engine's guard (5 s): recorded as no-answer, and the carrier told to cancel.
        #expect(call.status == .completed && call.outcome == .noAnswer)
        #expect(call.endedAt == EngineHarness.start.adding(milliseconds: 35_000))
        #expect(carrier.cancelled == [CallReference(batchId: "g1", callId: "g1-1")])
    }
}

/// A carrier that takes calls and never reports anything: the only way to test the engine's guard.
final class SilentCarrier: CarrierAdapter {
    private let state = Mutex<[CallReference]>([])
    var cancelled: [CallReference] { state.withLock { $0 } }
    func connect(_ sink: any CarrierEventSink) {}
    func placeCall(_ request: PlaceCallRequest) {}
    func cancel(_ reference: CallReference) { state.withLock { $0.append(reference) } }
    func hangUp(_ reference: CallReference) {}
    func bridge(_ reference: CallReference, to agent: AgentID) {}
    func playSafeHarbor(_ reference: CallReference, message: String) {}
    func liveCalls() -> Set<CallReference> { [] }
}
