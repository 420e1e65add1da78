import CSQLite
@testable import EventStore
import Foundation
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

/// What only the embedded SQLite store promises: durability settings, a file that survives restarts,
/// tamper evidence found in the file itself, and clear errors for files that are not logs.
@Suite("SQLite event store", .timeLimit(.minutes(1)))
struct SQLiteEventStoreTests {
    let folder: TemporaryFolder

    init() throws { folder = try TemporaryFolder() }

    var path: String { folder.file("log.sqlite") }

    @Test func appendsAreDurableWALWithFullSync() throws {
        let store = try SQLiteEventStore(path: path)
        defer { store.close() }
        let settings = try store.durabilitySettings()
        #expect(settings.journalMode == "wal")
        #expect(settings.synchronous == 2)  // FULL
    }

    @Test func theLogSurvivesARestart() async throws {
        do {
            let store = try SQLiteEventStore(path: path)
            try await store.append([event(), event()], to: "queue-a", expectedVersion: .noStream)
            try await store.append([event()], to: "group-b", expectedVersion: .noStream)
            store.close()
        }
        let reopened = try SQLiteEventStore(path: path)
        defer { reopened.close() }
        #expect(try await reopened.headPosition() == 3)
        // Stream versions and the chain continue where they were.
        let next = try await reopened.append([event()], to: "queue-a", expectedVersion: .exact(2))
        #expect(next.recorded.first?.position == 4 && next.recorded.first?.streamVersion == 3)
        #expect(try await reopened.verify().isIntact)
        await #expect(throws: EventStoreError.self) {
            try await reopened.append([event()], to: "group-b", expectedVersion: .noStream)
        }
    }

    @Test func verifyNamesTheFirstEditedPosition() async throws {
        let store = try SQLiteEventStore(path: path)
        for index in 1...10 {
            try await store.append([event(data: #"{"amount":\#(index)}"#)], to: "queue-a", expectedVersion: .any)
        }
        store.close()
        try rawSQL(#"UPDATE events SET data = CAST('{"amount":999}' AS BLOB) WHERE position = 6"#)
        let report = try #require(SQLiteEventStore.inspect(path: path).chain)
        #expect(report.firstBadPosition == 6)
        #expect(report.eventsChecked == 5)
        // Nor is it served: opening checks the chain written since the last start-up.
        #expect { try SQLiteEventStore(path: path) } throws: { "\($0)".contains("the hash chain breaks at position 6") }
    }

    @Test func verifyNamesADeletedPosition() async throws {
        let store = try SQLiteEventStore(path: path)
        for _ in 1...5 { try await store.append([event()], to: "queue-a", expectedVersion: .any) }
        store.close()
        try rawSQL("DELETE FROM events WHERE position = 3")
        let report = try #require(SQLiteEventStore.inspect(path: path).chain)
        #expect(report.firstBadPosition == 3)
        #expect(report.problem?.contains("missing") == true)
        #expect(throws: EventStoreError.self) { try SQLiteEventStore(path: path) }
    }

    @Test func aFileThatIsNotADatabaseIsReportedCorrupt() throws {
        var garbage = [UInt8](repeating: 0, count: 8192)
        var rng = SystemRandomNumberGenerator()
        for index in garbage.indices { garbage[index] = UInt8.random(in: 0...255, using: &rng) }
        try Data(garbage).write(to: URL(fileURLWithPath: path))
        #expect {
            try SQLiteEventStore(path: path)
        } throws: { error in
            guard case EventStoreError.corrupt(let at, _) = error else { return false }
            return at == path
        }
    }

    @Test func aTruncatedLogIsReportedCorruptNotEmpty() async throws {
        let store = try SQLiteEventStore(path: path)
        for _ in 1...200 { try await store.append([event(data: #"{"pad":"\#(String(repeating: "x", count: 300))"}"#)], to: "queue-a", expectedVersion: .any) }
        store.close()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: path))
        do {
            let reopened = try SQLiteEventStore(path: path)
            defer { reopened.close() }
            // If SQLite opens the damaged file at all, reading it must fail loudly, never return a shorter log.
            let read = try await reopened.readAll(after: 0, limit: 1000)
            Issue.record("a truncated log was read without an error (\(read.count) events)")
        } catch let error as EventStoreError {
            switch error {
            case .corrupt, .storage: break
            default: Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test func aLogLeftWithItsWALByACrashOpensWithEveryEvent() async throws {
        let store = try SQLiteEventStore(path: path)
        for index in 1...300 {
            try await store.append([event(data: #"{"i":\#(index),"pad":"\#(String(repeating: "y", count: 200))"}"#)],
                                   to: "queue-a", expectedVersion: .any)
        }
        // Copy the files while the store is open, as a crash would leave them (database, WAL, head record).
        let crashed = folder.file("crashed.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: crashed)
        for suffix in ["-wal", "-head"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: crashed + suffix)
        }
        store.close()
        let reopened = try SQLiteEventStore(path: crashed)
        defer { reopened.close() }
        #expect(try await reopened.headPosition() == 300)
        #expect(try await reopened.verify().isIntact)
    }

    @Test func readsAfterCloseAreRefused() async throws {
        let store = try SQLiteEventStore(path: path)
        try await store.append([event()], to: "queue-a", expectedVersion: .any)
        store.close()
        await #expect(throws: EventStoreError.closed) { try await store.readAll(after: 0, limit: 10) }
    }

    @Test func anotherSQLiteDatabaseIsNotMistakenForALog() throws {
        try rawSQL("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'x');")
        #expect {
            try SQLiteEventStore(path: path)
        } throws: { error in
            if case EventStoreError.corrupt = error { true } else { false }
        }
    }

    @Test func aPathThatCannotBeOpenedIsAClearError() {
        #expect {
            try SQLiteEventStore(path: folder.file("no/such/folder/log.sqlite"))
        } throws: { error in
            if case EventStoreError.cannotOpen = error { true } else { false }
        }
    }

    @Test func appendsAfterCloseAreRefused() async throws {
        let store = try SQLiteEventStore(path: path)
        store.close()
        await #expect(throws: EventStoreError.closed) {
            try await store.append([event()], to: "queue-a", expectedVersion: .any)
        }
    }

    @Test func closingFinishesQueuedAppends() async throws {
        let store = try SQLiteEventStore(path: path)
        let appends = Task {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        do {
                            try await store.append([event()], to: "queue-a", expectedVersion: .any)
                            return true
                        } catch EventStoreError.closed {
                            return false
                        }
                    }
                }
                var written = 0
                for try await ok in group where ok { written += 1 }
                return written
            }
        }
        // Close while appends are in flight: once the first has landed, most are still queued.
        while try await store.headPosition() == 0 { try await Task.sleep(for: .milliseconds(1)) }
        store.close()
        let written = try await appends.value
        let reopened = try SQLiteEventStore(path: path)
        defer { reopened.close() }
        // Every append that was acknowledged is in the log, and nothing else; and some were.
        #expect(written > 0)
        #expect(try await reopened.headPosition() == Int64(written))
    }

    /// Edits the file behind the store's back, as an attacker or a broken tool would.
    @Test func aLogFromANewerSwitchboardIsRefusedWithAClearMessage() async throws {
        try SQLiteEventStore(path: path).close()
        try rawSQL("UPDATE switchboard_meta SET value = 99 WHERE key = 'schema_version'")
        #expect {
            try SQLiteEventStore(path: path)
        } throws: { error in
            "\(error)".contains("newer Switchboard (schema version 99; this build knows up to \(SQLiteEventStore.migrations.count))")
        }
    }

    @Test func openingALogAppliesTheMigrationStepsItLacksAndKeepsItsEvents() async throws {
        do {
            let store = try SQLiteEventStore(path: path)
            try await store.append([event(), event()], to: "queue-a", expectedVersion: .noStream)
            store.close()
        }
        let next = SQLiteEventStore.migrations + ["CREATE INDEX events_by_type ON events (type, position);"]
        let migrated = try SQLiteEventStore(path: path, migrations: next)
        #expect(try await migrated.readAll(after: 0, limit: 10).count == 2)
        #expect(try await migrated.verify().isIntact)
        migrated.close()
        try rawSQL("SELECT 1 FROM sqlite_master WHERE name = 'events_by_type'")
        // The current build now sees a newer log and refuses it rather than misread it.
        #expect(throws: EventStoreError.self) { try SQLiteEventStore(path: path) }
        let again = try SQLiteEventStore(path: path, migrations: next)  // already migrated: nothing to do
        #expect(try await again.headPosition() == 2)
        again.close()
    }

    func rawSQL(_ sql: String) throws {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw CocoaError(.fileReadUnknown) }
        defer { sqlite3_close(db) }
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(db, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? "?"
            sqlite3_free(error)
            throw NSError(domain: "sqlite", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
        }
    }
}
