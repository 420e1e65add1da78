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
import DialerSimulation

/// One write path: other writers are normal, and a call is placed only once its `call.dialed` is durable.
@Suite("One write path", .serialized, .timeLimit(.minutes(1)))
struct WritePathTests {
    @Test(.timeLimit(.minutes(1)))
    func twoEnginesAndAnAPIWriterShareOneLog() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { store.close() }
        let api = try await CommandHandler(store: store)
        // The real clock, shifted to where the contacts (Austin) are inside their calling hours.
        let shift = Fixture.callingHoursShift(at: SystemClock().now)
        func shiftedClock() -> SystemClock { SystemClock(sources: SystemClock.Sources.system.shifted(byHours: shift)) }
        let now = shiftedClock().now
        // People who answer at once and talk briefly, machines, and failures: each contact is dialled once.
        var numbered = 1000  // every contact gets its own number (a queue takes each number once)
        func contacts(_ prefix: String, _ count: Int) -> [NewContact] {
            (0..<count).map { index in
                let script: JSONObject = switch index % 3 {
                case 0: ["ringMs": 15, "answer": "human", "talkMs": 10]
                case 1: ["ringMs": 10, "answer": "machine"]
                default: ["ringMs": 5, "fail": "congestion"]
                }
                numbered += 1
                return NewContact(contactId: ContactID("\(prefix)\(index)"), phone: PhoneNumber("+1512555\(numbered)")!,
                                  script: script)
            }
        }
        for queue in ["qa", "qb"] {
            try await api.handle(.createQueue(queueId: QueueID(queue), name: queue, segment: nil, maxAttempts: 1,
                                              contacts: contacts("\(queue)-c", 12)), at: now)
        }
        let fast = SessionSettings(staggerMs: 0, cooldownMs: 0, wrapUpMs: 0)
        let placed = PlacementLog()
        func engine(for agent: AgentID) async throws -> DialerEngine<SystemClock> {
            let clock = shiftedClock()
            let carrier = RecordingCarrier(SimulatedCarrier(clock: clock, seed: 3), log: placed)
            let engine = DialerEngine(store: store, clock: clock, carrier: carrier, drives: { $0 == agent })
            try await engine.start()
            return engine
        }
        let a = try await engine(for: "agent-a")
        let b = try await engine(for: "agent-b")
        // Agent a's session starts through its engine; agent b's through the API writer, and engine b
        // picks it up from the log.
        a.clock.schedule(.command(.startSession(sessionId: "sa", agentId: "agent-a", queueId: "qa", mode: .parallel,
                                                profile: .auto, settings: fast, callerIds: EngineHarness.callerIds),
                                  reply: nil), at: a.clock.now)
        try await api.handle(.startSession(sessionId: "sb", agentId: "agent-b", queueId: "qb", mode: .parallel,
                                           profile: .auto, settings: fast, callerIds: EngineHarness.callerIds),
                             at: shiftedClock().now)
        let runA = Task { try await a.run() }
        let runB = Task { try await b.run() }
        // Meanwhile the API writes to the same queue streams the engines write to.
        for round in 0..<4 {
            try await Task.sleep(for: .milliseconds(30))
            for queue in ["qa", "qb"] {
                try await api.handle(.addContacts(queueId: QueueID(queue), contacts: contacts("\(queue)-r\(round)-", 3)),
                                     at: shiftedClock().now)
            }
        }
        try await api.handle(.pauseQueue(queueId: "qb"), at: shiftedClock().now)
        try await Task.sleep(for: .milliseconds(50))
        try await api.handle(.resumeQueue(queueId: "qb"), at: shiftedClock().now)

        // Until both queues are worked through (as the log says), then stop both engines.
        var finished = false
        for _ in 0..<400 where !finished {
            try await Task.sleep(for: .milliseconds(50))
            try await api.catchUp()
            let queues = await api.state.queues
            finished = ["qa", "qb"].allSatisfy { queues[QueueID($0)]?.state == .completed }
        }
        a.clock.stop()
        b.clock.stop()
        try await runA.value
        try await runB.value
        #expect(finished, "both queues should be worked through")

        let report = try await store.verify()
        #expect(report.isIntact)
        let state = try await DialerState.replay(store)
        for queue in ["qa", "qb"] {
            let contacts = try #require(state.queues[QueueID(queue)]).contacts
            #expect(contacts.count == 24)
            #expect(contacts.values.allSatisfy { $0.outcome != .pending }, "every contact of \(queue) was dialled")
        }
        // Nothing dialled twice: every call id is placed once, and a contact is dialled again only after
        // a call of its was cut short by another contact's answer (not an attempt).
        var dialed: [(callId: String, contactId: String)] = []
        for try await event in store.events() where event.type == "call.dialed" {
            let data = try JSONParser.parse(event.data)
            dialed.append((try #require(data["callId"]?.stringValue), try #require(data["contactId"]?.stringValue)))
        }
        #expect(Set(dialed.map(\.callId)).count == dialed.count)
        #expect(placed.count == dialed.count && placed.distinctCalls == dialed.count)
        #expect(Set(dialed.map(\.contactId)).count == 48)
        for (contactId, calls) in Dictionary(grouping: dialed, by: \.contactId) where calls.count > 1 {
            for call in calls.dropLast() {
                let group = try #require(state.batches.values.first { $0.call(CallID(call.callId)) != nil })
                #expect(group.call(CallID(call.callId))?.endReason == "lost-race", "\(contactId) was dialled again")
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aWriteRefusedBecauseAnotherWriterMovedTheStreamIsDecidedAgain() async throws {
        let folder = try TemporaryFolder()
        let real = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { real.close() }
        let other = try await CommandHandler(store: real)
        let once = Mutex(false)
        // Just before the engine's pause first reaches the log, the API adds contacts to the same queue.
        let store = FaultyStore(real) { writes in
            guard writes.contains(where: { $0.events.contains { $0.type == "queue.paused" } }),
                once.withLock({ done in defer { done = true }; return !done })
            else { return .pass }
            return .before {
                try await other.handle(.addContacts(queueId: "q", contacts: [EngineHarness.contact("late", answer: "none")]),
                                       at: EngineHarness.start)
            }
        }
        let harness = try await EngineHarness(store: store, directory: folder.url)
        harness.workQueue([EngineHarness.contact("c1", answer: "none")])
        // A supervisor's pause, written by the engine; whoever asked gets its answer after the re-read.
        let answer = Mutex<Result<Decision, DomainError>?>(nil)
        harness.clock.schedule(.command(.pauseQueue(queueId: "q"), reply: { result in answer.withLock { $0 = result } }),
                               at: EngineHarness.start.adding(milliseconds: 100))
        try await harness.run(until: 60_000)
        #expect(store.refusals == 1)
        let decided = try #require(try answer.withLock { $0 }?.get())
        #expect(decided.events.count == 1 && decided.position > 0)
        let types = try await harness.timeline(types: ["contacts.added", "queue.paused"]).map(\.type)
        #expect(types == ["contacts.added", "contacts.added", "queue.paused"])
        #expect(harness.engine.state.queues["q"]?.state == .paused)
        #expect(harness.engine.state.queues["q"]?.contacts["late"] != nil, "the re-read saw the other writer's contact")
        #expect(try await real.verify().isIntact)
    }

    /// Issue 25: a conflict drops the decisions in flight and catches up from the engine's durable
    /// fold (the log as far as its follower read it), not by folding the whole log again.
    @Test(.timeLimit(.minutes(1)))
    func aConflictCatchesUpFromTheDurableFoldNotTheWholeLog() async throws {
        let folder = try TemporaryFolder()
        let real = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { real.close() }
        let other = try await CommandHandler(store: real)
        // A history before the engine starts: three hundred numbers put on the do-not-call list, one by one.
        for n in 0..<300 {
            try await other.handle(.addDoNotCall([PhoneNumber("+1212555\(String(1000 + n))")!], source: .request), at: EngineHarness.start)
        }
        let history = try await real.headPosition()
        let once = Mutex(false)
        let store = FaultyStore(real) { writes in
            guard writes.contains(where: { $0.events.contains { $0.type == "queue.paused" } }),
                once.withLock({ done in defer { done = true }; return !done })
            else { return .pass }
            return .before {
                try await other.handle(.addContacts(queueId: "q", contacts: [EngineHarness.contact("late", answer: "none")]),
                                       at: EngineHarness.start)
            }
        }
        let harness = try await EngineHarness(store: store, directory: folder.url)
        let readAtStart = store.eventsRead
        #expect(readAtStart >= Int(history), "start-up folds the log")
        harness.workQueue([EngineHarness.contact("c1", answer: "none")])
        harness.at(100, .pauseQueue(queueId: "q"))
        try await harness.run(until: 60_000)
        #expect(store.refusals == 1)
        #expect(harness.engine.state.queues["q"]?.state == .paused)
        #expect(harness.engine.state.queues["q"]?.contacts["late"] != nil, "the catch-up saw the other writer's contact")
        #expect(harness.engine.state.doNotCall.count == 300, "the history is still in the state")
        // The recovery read at most what was written after the engine started, never the history again.
        let head = try await real.headPosition()
        #expect(store.eventsRead - readAtStart <= Int(head - history), "the conflict read the log again from the start")
        #expect(harness.engine.caughtUpEvents <= Int(head - history))
    }

    @Test(.timeLimit(.minutes(1)))
    func aCallIsPlacedOnlyOnceItsDialIsDurableAndNeverTwiceAcrossARestart() async throws {
        let folder = try TemporaryFolder()
        let placed = PlacementLog()
        // The log fails as the second call's dial is written: that call must not reach the carrier.
        let real = try SQLiteEventStore(path: folder.file("log.sqlite"))
        let failing = FaultyStore(real) { writes in
            writes.contains { $0.events.contains { $0.type == "call.dialed" && String(decoding: $0.data, as: UTF8.self).contains("\"c2\"") } }
                ? .fail : .pass
        }
        let first = try await EngineHarness(store: failing, directory: folder.url, placements: placed)
        first.workQueue([EngineHarness.contact("c1", answer: "none"), EngineHarness.contact("c2", "+17135550001", answer: "none"),
                         EngineHarness.contact("c3", "+14155550002", answer: "none")])
        await #expect(throws: EventStoreError.self) { try await first.run(until: 5000) }
        #expect(placed.numbers == [Fixture.number(for: "c1")], "only c1's durable dial was placed")
        real.close()

        // A new process on the same log: c2 is dialled once, now.
        let second = try await EngineHarness(directory: folder.url, startAt: 10_000, placements: placed)
        defer { second.cleanUp() }
        try await second.run(until: 12_000)
        #expect(placed.numbers.filter { $0 == "+17135550001" }.count == 1)
        let dialed = try await second.timeline(types: ["call.dialed"]).map(\.detail)
        #expect(Set(dialed).count == dialed.count)
    }

    @Test(.timeLimit(.minutes(1)))
    func aCrashAfterTheDialIsDurableButBeforeItIsPlacedNeverRingsTheContactTwice() async throws {
        let folder = try TemporaryFolder()
        let placed = PlacementLog()
        let real = try SQLiteEventStore(path: folder.file("log.sqlite"))
        // The process dies right after the fsync of c1's dial: the log has it, the carrier never heard of it.
        let dying = FaultyStore(real) { writes in
            writes.contains { $0.events.contains { $0.type == "call.dialed" } } ? .failAfterWriting : .pass
        }
        let first = try await EngineHarness(store: dying, directory: folder.url, placements: placed)
        first.workQueue([EngineHarness.contact("c1", answer: "none")])
        await #expect(throws: EventStoreError.self) { try await first.run(until: 5000) }
        #expect(placed.numbers.isEmpty)
        real.close()

        let second = try await EngineHarness(directory: folder.url, startAt: 10_000, placements: placed)
        defer { second.cleanUp() }
        try await second.run(until: 20_000)
        let lines = try await second.timeline(types: ["call.dialed", "call.failed"])
        // The unplaced call is closed as failed by reconciliation, and the contact is dialled for real once.
        #expect(lines.map(\.type) == ["call.dialed", "call.failed", "call.dialed"])
        #expect(lines[1].detail == "g1-1 engine-restart")
        #expect(placed.numbers == [Fixture.number(for: "c1")])
    }

    /// What falls due at one instant goes to the log in one commit, up to the first decision that
    /// places a call: with no cooldown, a failed call's batch ends and the next batch starts with
    /// its dial in one commit (one fsync, one write to each feed socket) — not one commit each.
    @Test(.timeLimit(.minutes(1)))
    func aBatchsEndAndTheNextBatchsStartShareOneCommit() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { store.close() }
        let h = try await EngineHarness(store: store)
        h.workQueue((1...10).map { EngineHarness.contact("c\($0)", ringMs: 100, fail: "congestion") }, mode: .single,
                    settings: SessionSettings(staggerMs: 0, cooldownMs: 0, wrapUpMs: 0), maxAttempts: 1)
        try await h.run(until: 60_000)
        let timeline = try await h.timeline()
        let started = timeline.filter { $0.type == "batch.started" }
        #expect(started.count == 10)
        #expect(timeline.filter { $0.type == "batch.completed" }.count == 10)
        // Each batch after the first starts in the millisecond the one before it ended.
        let ended = timeline.filter { $0.type == "batch.completed" }.map(\.ms)
        #expect(Array(started.dropFirst().map(\.ms)) == Array(ended.dropLast()))
        // Per batch: its failure, end, the next start and its dial together; plus the queue, the
        // session and the first dial, and the last end and the queue's completion.
        #expect(store.commitCount <= 10 + 4, "\(store.commitCount) commits for 10 batches")
    }

}

