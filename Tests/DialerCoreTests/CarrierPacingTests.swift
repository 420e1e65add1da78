import DialerCore
import SwitchboardTestSupport
import Testing

/// A real carrier's calls-per-second limit reaches the batch's plan: its lines are never staggered
/// closer than the account allows, so the recorded offsets are when they really ring.
@Suite("The carrier's pace")
struct CarrierPacingTests {
    @Test func aBatchIsNeverStaggeredCloserThanTheCarriersCallsPerSecondAllow() throws {
        var given = Fixture.workingQueue()
        let events = try given.when(.startBatch(sessionId: "s", batchId: "g1", minimumStaggerMs: 1050))
        guard case .batchStarted(let started) = events.first(where: { if case .batchStarted = $0 { true } else { false } }) else {
            Issue.record("no batch started: \(events)")
            return
        }
        #expect(started.staggerMs == 1050 && started.calls.map(\.offsetMs) == [0, 1050, 2100])
        var roomy = Fixture.workingQueue()
        let wide = try roomy.when(.startBatch(sessionId: "s", batchId: "g1", minimumStaggerMs: 10))
        #expect(wide.contains { if case .batchStarted(let e) = $0 { e.staggerMs == 500 } else { false } })
    }
}
