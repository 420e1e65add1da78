import DialerCore
import DialerEngine
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

/// A crash at any point of a batch, then a restart on the same log: nothing is dialled twice, the
/// carrier's calls and the log agree again, and the floor goes on.
@Suite("Restart safety", .serialized, .timeLimit(.minutes(1)))
struct RestartSafetyTests {
    @Test func aRestartHangsUpCallsTheLogDoesNotKnowAndGuardsTheOnesItDoes() async throws {
        let folder = try TemporaryFolder()
        let carrier = LedgerCarrier()  // the carrier lives on while our process restarts
        let first = try await EngineHarness(directory: folder.url, carrier: { _ in carrier })
        first.workQueue([EngineHarness.contact("c1"), EngineHarness.contact("c2"), EngineHarness.contact("c3"),
                         EngineHarness.contact("c4")])
        try await first.run(until: 1200)
        _ = first.crash()
        let ghost = CallReference(batchId: "ghost", callId: "ghost-1")
        carrier.adopt(ghost)

        let second = try await EngineHarness(directory: folder.url, startAt: 10_000, carrier: { _ in carrier })
        defer { second.cleanUp() }
        try await second.run(until: 40_000)
        #expect(carrier.hungUp.first == ghost, "the call the log does not know is hung up at once")
        // The surviving calls keep their ring guards (ring timeout 30 s + 5 s after each was placed).
        #expect(try await second.timeline(types: ["call.no-answer", "batch.completed", "batch.started"]) == [
            L(ms: 0, type: "batch.started"),
            L(ms: 35_000, type: "call.no-answer", detail: "g1-1 timeout"),
            L(ms: 35_500, type: "call.no-answer", detail: "g1-2 timeout"),
            L(ms: 36_000, type: "call.no-answer", detail: "g1-3 timeout"),
            L(ms: 36_000, type: "batch.completed", detail: "no-answer"),
            L(ms: 38_000, type: "batch.started"),  // after the cooldown
        ])
        // The guards cancelled the calls the carrier still had.
        #expect(carrier.hungUp == [ghost, CallReference(batchId: "g1", callId: "g1-1"),
                                   CallReference(batchId: "g1", callId: "g1-2"), CallReference(batchId: "g1", callId: "g1-3")])
    }

    @Test func aSessionBetweenBatchesKeepsItsCooldownAcrossARestart() async throws {
        let folder = try TemporaryFolder()
        let first = try await EngineHarness(directory: folder.url)
        first.workQueue((1...6).map { EngineHarness.contact("c\($0)", ringMs: 100, fail: "congestion") }, mode: .single,
                        settings: SessionSettings(cooldownMs: 5000, wrapUpMs: 0))
        try await first.run(until: 1000)  // the first batch ended at 100 ms; the next is due at 5 100 ms
        _ = first.crash()
        let second = try await EngineHarness(directory: folder.url, startAt: 2000)
        defer { second.cleanUp() }
        try await second.run(until: 6000)
        #expect(try await second.timeline(types: ["batch.started"]).map(\.ms) == [0, 5100])
    }

    /// The process dies right after each kind of step is durable; the restarted engine (on a carrier
    /// that lost every call, the harder case) finishes the queue.
    @Test(arguments: ["batch.started", "call.dialed", "call.ringing", "call.answered", "call.connected",
                      "call.terminated", "call.completed", "batch.completed"])
    func aCrashAfterAnyStepNeverDialsAnyoneTwice(step: String) async throws {
        let folder = try TemporaryFolder()
        let placements = PlacementLog()
        let real = try SQLiteEventStore(path: folder.file("log.sqlite"))
        let crashed = Once()
        let dying = FaultyStore(real) { writes in
            writes.contains { $0.events.contains { $0.type == step } } && crashed.first() ? .failAfterWriting : .pass
        }
        let first = try await EngineHarness(store: dying, directory: folder.url, placements: placements)
        first.workQueue([EngineHarness.contact("c1", ringMs: 1200, answer: "human", talkMs: 3000),
                         EngineHarness.contact("c2", ringMs: 800, answer: "none"),
                         EngineHarness.contact("c3", ringMs: 300, answer: "machine"),
                         EngineHarness.contact("c4", ringMs: 200, fail: "congestion"),
                         EngineHarness.contact("c5", ringMs: 900, answer: "human", talkMs: 1000)],
                        maxAttempts: 2)
        await #expect(throws: EventStoreError.self) { try await first.run(until: 600_000) }
        real.close()

        let second = try await EngineHarness(directory: folder.url, startAt: 100_000, placements: placements)
        defer { second.cleanUp() }
        try await second.run(until: 700_000)
        #expect(try await second.store.verify().isIntact)
        let state = second.engine.state
        // Every call id was placed at most once, and only after its dial was in the log.
        let placed = placements.references
        #expect(Set(placed).count == placed.count)
        let logged = Set(state.batches.values.flatMap { group in
            group.calls.filter(\.isPlaced).map { CallReference(batchId: group.id, callId: $0.id).description }
        })
        #expect(Set(placed).isSubset(of: logged))
        // A contact was never in two calls at once, and every batch has ended.
        let calls = state.batches.values.flatMap { group in group.calls.filter(\.isPlaced) }
        for (_, byContact) in Dictionary(grouping: calls, by: \.contactId) {
            let ordered = byContact.sorted { ($0.dialedAt ?? .epoch) < ($1.dialedAt ?? .epoch) }
            for (earlier, later) in zip(ordered, ordered.dropFirst()) {
                #expect((earlier.endedAt ?? .epoch) <= (later.dialedAt ?? .epoch), "\(earlier.id) overlaps \(later.id)")
            }
        }
        #expect(state.batches.values.allSatisfy { $0.isEnded })
        #expect(state.queues["q"]?.contacts["c1"]?.outcome == .winner || state.queues["q"]?.contacts["c5"]?.outcome == .winner)
    }
}

/// True the first time only.
final class Once: Sendable {
    private let used = Mutex(false)
    func first() -> Bool { used.withLock { used in defer { used = true }; return !used } }
}

import Synchronization
