import DialerCore
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

@Suite("Audit: the past from the log alone", .timeLimit(.minutes(1)))
struct AuditTests {
    /// A random log: two queues, two sessions each, random but valid traffic through the write path.
    func randomLog(seed: UInt64) async throws -> (TemporaryStore, [RecordedEvent]) {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store, ids: SeededEventIDs(seed: seed))
        try await Traffic.run(handler, seed: seed, steps: 120)
        try await Traffic.run(handler, seed: seed &+ 1, steps: 120)
        var log: [RecordedEvent] = []
        for try await event in temp.store.events() { log.append(event) }
        return (temp, log)
    }

    @Test(arguments: 0..<3)
    func aSessionsStateAtEveryPositionEqualsTheFoldOfThePrefix(seed: Int) async throws {
        let (temp, log) = try await randomLog(seed: UInt64(seed) &+ 40)
        let audit = Audit(store: temp.store)
        var prefix = DialerState()
        let sessions = Set(log.compactMap(\.correlationId)).map(SessionID.init).sorted()
        #expect(sessions.count == 4)
        for event in log {
            try prefix.apply(event)
            for session in sessions where event.position % 7 == 0 || event.correlationId == session.rawValue {
                let past = try await audit.sessionState(session, at: event.position)
                #expect(past.sessions[session] == prefix.sessions[session], "session \(session) at \(event.position)")
                for group in prefix.batches.values where group.sessionId == session {
                    #expect(past.batches[group.id]?.calls == group.calls && past.batches[group.id]?.winner == group.winner,
                            "group \(group.id) at \(event.position)")
                }
            }
        }
        #expect(try await audit.state(at: log.count / 2 > 0 ? Int64(log.count / 2) : 0)
                == log.prefix(log.count / 2).reduce(into: DialerState()) { state, event in try? state.apply(event) })
    }

    /// Issue 25: the report is read from counts the projection host keeps as it follows the log — the
    /// same report, for random logs, as folding the whole log per request; started from a log and
    /// then following more of it.
    @Test(arguments: 0..<3)
    func theLiveComplianceCountsGiveTheReportTheLogGives(seed: Int) async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store, ids: SeededEventIDs(seed: UInt64(seed)))
        try await Traffic.run(handler, seed: UInt64(seed) &+ 60, steps: 120)
        let host = ProjectionHost(store: temp.store)
        try await host.start()
        let following = Task { await host.follow() }
        defer { following.cancel() }
        #expect(await host.complianceReport(queue: nil, from: nil, to: nil) == (try await ComplianceReport.build(temp.store)))
        try await Traffic.run(handler, seed: UInt64(seed) &+ 61, steps: 120)
        try await host.waitUntil(try await temp.store.headPosition())
        let whole = try await ComplianceReport.build(temp.store)
        #expect(!whole.days.isEmpty && whole.days.contains { $0.dialed > 0 })
        #expect(await host.complianceReport(queue: nil, from: nil, to: nil) == whole)
        for queue in Set(whole.days.map(\.queueId)) {
            #expect(await host.complianceReport(queue: queue, from: nil, to: nil) == (try await ComplianceReport.build(temp.store, queue: queue)))
        }
    }

    /// Issue 25: the call-detail records of a slice, folded from the sessions the host knows overlap
    /// it, are the records a fold of the log up to the slice's end gives — for random logs and slices.
    @Test(arguments: 0..<3)
    func theRecordsOfASliceFromItsSessionsAreTheRecordsOfTheLog(seed: Int) async throws {
        let (temp, log) = try await randomLog(seed: UInt64(seed) &+ 90)
        let host = ProjectionHost(store: temp.store)
        try await host.start()
        let head = Int64(log.count)
        var rng = SplitMix64(seed: UInt64(seed))
        var compared = 0
        for _ in 0..<8 {
            let from = Int64(rng.next() % UInt64(head)) + 1
            let to = min(head, from + Int64(rng.next() % UInt64(head)))
            for queue in [nil, QueueID("q")] {
                let whole = try await CallDetailRecord.records(temp.store, from: from, to: to, queue: queue)
                let sessions = await host.sessions(overlapping: from, to, queue: queue)
                let sliced = try await CallDetailRecord.records(temp.store, from: from, to: to, sessions: sessions, queue: queue)
                #expect(sliced == whole, "records \(from)...\(to) of \(queue?.rawValue ?? "every queue")")
                compared += whole.count
            }
        }
        #expect(compared > 0)
    }

    @Test func aTimelineHoldsExactlyTheSessionsEventsInOrderAcrossPages() async throws {
        let (temp, log) = try await randomLog(seed: 77)
        let audit = Audit(store: temp.store)
        var state = DialerState()
        for event in log { try state.apply(event) }
        for session in state.sessions.values {
            let started = try #require(log.first { $0.type == "session.started" && $0.correlationId == session.id.rawValue })
            let ended = log.first { $0.type == "session.ended" && $0.correlationId == session.id.rawValue }?.position ?? Int64.max
            let expected = log.filter { event in
                event.correlationId == session.id.rawValue
                    || (event.stream == "queue-\(session.queueId)" && event.position >= started.position && event.position <= ended)
            }.map(\.position)
            var pages: [Int64] = []
            var after: Int64 = 0
            while true {
                let page = try await audit.timeline(of: session.id, after: after, limit: 7)
                guard let last = page.last else { break }
                pages += page.map(\.position)
                after = last.position
            }
            #expect(pages == expected, "timeline of \(session.id)")
        }
    }
}

@Suite("Compliance report", .timeLimit(.minutes(1)))
struct ComplianceReportTests {
    @Test func abandonmentIsCountedPerQueuePerDayAndOverTheRolling30Days() async throws {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store, ids: SeededEventIDs(seed: 5))
        let dayOne = Timestamp(rfc3339: "2026-11-02T15:00:00Z")!
        let dayTwo = Timestamp(rfc3339: "2026-11-03T15:00:00Z")!
        let farLater = Timestamp(rfc3339: "2026-12-15T15:00:00Z")!
        try await handler.handle(.createQueue(queueId: "q", name: "Leads", segment: nil, maxAttempts: 3,
                                              contacts: Fixture.contacts(9), retryDelayMs: 0,
                                              compliance: Fixture.compliance), at: dayOne)
        try await handler.handle(.startSession(sessionId: "s", agentId: "a", queueId: "q", mode: .parallel, profile: .auto,
                                               settings: .default, callerIds: Fixture.callerIds), at: dayOne)
        /// A batch of `lines` in which `humans` people answer at once: one wins, the others are abandoned.
        func batch(_ group: BatchID, lines: Int, humans: Int, at time: Timestamp) async throws {
            try await handler.handle(.startBatch(sessionId: "s", batchId: group), at: time)
            for index in 1...lines { try await handler.handle(.placeCall(batchId: group, callId: CallID("\(group)-\(index)")), at: time) }
            for index in 1...humans {
                try await handler.handle(.recordAnswer(batchId: group, callId: CallID("\(group)-\(index)"), answeredBy: .human), at: time)
            }
            try await handler.handle(.endLosingCalls(batchId: group), at: time)
            try await handler.handle(.hangUp(sessionId: "s"), at: time.adding(milliseconds: 60_000))
        }
        // Changed (issue 12): day one's abandonment caps the queue (1 of 2), so day two dials one line;
        // by day three the window has rolled past day one and the queue dials three again.
        try await batch("g1", lines: 3, humans: 2, at: dayOne)
        try await batch("g2", lines: 1, humans: 1, at: dayTwo)
        try await batch("g3", lines: 3, humans: 1, at: farLater)
        let report = try await ComplianceReport.build(temp.store)
        #expect(report.days.map(\.day) == ["2026-11-02", "2026-11-03", "2026-12-15"])
        let (one, two, three) = (report.days[0], report.days[1], report.days[2])
        #expect(one.dialed == 3 && one.liveAnswers == 2 && one.abandoned == 1 && one.abandonmentRate == 0.5)
        #expect(two.dialed == 1 && two.liveAnswers == 1 && two.abandoned == 0 && two.abandonmentRate == 0)
        #expect(two.liveAnswers30 == 3 && two.abandoned30 == 1, "day one is within day two's 30 days")
        #expect(three.liveAnswers30 == 1 && three.abandoned30 == 0, "day one is outside")
        #expect(one.callsOutsideCallingHours == 0 && one.doNotCallPrevented == 0 && one.abandonedWithoutSafeHarbor == 0,
                "the queue's message was played")
        let filtered = try await ComplianceReport.build(temp.store, queue: "q", from: dayTwo, to: dayTwo)
        #expect(filtered.days.map(\.day) == ["2026-11-03"] && filtered.days[0].abandoned30 == 1)
        #expect(try await ComplianceReport.build(temp.store, queue: "other").days.isEmpty)
        // A range that ends before it starts is empty (it once trapped the server).
        #expect(try await ComplianceReport.build(temp.store, from: farLater, to: dayOne).days.isEmpty)
    }
}
