import CSQLite
import EventStore
import Foundation
import ReadModels
import WritePath
import Synchronization
import SwitchboardJSON
import SwitchboardBasics

enum AppendBenchmark {
    struct StoreFigures {
        var eventsPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double
        var eventsPerCommit: Double
    }

    /// ~300 bytes of `data`, like a `call.dialed` with its envelope fields.
    static func payload(_ index: Int) -> [UInt8] {
        let text = #"{"groupId":"g-\#(index / 3)","callId":"g-\#(index / 3)-\#(index % 3 + 1)","contactId":"contact-\#(index)","to":"+1512555\#(1000 + index % 9000)","callerId":"+15125550100","attempt":1,"note":"\#(String(repeating: "x", count: 140))"}"#
        return Array(text.utf8)
    }

    /// `randomIds`: random v4 ids instead of the product's time-ordered v7 ids, in both runs.
    static func run(events: Int, writers: Int, randomIds: Bool, in directory: URL) async throws -> (StoreFigures, Double) {
        let tag = randomIds ? "v4" : "v7"
        let store = try await measureStore(events: events, writers: writers, randomIds: randomIds,
                                           path: directory.appendingPathComponent("append-\(tag).sqlite").path)
        let raw = try measureRaw(events: events, randomIds: randomIds,
                                 path: directory.appendingPathComponent("raw-\(tag).sqlite").path)
        return (store, raw)
    }

    static func measureStore(events: Int, writers: Int, randomIds: Bool, path: String) async throws -> StoreFigures {
        let store = try SQLiteEventStore(path: path)
        defer { store.close() }
        let time = Timestamp(millisecondsSinceEpoch: 1_767_625_200_000)
        let perWriter = events / writers
        // Payloads are made before the clock starts, as for the baseline. Ids are made at append time,
        // as the product makes them (time-ordered UUIDv7).
        let prepared: [[NewEvent]] = (0..<writers).map { writer in
            (0..<perWriter).map { index in
                NewEvent(id: UUID(), type: "call.dialed", version: 1, time: time, correlationId: "session-\(writer)",
                         data: payload(writer * perWriter + index))
            }
        }
        let ids = TimeOrderedEventIDs()
        let start = now()
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(perWriter)
                    for (index, template) in prepared[writer].enumerated() {
                        var event = template
                        let begin = now()
                        event.id = randomIds ? UUID() : ids.next()
                        try await store.append([event], to: "group-\(writer)-\(index / 5)", expectedVersion: .any)
                        latencies.append(now() - begin)
                    }
                    return latencies
                }
            }
            var all: [UInt64] = []
            for try await part in group { all += part }
            return all
        }
        let seconds = Double(now() - start) / 1e9
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6 }
        let written = Double(sorted.count)
        let commits = Double(store.commitCount)
        return StoreFigures(eventsPerSecond: written / seconds, p50Ms: percentile(0.5), p99Ms: percentile(0.99),
                            eventsPerCommit: commits > 0 ? written / commits : 0)
    }

    /// The same rows through the raw C API, 1 000 per transaction, WAL + synchronous=FULL.
    static func measureRaw(events: Int, randomIds: Bool, path: String) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw BenchError("open \(path)") }
        defer { sqlite3_close(db) }
        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
        }
        try exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        try exec("""
            CREATE TABLE streams (stream_key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
            CREATE TABLE events (position INTEGER PRIMARY KEY, stream_key INTEGER NOT NULL, stream_version INTEGER NOT NULL,
              id BLOB NOT NULL, type TEXT NOT NULL, version INTEGER NOT NULL, time INTEGER NOT NULL, correlation_id TEXT,
              data BLOB NOT NULL, hash BLOB NOT NULL);
            CREATE UNIQUE INDEX events_by_id ON events (id);
            CREATE UNIQUE INDEX events_by_stream ON events (stream_key, stream_version);
            """)
        var insert: OpaquePointer?
        guard sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1, &insert, nil) == SQLITE_OK
        else { throw BenchError("prepare") }
        defer { sqlite3_finalize(insert) }
        let hash = [UInt8](repeating: 7, count: 32)
        let rows = (0..<events).map { payload($0) }
        let generator = TimeOrderedEventIDs()
        let ids = (0..<events).map { _ in randomIds ? UUID().uuid : generator.next().uuid }
        let start = now()
        for index in 0..<events {
            if index % 1000 == 0 { try exec("BEGIN") }
            var uuid = ids[index]
            sqlite3_bind_int64(insert, 1, Int64(index + 1))
            sqlite3_bind_int64(insert, 2, Int64(index / 5))
            sqlite3_bind_int64(insert, 3, Int64(index % 5 + 1))
            _ = withUnsafeBytes(of: &uuid) { sqlite3_bind_blob(insert, 4, $0.baseAddress, 16, csqlite_transient()) }
            sqlite3_bind_text(insert, 5, "call.dialed", -1, csqlite_transient())
            sqlite3_bind_int64(insert, 6, 1)
            sqlite3_bind_int64(insert, 7, 1_767_625_200_000)
            sqlite3_bind_text(insert, 8, "session-1", -1, csqlite_transient())
            _ = rows[index].withUnsafeBytes { sqlite3_bind_blob(insert, 9, $0.baseAddress, Int32($0.count), csqlite_transient()) }
            _ = hash.withUnsafeBytes { sqlite3_bind_blob(insert, 10, $0.baseAddress, 32, csqlite_transient()) }
            guard sqlite3_step(insert) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(insert)
            if index % 1000 == 999 || index == events - 1 { try exec("COMMIT") }
        }
        return Double(events) / (Double(now() - start) / 1e9)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
