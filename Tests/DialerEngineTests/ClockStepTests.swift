import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardBasics
import SwitchboardTestSupport
import Testing
import DialerSimulation

/// The real clock when the wall clock steps (issue 20, D5 of the reliability probe): a step back of an
/// hour froze dialling for good, a step forward fired every pending timer at once (four abandoned
/// calls), and the log's times went backwards. The engine runs on `SystemClock` with the system's
/// monotonic clock and a wall clock this test steps.
@Suite("Wall-clock steps", .serialized, .timeLimit(.minutes(1)))
struct ClockStepTests {
    /// The wall clock, shifted by what the test says.
    final class SteppedWall: Sendable {
        let offsetMs = Mutex<Int64>(0)
        func read() -> Int64 { SystemClock.wallMilliseconds() + offsetMs.withLock { $0 } }
        func step(by ms: Int64) { offsetMs.withLock { $0 += ms } }
    }

    /// Each decided event with the monotonic instant it was decided at.
    final class Decided: Sendable {
        let events = Mutex<[(at: ContinuousClock.Instant, event: DialerEvent)]>([])
        func record(_ decided: [DialerEvent]) {
            let now = ContinuousClock.now
            events.withLock { $0 += decided.map { (now, $0) } }
        }
        func count(where wanted: (DialerEvent) -> Bool) -> Int { events.withLock { $0.filter { wanted($0.event) }.count } }
        var all: [(at: ContinuousClock.Instant, event: DialerEvent)] { events.withLock { $0 } }
    }

    static func isBatchStarted(_ event: DialerEvent) -> Bool { if case .batchStarted = event { true } else { false } }

    @Test func aStepBackNeitherFreezesDiallingNorSendsTheLogBackAndAStepForwardFiresNoTimerEarly() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { store.close() }
        let wall = SteppedWall()
        let real = SystemClock.Sources(wall: { wall.read() }, monotonic: { ContinuousClock.now })
        // Shifted to where the contacts (Austin) are inside their calling hours, whatever the hour.
        let clock = SystemClock(sources: real.shifted(byHours: Fixture.callingHoursShift(at: SystemClock(sources: real).now)))
        let engine = DialerEngine(store: store, clock: clock, carrier: SimulatedCarrier(clock: clock, seed: 5))
        let decided = Decided()
        engine.onEvents = { events, _ in decided.record(events) }
        try await engine.start()
        // Calls that ring 100 ms and come back busy, batch after batch, 300 ms apart: every moment
        // has a timer pending (a ring or a cooldown).
        let contacts = (0..<40).map { index in
            NewContact(contactId: ContactID("c\(index)"), phone: PhoneNumber("+1512555\(3000 + index)")!,
                       script: ["ringMs": 100, "fail": "busy"])
        }
        clock.schedule(.command(.createQueue(queueId: "q", name: "Steps", segment: nil, maxAttempts: 10, contacts: contacts,
                                             retryDelayMs: 0, compliance: Fixture.compliance), reply: nil), at: clock.now)
        clock.schedule(.command(.startSession(sessionId: "s", agentId: "agent-1", queueId: "q", mode: .parallel, profile: .auto,
                                              settings: SessionSettings(maxLines: 2, staggerMs: 0, cooldownMs: 300, wrapUpMs: 0),
                                              callerIds: Fixture.callerIds), reply: nil), at: clock.now)
        let running = Task { try await engine.run() }
        func batches() -> Int { decided.count(where: Self.isBatchStarted) }
        func waitForBatches(_ count: Int) async throws {
            for _ in 0..<400 where batches() < count { try await Task.sleep(for: .milliseconds(50)) }
            #expect(batches() >= count, "dialling stopped at \(batches()) batches")
        }

        try await waitForBatches(3)
        wall.step(by: -3_600_000)  // an hour back
        try await waitForBatches(batches() + 3)
        #expect(clock.wallClockBehindMs > 3_500_000, "the step is reported")
        let stepped = ContinuousClock.now
        wall.step(by: 7_200_000)  // two hours forward: an hour ahead of true time
        try await waitForBatches(batches() + 3)
        clock.stop()
        try await running.value

        // No timer fired early: after each batch's calls failed, the next batch waited its whole
        // cooldown, and every call rang its whole 100 ms — on the monotonic clock, across both steps.
        let all = decided.all
        var lastEnd: ContinuousClock.Instant?
        var dialed: [CallID: ContinuousClock.Instant] = [:]
        for (at, event) in all {
            switch event {
            case .callDialed(let e): dialed[e.callId] = at
            case .callFailed(let e):
                if let start = dialed[e.callId] { #expect(at - start >= .milliseconds(95), "\(e.callId) rang \(at - start)") }
            case .batchCompleted: lastEnd = at
            case .batchStarted(let e):
                if let end = lastEnd { #expect(at - end >= .milliseconds(295), "\(e.batchId) after \(at - end)") }
            default: break
            }
        }
        #expect(all.contains { $0.at > stepped && Self.isBatchStarted($0.event) })
        // The log's times never go backwards.
        var previous = Timestamp(millisecondsSinceEpoch: 0)
        for try await event in store.events() {
            #expect(event.time >= previous, "position \(event.position) is stamped before its predecessor")
            previous = event.time
        }
    }

    /// A restart after the clock stepped back (or with a store from a machine whose clock ran ahead)
    /// stamps on from the log's last event; a shift (the demo's, the tests') moves the wall clock only.
    @Test func aRestartNeverStampsBeforeTheLogsLastEventAndAShiftMovesTheWallClockByWholeHours() {
        let wall = SteppedWall()
        let real = SystemClock.Sources(wall: { wall.read() }, monotonic: { ContinuousClock.now })
        let before = SystemClock(sources: real).now
        let shifted = SystemClock(sources: real.shifted(byHours: -5))
        #expect(shifted.shiftHours == -5)
        let behind = before.milliseconds(since: shifted.now)
        #expect(behind > 5 * 3_600_000 - 60_000 && behind <= 5 * 3_600_000, "five hours behind, less the time between the readings")
        #expect(shifted.wallClockBehindMs == 0, "a shift is not a step: the shifted clock is its own wall clock")

        wall.step(by: -3_600_000)
        let restarted = SystemClock(sources: real, notBefore: before)
        #expect(restarted.now >= before)
        #expect(restarted.wallClockBehindMs > 3_500_000)
        #expect(SystemClock(sources: real).now < before, "without the log's last time it would stamp an hour back")
    }
}
