import DialerCore
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardTestSupport
import Testing
import SwitchboardBasics
import DialerSimulation

@Suite("Commands and projections over the real log", .timeLimit(.minutes(1)))
struct CommandHandlerTests {
    @Test func theDemoDayIsRecordedAndReplaysToTheSameState() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store, ids: SeededEventIDs(seed: 7))
        try await DemoScenario.run(handler)
        let written = await handler.state
        #expect(written.position == (try await temp.store.headPosition()))
        let replayed = try await DialerState.replay(temp.store)
        #expect(replayed == written)
        // Every event type of the product appears in the demo log.
        let types = Set(try await temp.store.readAll(after: 0, limit: 10_000).map(\.type))
        #expect(types == Set(EventType.allCases.map(\.rawValue)))
        #expect(try await temp.store.verify().isIntact)
    }

    @Test func aRefusedCommandLeavesTheLogUntouched() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        let head = try await temp.store.headPosition()
        await #expect(throws: DomainError.invalidSettings([SettingsViolation(field: "maxLines", message: "must be between 2 and 5, got 7")])) {
            try await handler.handle(.changeSettings(sessionId: "s1", patch: SettingsPatch(maxLines: 7)), at: DemoScenario.startAt)
        }
        await #expect(throws: DomainError.groupNotFound("nope")) {
            try await handler.handle(.cancelBatch(batchId: "nope"), at: DemoScenario.startAt)
        }
        // Terminating an ended group again is harmless: no new events.
        #expect(try await handler.handle(.cancelBatch(batchId: "g3"), at: DemoScenario.startAt).isEmpty)
        #expect(try await temp.store.headPosition() == head)
    }

    @Test func eventsCarryTheirSessionAsCorrelationIdAndTheirStream() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        for recorded in try await temp.store.readAll(after: 0, limit: 10_000) {
            if recorded.stream.hasPrefix("group-g1") || recorded.stream == "session-s1" {
                #expect(recorded.correlationId == "s1", "\(recorded.type) at \(recorded.position)")
            }
            if recorded.type == "queue.created" { #expect(recorded.correlationId == nil) }
        }
        let group = try await temp.store.readStream("group-g1", after: 0, limit: 100)
        #expect(group.first?.type == "batch.started")
        #expect(group.last?.type == "batch.completed")
    }

    @Test func aSecondWriterIsCaughtUpWithInsteadOfOverwritten() async throws {
        let temp = try TemporaryStore()
        let first = try await CommandHandler(store: temp.store)
        let second = try await CommandHandler(store: temp.store)
        let time = DemoScenario.startAt
        try await first.handle(.createQueue(queueId: "q", name: "Leads", segment: nil, maxAttempts: 3,
                                            contacts: [NewContact(contactId: "a", phone: PhoneNumber("+15125550001")!)]), at: time)
        // The second handler has not seen the queue: its append conflicts, it catches up and decides again.
        try await second.handle(.addContacts(queueId: "q", contacts: [NewContact(contactId: "b", phone: PhoneNumber("+15125550002")!)]), at: time)
        await #expect(throws: DomainError.queueAlreadyExists("q")) {
            try await second.handle(.createQueue(queueId: "q", name: "Again", segment: nil, maxAttempts: 3, contacts: []), at: time)
        }
        #expect(await second.state.queues["q"]?.contactOrder == ["a", "b"])
        try await first.catchUp()
        #expect(await first.state == second.state)
    }

    @Test func aRestartedHandlerContinuesFromTheLog() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await Traffic.run(handler, seed: 3, steps: 150)
        let before = await handler.state
        let reopened = try temp.reopen()
        defer { reopened.close() }
        let restarted = try await CommandHandler(store: reopened)
        #expect(await restarted.state == before)
    }

    @Test(arguments: 0..<8)
    func theLiveProjectionsEqualARebuildFromScratch(seed: Int) async throws {
        let temp = try TemporaryStore()
        let host = ProjectionHost(store: temp.store)
        try await host.start()
        let following = Task { await host.follow() }
        defer { following.cancel() }
        let handler = try await CommandHandler(store: temp.store)
        try await Traffic.run(handler, seed: UInt64(seed), steps: 250)
        let head = try await temp.store.headPosition()
        try await host.waitUntil(head)
        let incremental = await host.state
        let rebuilt = try await DialerState.replay(temp.store)
        #expect(incremental == rebuilt)
        #expect(incremental == (await handler.state))
        #expect(incremental.position == head)
    }

    @Test func theSupervisorOverviewListsEverySession() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store)
        try await DemoScenario.run(handler)
        let overview = SupervisorOverview(await handler.state)
        #expect(overview.rows.map(\.sessionId) == ["s1", "s2", "s3", "s4", "s5"])
        let s1 = try #require(overview.rows.first)
        #expect(s1.batches == 4 && s1.connects == 2 && s1.abandoned == 1 && s1.queueState == .active)
        #expect(overview.rows[1].sessionState == .ended && overview.rows[1].queueState == .stopped)
        #expect(overview.rows[2].queueState == .completed)
        #expect(overview.rows[3].sessionState == .ended && overview.queues.first { $0.id == "overnight" }?.waitingForHoursUntil != nil)
        // The agent on a real carrier: their phone dropped while the batch rang, so it ended unanswered.
        let s5 = await handler.state.sessions["s5"]
        #expect(s5?.agentLeg == .disconnected && s5?.state == .ended)
        #expect(await handler.state.batches["g9"]?.call("g9-1")?.carrierCallId == "CA0a5e0000000000000000000000000002")
        #expect(await handler.state.batches["g9"]?.status == .cancelled)
    }
}

@Suite struct EventIDTests {
    @Test func productIdsAreTimeOrderedVersion7UUIDs() {
        let ids = TimeOrderedEventIDs()
        let made = (0..<5000).map { _ in ids.next() }
        #expect(Set(made).count == made.count)
        let bytes = made.map { withUnsafeBytes(of: $0.uuid) { Array($0) } }
        for (earlier, later) in zip(bytes, bytes.dropFirst()) {
            #expect(earlier.lexicographicallyPrecedes(later), "ids must sort in the order they were made")
        }
        #expect(made.allSatisfy { $0.uuidString.dropFirst(14).first == "7" })  // version 7
        #expect(made.allSatisfy { "89AB".contains($0.uuidString.dropFirst(19).first ?? "x") })  // RFC 9562 variant
    }

    @Test func seededIdsRepeatForTheSameSeed() {
        let a = SeededEventIDs(seed: 9), b = SeededEventIDs(seed: 9), c = SeededEventIDs(seed: 10)
        let first = (0..<10).map { _ in a.next() }
        #expect(first == (0..<10).map { _ in b.next() })
        #expect(first != (0..<10).map { _ in c.next() })
    }
}
