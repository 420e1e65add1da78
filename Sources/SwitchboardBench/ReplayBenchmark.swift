import CSQLite
import DialerCore
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import DialerSimulation

enum ReplayBenchmark {
    struct Result {
        var events: Int
        var foldPerSecond: Double
        var scanPerSecond: Double
        var batches: Int
        var sessions: Int
    }

    static func run(events: Int, in directory: URL) async throws -> Result {
        let path = directory.appendingPathComponent("replay.sqlite").path
        do {
            let store = try SQLiteEventStore(path: path)
            try await DialerLogGenerator.fill(store, events: events)
            store.close()
        }
        // Cold start: a new store object, folding everything into every projection.
        let store = try SQLiteEventStore(path: path)
        defer { store.close() }
        let total = Int(try await store.headPosition())
        var best = Double.infinity
        var state = DialerState()
        for _ in 0..<3 {
            let start = now()
            state = try await DialerState.replay(store)
            _ = SupervisorOverview(state)
            best = min(best, Double(now() - start) / 1e9)
        }
        let scan = try bareScan(path: path, expected: total)
        return Result(events: total, foldPerSecond: Double(total) / best, scanPerSecond: scan,
                      batches: state.batches.count, sessions: state.sessions.count)
    }

    /// Steps over the same rows and columns the store reads, touching every value, decoding nothing.
    static func bareScan(path: String, expected: Int) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let db else { throw BenchError("open") }
        defer { sqlite3_close(db) }
        var best = Double.infinity
        for _ in 0..<3 {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, """
                SELECT e.position, s.name, e.stream_version, e.id, e.type, e.version, e.time, e.correlation_id, e.data, e.hash
                FROM events e JOIN streams s ON s.stream_key = e.stream_key ORDER BY e.position
                """, -1, &statement, nil) == SQLITE_OK
            else { throw BenchError("prepare") }
            let start = now()
            var rows = 0
            var checksum = 0
            while sqlite3_step(statement) == SQLITE_ROW {
                rows += 1
                checksum &+= Int(sqlite3_column_int64(statement, 0)) &+ Int(sqlite3_column_bytes(statement, 1))
                    &+ Int(sqlite3_column_bytes(statement, 3)) &+ Int(sqlite3_column_bytes(statement, 4))
                    &+ Int(sqlite3_column_bytes(statement, 8)) &+ Int(sqlite3_column_bytes(statement, 9))
            }
            best = min(best, Double(now() - start) / 1e9)
            sqlite3_finalize(statement)
            guard rows == expected, checksum != 0 else { throw BenchError("scan read \(rows) rows, expected \(expected)") }
        }
        return Double(expected) / best
    }
}

/// Makes a realistic dialer log: many agents working many queues, batches with every kind of outcome,
/// decided by the real domain and written through the one write path (`LogWriter`, which puts
/// everything queued into one append).
enum DialerLogGenerator {
    /// `batchesPerShift`: when set, an agent's session stops after that many batches and the agent
    /// starts a new one (a floor of shifts, as the audit figures want); otherwise sessions run on.
    static func fill(_ store: SQLiteEventStore, events target: Int, batchesPerShift: Int? = nil) async throws {
        var state = DialerState()
        var rng = SplitMix64(seed: 2026)
        let ids = SeededEventIDs(seed: 2026)
        var time = Timestamp(millisecondsSinceEpoch: 1_767_632_400_000)  // 17:00Z: every zone of its contacts in calling hours
        let writer = LogWriter(store: store)
        var versions: [String: Int64] = [:]
        var pendingCount = 0
        var produced = 0

        func record(_ command: Command) async throws -> [DialerEvent] {
            guard let events = try? state.decide(command, at: time), !events.isEmpty else { return [] }
            writer.submit(EventCodec.writes(for: events, decidedOn: state, versions: &versions, ids: ids, at: time)) { _ in }
            for event in events { state.apply(event, position: state.position + 1, at: time) }
            pendingCount += events.count
            produced += events.count
            if pendingCount >= 2000 { try await flush() }
            return events
        }
        func flush() async throws {
            try await writer.flush()  // throws what stopped the writer, if anything did
            pendingCount = 0
        }

        let queues = 50
        let agentsPerQueue = 4
        for queue in 0..<queues {
            let queueId = QueueID("queue-\(queue)")
            let name = queue % 10 == 0 ? "VIP accounts \(queue)" : "Leads \(queue)"
            let contacts = (0..<2000).map { index in
                NewContact(contactId: ContactID("q\(queue)-c\(index)"), name: "Contact \(index)",
                           phone: PhoneNumber("+1\([512, 713, 212, 415][index % 4])555\(String(1000 + index % 9000))") ?? DemoScenario.callerIds[0],
                           segment: index % 50 == 0 ? "vip" : nil)
            }
            _ = try await record(.createQueue(queueId: queueId, name: name, segment: nil, maxAttempts: 3, contacts: contacts))
            for agent in 0..<agentsPerQueue {
                _ = try await record(.startSession(
                    sessionId: SessionID("s-\(queue)-\(agent)"), agentId: AgentID("agent-\(queue)-\(agent)"), queueId: queueId,
                    mode: agent == 3 ? .single : .parallel, profile: .auto, settings: SessionSettings(wrapUpMs: 0), callerIds: DemoScenario.callerIds))
            }
        }
        var shifts: [String: (session: SessionID, batches: Int, number: Int)] = [:]
        var batch = 0
        while produced < target {
            batch += 1
            let (queue, agent) = (batch % queues, batch / queues % agentsPerQueue)
            var shift = shifts["\(queue)-\(agent)"] ?? (SessionID("s-\(queue)-\(agent)"), 0, 0)
            if let limit = batchesPerShift, shift.batches >= limit {
                // The shift ends; the agent starts a new session on the same queue.
                _ = try await record(.stopSession(sessionId: shift.session))
                shift = (SessionID("s-\(queue)-\(agent)-\(shift.number + 1)"), 0, shift.number + 1)
                _ = try await record(.startSession(
                    sessionId: shift.session, agentId: AgentID("agent-\(queue)-\(agent)"), queueId: QueueID("queue-\(queue)"),
                    mode: agent == 3 ? .single : .parallel, profile: .auto, settings: SessionSettings(wrapUpMs: 0), callerIds: DemoScenario.callerIds))
            }
            shift.batches += 1
            shifts["\(queue)-\(agent)"] = shift
            let session = shift.session
            let batchId = BatchID("g\(batch)")
            time = time.adding(milliseconds: 700)
            // Overnight every contact waits for its calling hours: wake when they open, as the engine does.
            do throws(DomainError) {
                _ = try state.decide(.startBatch(sessionId: session, batchId: batchId), at: time)
            } catch {
                if let until = error.waitsUntil { time = until }
            }
            guard try await !record(.startBatch(sessionId: session, batchId: batchId)).isEmpty,
                let group = state.batches[batchId]
            else { continue }
            for call in group.calls {
                _ = try await record(.placeCall(batchId: batchId, callId: call.id))
                _ = try await record(.recordRinging(batchId: batchId, callId: call.id))
            }
            for call in group.calls {
                time = time.adding(milliseconds: 400)
                let roll = rng.next() % 100
                let events: [DialerEvent]
                switch roll {
                case 0..<22: events = try await record(.recordAnswer(batchId: batchId, callId: call.id, answeredBy: .human))
                case 22..<40: events = try await record(.recordAnswer(batchId: batchId, callId: call.id, answeredBy: .machine))
                case 40..<45: events = try await record(.recordAnswer(batchId: batchId, callId: call.id, answeredBy: .unknown))
                case 45..<90: events = try await record(.recordNoAnswer(batchId: batchId, callId: call.id, cause: roll < 85 ? .timeout : .busy))
                default: events = try await record(.recordFailure(batchId: batchId, callId: call.id, reason: "network"))
                }
                for followUp in DialerPolicy.followUps(after: events) { _ = try await record(followUp) }
            }
            time = time.adding(milliseconds: 30_000)
            _ = try await record(.hangUp(sessionId: session))
        }
        try await flush()
    }
}


/// Where replay time goes, phase by phase (printed with `--only replay-phases`).
enum ReplayPhases {
    static func run(events: Int, in directory: URL) async throws {
        // SWITCHBOARD_BENCH_LOG reuses a generated log, so a profiler sees only the replay.
        let reuse = ProcessInfo.processInfo.environment["SWITCHBOARD_BENCH_LOG"]
        let path = reuse ?? directory.appendingPathComponent("phases.sqlite").path
        if reuse == nil || !FileManager.default.fileExists(atPath: path) {
            let store = try SQLiteEventStore(path: path)
            try await DialerLogGenerator.fill(store, events: events)
            store.close()
        }
        let store = try SQLiteEventStore(path: path)
        defer { store.close() }
        func timed(_ name: String, _ body: (ScannedEvent) throws -> Void) async throws {
            var position: Int64 = 0
            let start = now()
            var total = 0
            while true {
                var last: Int64 = position
                let count = try await store.scan(after: position, limit: 8192) { event in
                    last = event.position
                    try body(event)
                }
                if count == 0 { break }
                total += count
                position = last
            }
            let seconds = Double(now() - start) / 1e9
            emit(["phase": .string(name), "events_per_s": round(Double(total) / seconds, 0)])
        }
        try await timed("scan") { _ in }
        try await timed("scan+parse") { event in _ = try JSONParser.parse(event.data) }
        try await timed("scan+decode") { event in _ = try DialerEvent(type: event.type, version: event.version, data: event.data) }
        var state = DialerState()
        try await timed("scan+decode+fold") { event in try state.apply(event) }
    }
}
