import DialerCore
import DialerEngine
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardTestSupport
import Testing
import DialerSimulation

/// Abandonment, safe harbor and the 3 % guard through the real engine, store and simulated carrier,
/// on virtual time.
@Suite("Engine: abandonment, safe harbor, the 3 % guard", .serialized, .timeLimit(.minutes(1)))
struct AbandonmentEngineTests {
    typealias H = EngineHarness
    static let message = "This is Acme calling about your enquiry. Call us back at 512 555 0100. Press 9 to stop our calls."
    static let withMessage = QueueCompliance(safeHarborMessage: message, abandonWarnPercent: QueueCompliance.defaultWarn,
                                             abandonCapPercent: QueueCompliance.legalCap)

    /// Our hang-up takes 200 ms to reach the network: c2 picks up 100 ms after the winner, while it is
    /// on its way. The carrier reports that answer; the person is abandoned and hears the message
    /// within 2 s (request 200 ms + start 300 ms), then the carrier hangs up.
    @Test func aPersonWhoPicksUpWhileOurHangUpTravelsHearsTheMessage() async throws {
        let h = try await H(carrierLatencyMs: 200)
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 800, answer: "human", talkMs: 60_000),
                     H.contact("c2", ringMs: 400, answer: "human"), H.contact("c3", answer: "none")],
                    compliance: Self.withMessage)
        try await h.run(until: 20_000)
        let speaking = SimulatedCarrier<VirtualClock>.speakingMs(Self.message)
        #expect(try await h.timeline(types: ["call.connected", "call.terminated", "call.abandoned",
                                             "call.safe-harbor-started", "call.safe-harbor-ended"]) == [
            L(ms: 800, type: "call.connected", detail: "g1-1"),
            L(ms: 800, type: "call.terminated", detail: "g1-2 lost-race"),
            L(ms: 800, type: "call.terminated", detail: "g1-3 lost-race"),
            L(ms: 900, type: "call.abandoned", detail: "g1-2 human raced-winner"),
            L(ms: 1400, type: "call.safe-harbor-started", detail: "g1-2"),
            L(ms: 1400 + speaking, type: "call.safe-harbor-ended", detail: "g1-2"),
        ])
        let call = try #require(h.engine.state.batches["g1"]?.call("g1-2"))
        #expect(call.safeHarbor == .requested && call.abandonCause == .racedWinner)
        #expect(h.carrier.liveCalls() == [CallReference(batchId: "g1", callId: "g1-1")], "only the winner is still up")
        #expect(h.engine.state.queues["q"]?.guardLevel == .capped, "1 abandoned of 2 live answers")
    }

    /// A Cancel whose request is still travelling when c1 picks up: abandoned; with no message set
    /// anywhere (so the batch is one line), hung up in silence and recorded as `no-safe-harbor`.
    @Test func aPersonWhoPicksUpWhileOurCancelTravelsIsHungUpWithoutAMessageWhenThereIsNone() async throws {
        let h = try await H(carrierLatencyMs: 200)
        defer { h.cleanUp() }
        h.workQueue([H.contact("c1", ringMs: 700, answer: "human", talkMs: 60_000), H.contact("c2", answer: "none")],
                    compliance: .standard)
        h.at(600, .cancel)
        try await h.run(until: 5000)
        #expect(try await h.timeline(types: ["batch.cancelled", "call.abandoned", "call.safe-harbor-started"]) == [
            L(ms: 600, type: "batch.cancelled", detail: "requested"),
            L(ms: 700, type: "call.abandoned", detail: "g1-1 human raced-cancel"),
        ])
        #expect(h.engine.state.batches["g1"]?.call("g1-1")?.safeHarbor == .noSafeHarbor)
        #expect(h.engine.state.queues["q"]?.abandonment.withoutSafeHarbor == 1)
        #expect(h.carrier.liveCalls().isEmpty)
        #expect(h.engine.state.queues["q"]?.contacts["c1"]?.isSettled == true, "never rung again")
    }

    /// A floor that abandons too often. Seventy batches each connect their first contact (the other two
    /// are cut short before they answer and come back later); those come back three at a time and all
    /// answer at once — two abandoned of 73 live answers is 2.74 %, at the warning: two lines. Two more
    /// answer together: 3 of 75 is 4 %, past the cap: one line. One at a time they connect until
    /// 3 of 121 is under 2.5 %: three lines again.
    @Test func aFloorThatAbandonsTooOftenDropsToTwoLinesThenOneThenRecovers() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        var contacts: [NewContact] = []
        for index in 0..<70 {
            contacts.append(H.contact("quick-\(index)", "+1512555\(2000 + index)", ringMs: 800, answer: "human", talkMs: 1000))
            for slow in 0..<2 {
                contacts.append(H.contact("slow-\(index)-\(slow)", "+1713555\(2000 + index * 2 + slow)", ringMs: 5000,
                                          answer: "human", talkMs: 1000))
            }
        }
        h.workQueue(contacts, settings: SessionSettings.backToBack.applying(SettingsPatch(staggerMs: 0)), maxAttempts: 1)
        try await h.run(until: 3_600_000)
        let state = h.engine.state
        // The guard's changes, in order, with the figures each was decided on.
        var changes: [AbandonmentGuardChanged] = []
        var linesAfter: [AbandonmentGuardLevel: [Int]] = [:]
        var level = AbandonmentGuardLevel.normal
        for try await recorded in h.store.events() {
            switch try EventCodec.decode(recorded) {
            case .abandonmentGuardChanged(let e):
                changes.append(e)
                level = e.level
            case .batchStarted(let e):
                linesAfter[level, default: []].append(e.calls.count)
            default:
                break
            }
        }
        #expect(changes.prefix(3).map(\.level) == [.warning, .capped, .normal])
        #expect(changes.prefix(3).map { "\($0.abandoned)/\($0.liveAnswers)" } == ["2/73", "3/75", "3/121"])
        #expect(changes.first?.ratePercent == Percent(basisPoints: 274) && changes.first?.maxLines == 2)
        #expect(linesAfter[.warning]?.allSatisfy { $0 <= 2 } == true && linesAfter[.warning]?.isEmpty == false)
        #expect(linesAfter[.capped]?.allSatisfy { $0 == 1 } == true && linesAfter[.capped]?.count ?? 0 >= 46)
        #expect(linesAfter[.normal]?.contains(3) == true)
        // Under the cap no one could be abandoned: every abandonment happened at two or three lines.
        let queue = try #require(state.queues["q"])
        #expect(queue.abandonment.lifetime.abandoned >= 3)
        let capped = state.batches.values.filter { $0.fanout == 1 }
        #expect(!capped.isEmpty && capped.allSatisfy { group in group.calls.allSatisfy { !$0.abandoned } })
    }

    /// Issue 19, on the engine's clock: a queue with no message anywhere dials its contacts one at a time;
    /// the organisation's message set at 5 s lifts that at the next batch.
    @Test func withoutASafeHarborMessageTheEngineDialsOneLineUntilOneIsSet() async throws {
        let h = try await H()
        defer { h.cleanUp() }
        h.workQueue((1...9).map { H.contact("c\($0)", ringMs: 1000, answer: "machine") }, compliance: .standard)
        h.at(5000, .setOrganisationSafeHarbor(message: Self.message))
        try await h.run(until: 60_000)
        var batches: [(ms: Int64, lines: Int, limitedBy: LineLimit?)] = []
        for try await recorded in h.store.events() {
            if case .batchStarted(let e) = try EventCodec.decode(recorded) {
                batches.append((recorded.time.milliseconds(since: H.start), e.calls.count, e.linesLimitedBy))
            }
        }
        let before = batches.filter { $0.ms < 5000 }, after = batches.filter { $0.ms >= 5000 }
        #expect(!before.isEmpty && before.allSatisfy { $0.lines == 1 && $0.limitedBy == .noSafeHarborMessage })
        #expect(after.first?.lines == 3 && after.first?.limitedBy == nil)
        #expect(batches.reduce(0) { $0 + $1.lines } == 9, "every contact dialled once")
    }
}
