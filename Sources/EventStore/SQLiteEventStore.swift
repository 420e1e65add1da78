import Dispatch
import Foundation
import Synchronization
import SwitchboardJSON
import SwitchboardBasics
import DequeModule

/// The embedded event log: one SQLite file in WAL mode with `synchronous=FULL`.
///
/// Durability without losing throughput comes from **group commit**: one writer thread owns the
/// write connection; appenders queue their writes and wait; the writer takes everything queued,
/// writes it in one transaction, syncs once, then resumes every appender. Under load a transaction
/// holds many appends; when idle it holds one, so latency stays low. Positions are gapless because
/// only the writer assigns them.
public final class SQLiteEventStore: EventStore {
    public let path: String
    /// Most events one transaction takes; bounds latency of the appenders queued behind it.
    static let maxEventsPerCommit = 2000

    let core: Core
    /// The writer thread's CPU time (`switchboard_work_seconds_total{stage="writes"}`).
    public var writerWork: WorkMeter { core.work }
    /// Read connections; a few, so a long read (a verify) delays no other.
    let readers: ReaderPool
    /// How many: reads beside a verify, a catch-up page and an export without waiting for each other.
    static let readerCount = 3
    /// Opened by `openForReading`: appends and credentials are refused before they reach SQLite.
    let readOnly: Bool
    var live: LiveFeed { core.live }

    struct Inbox {
        var pending: Deque<PendingAppend> = []
        var closed = false
    }

    struct PendingAppend: Sendable {
        var writes: [StreamWrite]
        var continuation: CheckedContinuation<AppendResult, any Error>
    }

    /// Opens (or creates) the log at `path`. A file that is not a Switchboard log, is damaged, or holds
    /// less than its head record says was committed is refused with `EventStoreError.corrupt`, never
    /// treated as an empty or shorter log. A new log is created only where no file exists.
    public convenience init(path: String) throws {
        try self.init(path: path, migrations: Self.migrations)
    }

    /// Opens an existing log to read it (`switchboard events`, `export`, `replay`), beside a running
    /// server or not: checked as `init(path:)` checks it, but nothing is written — no migration, no
    /// head record, no pragma; appends are refused with `EventStoreError.readOnly`. A log written by an
    /// older Switchboard is refused (`serve` upgrades it) rather than read through an old schema.
    public static func openForReading(path: String) throws -> SQLiteEventStore {
        try SQLiteEventStore(path: path, migrations: migrations, readOnly: true)
    }

    /// Opens the log with a given schema history (tests check the migration mechanism with an extra step).
    init(path: String, migrations: [String], readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        let isNew = try Self.checkPresence(path: path)
        if readOnly, isNew { throw EventStoreError.cannotOpen(path: path, reason: "no event store there") }
        let checkedHead = try Self.checkHead(path: path, isNew: isNew, readOnly: readOnly)
        let writerDB: SQLiteDatabase
        let state: LoadedState
        let headFile: HeadRecordState
        let readerPool: ReaderPool
        do {
            do {
                writerDB = try SQLiteDatabase(path: path, readOnly: readOnly)
            } catch {
                throw EventStoreError.cannotOpen(path: path, reason: error.message)
            }
            // A new log is its owner's alone (names and numbers are in it); SQLite gives its -wal and
            // -shm the same mode, and the head record is made 0600.
            if isNew { try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
            if readOnly {
                state = try Self.load(writerDB, path: path, migrations: migrations)
                headFile = HeadRecordState(file: checkedHead, record: checkedHead.found ?? .empty)
            } else {
                state = try Self.prepare(writerDB, path: path, migrations: migrations)
                headFile = try Self.recordHead(checkedHead, state, path: path)
            }
            do {
                readerPool = try ReaderPool(size: Self.readerCount) {
                    let db = try SQLiteDatabase(path: path, readOnly: readOnly)
                    try db.execute("PRAGMA query_only = ON")
                    return db
                }
            } catch {
                throw EventStoreError.cannotOpen(path: path, reason: "\(error)")
            }
        } catch {
            // A log that could not be created leaves no head record behind to make it look lost.
            if isNew { try? FileManager.default.removeItem(atPath: checkedHead.path) }
            throw error
        }
        core = Core(writer: Writer(db: writerDB, head: state.head, lastHash: state.lastHash, streams: state.streams,
                                   nextStreamKey: state.nextStreamKey, headFile: headFile))
        readers = readerPool
        let thread = Thread { [core] in
            core.writerLoop()
            core.writerExited.signal()
        }
        thread.name = "switchboard-event-writer"
        thread.start()
    }

    deinit { close() }

    /// Finishes the queued appends, ends live subscriptions, and stops the writer. Idempotent.
    public func close() {
        let wasOpen = core.inbox.withLock { inbox in
            defer { inbox.closed = true }
            return !inbox.closed
        }
        guard wasOpen else { return }
        core.wakeUp.signal()
        core.writerExited.wait()
        live.finish()
        core.writer.withLock { writer in
            writer.db.close()
            writer.headFile.file.close()
        }
        readers.close()
    }

    // MARK: - EventStore

    @discardableResult
    public func append(_ writes: [StreamWrite]) async throws -> AppendResult {
        guard !readOnly else { throw EventStoreError.readOnly(path: path) }
        for write in writes {
            guard !write.stream.isEmpty else { throw EventStoreError.invalidAppend("empty stream name") }
            for event in write.events {
                guard !event.type.isEmpty else { throw EventStoreError.invalidAppend("empty event type") }
            }
        }
        return try await withCheckedThrowingContinuation { continuation in
            // Only the append that finds the inbox empty wakes the writer: the writer drains the
            // whole inbox each time, so later ones are picked up without a wake-up of their own.
            let outcome: (accepted: Bool, wake: Bool) = core.inbox.withLock { inbox in
                guard !inbox.closed else { return (false, false) }
                inbox.pending.append(PendingAppend(writes: writes, continuation: continuation))
                return (true, inbox.pending.count == 1)
            }
            if !outcome.accepted {
                continuation.resume(throwing: EventStoreError.closed)
            } else if outcome.wake {
                core.wakeUp.signal()
            }
        }
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await events(Self.selectAll, .int(position), .int(Int64(max(0, limit))))
    }

    /// A value bound to a read's `?N` parameters, in order.
    enum Parameter: Sendable {
        case int(Int64)
        case text(String)
    }

    /// The events a prepared read returns, on a read connection (the one place reads are run).
    func events(_ sql: String, _ parameters: Parameter...) async throws -> [RecordedEvent] {
        try await readers.read { db in
            try Self.mapErrors(path: path) {
                let statement = try db.statement(sql)
                defer { statement.reset() }
                for (index, parameter) in parameters.enumerated() {
                    switch parameter {
                    case .int(let value): statement.bind(Int32(index + 1), value)
                    case .text(let value): statement.bind(Int32(index + 1), value)
                    }
                }
                return try Self.rows(statement)
            }
        }
    }

    public func scan(after position: Int64, limit: Int, _ body: (ScannedEvent) throws -> Void) async throws -> Int {
        try await readers.read { db in
            let statement = try Self.mapErrors(path: path) { try db.statement(Self.selectScan) }
            defer { statement.reset() }
            statement.bind(1, position)
            statement.bind(2, Int64(max(0, limit)))
            var count = 0
            while try Self.mapErrors(path: path, { try statement.step() }) {
                try body(ScannedEvent(position: statement.int64(0), type: statement.text(1) ?? "",
                                      version: Int(statement.int64(2)),
                                      time: Timestamp(millisecondsSinceEpoch: statement.int64(3)), data: statement.blob(4)))
                count += 1
            }
            return count
        }
    }

    public func readStream(_ stream: String, after version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await events(Self.selectStream, .text(stream), .int(version), .int(Int64(max(0, limit))))
    }

    public func readCorrelated(_ correlationId: String, after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await events(Self.selectCorrelated, .text(correlationId), .int(position), .int(Int64(max(0, limit))))
    }

    public func position(at time: Timestamp) async throws -> Int64 {
        try await readers.read { db in
            try Self.mapErrors(path: path) {
                let statement = try db.statement("SELECT max(position) FROM events WHERE time <= ?1")
                defer { statement.reset() }
                statement.bind(1, time.millisecondsSinceEpoch)
                return try statement.step() ? statement.int64(0) : 0
            }
        }
    }

    public func headPosition() async throws -> Int64 { core.committedHead.load(ordering: .acquiring) }

    /// Transactions committed since the store was opened (each may hold many appends: group commit).
    public var commitCount: Int { core.commits.load(ordering: .relaxed) }

    public func subscribe(after position: Int64) -> EventSubscription {
        EventSubscription(after: position, live: live) { [self] after, limit in
            try await readAll(after: after, limit: limit)
        }
    }

    /// A full disk, for tests: commits that need more pages than `pages` (at least the file's size
    /// now) fail with SQLite's own SQLITE_FULL until it is lifted with `nil`.
    func limitPages(_ pages: Int64?) throws {
        try core.writer.withLock { writer in
            try Self.mapErrors(path: path) { try writer.db.execute("PRAGMA max_page_count = \(pages ?? 1_073_741_823)") }
        }
    }

    /// The connection settings that make appends durable, as SQLite reports them.
    public func durabilitySettings() throws -> (journalMode: String, synchronous: Int64) {
        try core.writer.withLock { writer in
            try Self.mapErrors(path: path) {
                (try writer.db.scalarText("PRAGMA journal_mode") ?? "", try writer.db.scalarInt("PRAGMA synchronous") ?? -1)
            }
        }
    }
}
