import Dispatch
import Foundation
import Synchronization
import SwitchboardJSON
import SwitchboardBasics

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

    private let core: Core
    private let reader: Mutex<SQLiteDatabase>
    /// Opened by `openForReading`: appends and credentials are refused before they reach SQLite.
    private let readOnly: Bool
    private var live: LiveFeed { core.live }

    struct Inbox {
        var pending: [PendingAppend] = []
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
        let readerDB: SQLiteDatabase
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
                readerDB = try SQLiteDatabase(path: path, readOnly: readOnly)
                try readerDB.execute("PRAGMA query_only = ON")
            } catch {
                throw EventStoreError.cannotOpen(path: path, reason: error.description)
            }
        } catch {
            // A log that could not be created leaves no head record behind to make it look lost.
            if isNew { try? FileManager.default.removeItem(atPath: checkedHead.path) }
            throw error
        }
        core = Core(writer: Writer(db: writerDB, head: state.head, lastHash: state.lastHash, streams: state.streams,
                                   nextStreamKey: state.nextStreamKey, headFile: headFile))
        reader = Mutex(readerDB)
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
        reader.withLock { $0.close() }
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
        try readAllNow(after: position, limit: limit)
    }

    /// The synchronous read behind `readAll`, for callers already off the cooperative pool.
    public func readAllNow(after position: Int64, limit: Int) throws -> [RecordedEvent] {
        try events(Self.selectAll, .int(position), .int(Int64(max(0, limit))))
    }

    /// A value bound to a read's `?N` parameters, in order.
    enum Parameter: Sendable {
        case int(Int64)
        case text(String)
    }

    /// The events a prepared read returns, on the read connection (the one place reads are run).
    private func events(_ sql: String, _ parameters: Parameter...) throws -> [RecordedEvent] {
        try reader.withLock { db in
            guard !db.isClosed else { throw EventStoreError.closed }
            return try Self.mapErrors(path: path) {
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
        try reader.withLock { db in
            guard !db.isClosed else { throw EventStoreError.closed }
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
        try events(Self.selectStream, .text(stream), .int(version), .int(Int64(max(0, limit))))
    }

    public func readCorrelated(_ correlationId: String, after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try events(Self.selectCorrelated, .text(correlationId), .int(position), .int(Int64(max(0, limit))))
    }

    public func position(at time: Timestamp) async throws -> Int64 {
        try reader.withLock { db in
            guard !db.isClosed else { throw EventStoreError.closed }
            return try Self.mapErrors(path: path) {
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
            try readAllNow(after: after, limit: limit)
        }
    }

    public func verify() async throws -> ChainVerification {
        try reader.withLock { db in
            guard !db.isClosed else { throw EventStoreError.closed }
            return try Self.mapErrors(path: path) { try Self.walkChain(db, after: 0, previous: EventHashing.genesis) }
        }
    }

    /// Checks the chain from the event after `start` (whose hash is `previous`) to the end of the log.
    static func walkChain(_ db: SQLiteDatabase, after start: Int64, previous: [UInt8]) throws -> ChainVerification {
        var previous = previous
        var expectedPosition = start + 1
        var checked: Int64 = 0
        var after = start
        let statement = try db.statement(selectAll)
        while true {
            statement.reset()
            statement.bind(1, after)
            statement.bind(2, 4096)
            let page = try rows(statement)
            statement.reset()
            if page.isEmpty { break }
            for event in page {
                if event.position != expectedPosition {
                    return ChainVerification(
                        eventsChecked: checked, firstBadPosition: expectedPosition,
                        problem: "position \(expectedPosition) is missing (next stored is \(event.position))",
                        headHash: EventHashing.hex(previous))
                }
                let hash = EventHashing.hash(previous: previous, event: event)
                if hash != event.hash {
                    return ChainVerification(
                        eventsChecked: checked, firstBadPosition: event.position,
                        problem: "hash mismatch: the event or its predecessor was altered",
                        headHash: EventHashing.hex(previous))
                }
                previous = hash
                expectedPosition += 1
                checked += 1
                after = event.position
            }
        }
        return ChainVerification(eventsChecked: checked, firstBadPosition: nil, problem: nil, headHash: EventHashing.hex(previous))
    }

    /// The stored hash of the event at `position` (the genesis hash at 0), `nil` when there is none.
    static func storedHash(_ db: SQLiteDatabase, at position: Int64) throws -> [UInt8]? {
        guard position > 0 else { return EventHashing.genesis }
        let statement = try db.statement("SELECT hash FROM events WHERE position = ?1")
        defer { statement.reset() }
        statement.bind(1, position)
        return try statement.step() ? statement.blob(0) : nil
    }

    /// Checks the log at `path` without writing into it: SQLite's own `integrity_check`, the head
    /// record, and the whole hash chain. What `switchboard verify` runs; safe beside a running server.
    public static func inspect(path: String) -> StoreInspection {
        var problems: [String] = []
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return StoreInspection(chain: nil, problems: ["no event store at \(path)"])
        }
        guard (attributes[.size] as? NSNumber)?.int64Value != 0 else {
            return StoreInspection(chain: nil, problems: ["\(path) is empty (0 bytes): not a log"])
        }
        do {
            try checkNotTruncated(path: path)
            let db = try SQLiteDatabase(path: path, readOnly: true)
            defer { db.close() }
            let integrity = try db.scalarText("PRAGMA integrity_check") ?? "no answer"
            if integrity != "ok" { problems.append("SQLite integrity_check: \(integrity)") }
            let schema = (try? db.scalarInt("SELECT value FROM switchboard_meta WHERE key = 'schema_version'")) ?? nil
            guard let schema else {
                return StoreInspection(chain: nil, problems: problems + ["the file holds no Switchboard schema (a log whose -wal was lost looks like this)"])
            }
            let headPath = HeadRecord.path(forLog: path)
            let chain = try walkChain(db, after: 0, previous: EventHashing.genesis)
            switch Result(catching: { try HeadRecordFile(path: headPath, create: false) }) {
            case .success(let file):
                defer { file.close() }
                if let found = file.found, let problem = try disagreement(db, with: found) { problems.append(problem) }
            case .failure where !FileManager.default.fileExists(atPath: headPath):
                if schema >= headRecordSchema { problems.append("its head record \(headPath) is missing") }
            case .failure(let error):
                problems.append("its head record \(headPath) is damaged (\(error))")
            }
            return StoreInspection(chain: chain, problems: problems)
        } catch let error as SQLiteError {
            return StoreInspection(chain: nil, problems: problems + ["SQLite: \(error.message)"])
        } catch {
            return StoreInspection(chain: nil, problems: problems + ["\(error)"])
        }
    }

    /// Makes the head record say what the log holds now — the operator's decision, after a loss, to
    /// go on with the log as it is (what the record said is returned, to be reported). Refused when
    /// the chain itself is broken: that is not a shorter log but an altered one.
    public static func acceptHead(path: String) throws -> (before: HeadRecord?, after: HeadRecord) {
        let inspection = inspect(path: path)
        guard let chain = inspection.chain, chain.isIntact else {
            let reason = inspection.chain?.problem.map { "the chain is broken: \($0)" } ?? inspection.problems.joined(separator: "; ")
            throw EventStoreError.corrupt(path: path, reason: reason)
        }
        return try mapErrors(path: path) {
            let db = try SQLiteDatabase(path: path, readOnly: true)
            defer { db.close() }
            let head = (try db.scalarInt("SELECT MAX(position) FROM events")) ?? 0
            let hash = try storedHash(db, at: head) ?? EventHashing.genesis
            let headPath = HeadRecord.path(forLog: path)
            let file: HeadRecordFile
            do {
                file = try HeadRecordFile(path: headPath, create: true)
            } catch HeadRecordFile.Failure.damaged {
                try? FileManager.default.removeItem(atPath: headPath)
                file = try HeadRecordFile(path: headPath, create: true)
            }
            defer { file.close() }
            let record = HeadRecord(position: head, hash: hash, verifiedPosition: head, verifiedHash: hash)
            do { try file.write(record) } catch { throw EventStoreError.storage("cannot write \(headPath): \(error)") }
            return (file.found, record)
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

    // MARK: - Schema

    /// The schema's history: step N takes a log from schema version N to N+1 (an empty file is at 0).
    /// Opening a log applies the steps it lacks, all in one transaction; a log written by a newer
    /// Switchboard (a version beyond this list) is refused with a clear message, never rewritten.
    /// Add a step to change the schema; never edit one that has shipped.
    static let migrations: [String] = [
        // 1: streams with integer keys (a text key in the unique (stream, version) index halved inserts),
        // events by position (the rowid), unique ids (idempotent appends).
        """
        CREATE TABLE switchboard_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO switchboard_meta VALUES ('schema_version', 0);
        CREATE TABLE streams (stream_key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE events (
            position INTEGER PRIMARY KEY,
            stream_key INTEGER NOT NULL REFERENCES streams (stream_key),
            stream_version INTEGER NOT NULL,
            id BLOB NOT NULL,
            type TEXT NOT NULL,
            version INTEGER NOT NULL,
            time INTEGER NOT NULL,
            correlation_id TEXT,
            data BLOB NOT NULL,
            hash BLOB NOT NULL
        );
        CREATE UNIQUE INDEX events_by_id ON events (id);
        CREATE UNIQUE INDEX events_by_stream ON events (stream_key, stream_version);
        """,
        // 2: audit reads — a session's events by correlation id, and the position at a point in time.
        """
        CREATE INDEX events_by_correlation ON events (correlation_id, position) WHERE correlation_id IS NOT NULL;
        CREATE INDEX events_by_time ON events (time, position);
        """,
        // 3: access tokens' hashes, beside the log and never in it (CredentialStore).
        """
        CREATE TABLE credentials (token_id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE);
        """,
        // 4: the log keeps a head record beside it (HeadRecord); from this version on, one must exist.
        """
        INSERT INTO switchboard_meta VALUES ('head_record', 1);
        """,
    ]

    /// The first schema version whose logs always have a head record.
    static let headRecordSchema: Int64 = 4

    static var schemaVersion: Int64 { Int64(migrations.count) }

    static let selectColumns = """
        SELECT e.position, s.name, e.stream_version, e.id, e.type, e.version, e.time, e.correlation_id, e.data, e.hash
        FROM events e JOIN streams s ON s.stream_key = e.stream_key
        """
    static let selectScan = "SELECT position, type, version, time, data FROM events WHERE position > ?1 ORDER BY position LIMIT ?2"
    static let selectAll = selectColumns + " WHERE e.position > ?1 ORDER BY e.position LIMIT ?2"
    static let selectCorrelated = selectColumns
        + " WHERE e.correlation_id = ?1 AND e.position > ?2 ORDER BY e.position LIMIT ?3"
    static let selectStream = selectColumns + """
         WHERE e.stream_key = (SELECT stream_key FROM streams WHERE name = ?1) AND e.stream_version > ?2
         ORDER BY e.stream_version LIMIT ?3
        """

    struct LoadedState {
        /// The schema version the file had before this open migrated it.
        var schemaBefore: Int64
        var head: Int64
        var lastHash: [UInt8]
        var streams: [String: StreamInfo]
        var nextStreamKey: Int64
    }

    struct StreamInfo {
        var key: Int64
        var version: Int64
    }

    /// Whether the log is to be created (no file at `path`). A zero-length file, or a head record
    /// without its log, is refused: both are what a lost or wiped log looks like.
    private static func checkPresence(path: String) throws -> Bool {
        let headPath = HeadRecord.path(forLog: path)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            if FileManager.default.fileExists(atPath: headPath) {
                throw EventStoreError.corrupt(path: path, reason: "the file is missing, but its head record \(headPath) says a log was "
                                              + "there: restore the log, or remove the head record to start a new one")
            }
            return true
        }
        if (attributes[.size] as? NSNumber)?.int64Value == 0 {
            throw EventStoreError.corrupt(path: path, reason: "the file is empty (0 bytes): a log is never started in an existing "
                                          + "file; restore it from a backup, or remove it to start a new log")
        }
        return false
    }

    /// Holds the log to what its head record says was committed, and checks the chain from the last
    /// point verified at start-up — on a read-only connection, before anything writes: a refused
    /// log is left exactly as it was found (no migration, no checkpoint of what its WAL still holds).
    private static func checkHead(path: String, isNew: Bool, readOnly: Bool) throws -> HeadRecordFile {
        let headPath = HeadRecord.path(forLog: path)
        func open(create: Bool) throws -> HeadRecordFile {
            do {
                return try HeadRecordFile(path: headPath, create: create)
            } catch .unreadable(let reason) where create {
                throw EventStoreError.cannotOpen(path: path, reason: reason)
            } catch {
                let missing = !FileManager.default.fileExists(atPath: headPath)
                throw EventStoreError.corrupt(path: path, reason: missing
                    ? "its head record \(headPath) is missing, so what was committed cannot be checked: restore \(path), "
                        + "\(path)-wal and \(headPath) together from one backup "
                        + "(`switchboard accept-head --store \(path)` accepts the log as it is)"
                    : "its head record \(headPath) is damaged (\(error))")
            }
        }
        if isNew { return try open(create: true) }
        try checkNotTruncated(path: path)
        return try mapErrors(path: path) {
            let db = try SQLiteDatabase(path: path, readOnly: true)
            defer { db.close() }
            guard let schema = try? db.scalarInt("SELECT value FROM switchboard_meta WHERE key = 'schema_version'") else {
                // What a log looks like whose -wal was lost before its first checkpoint: never start it afresh.
                throw EventStoreError.corrupt(path: path, reason: "the file holds no Switchboard schema (if it is a log whose -wal "
                                              + "file was lost, restore \(path) and \(path)-wal together; a new log is created only where no file exists)")
            }
            // A log from before head records has none yet: it gets one now, checked from the start.
            let file = try open(create: !readOnly && schema < headRecordSchema)
            let found = file.found ?? .empty
            if let problem = try disagreement(db, with: found) {
                throw EventStoreError.corrupt(path: path, reason: problem + " (head record \(headPath)). "
                    + "Restore \(path), \(path)-wal and \(headPath) together from one backup; "
                    + "`switchboard accept-head --store \(path)` accepts the log as it is, losing the rest")
            }
            let check = try walkChain(db, after: found.verifiedPosition, previous: found.verifiedHash)
            if let bad = check.firstBadPosition {
                throw EventStoreError.corrupt(path: path, reason: "the hash chain breaks at position \(bad): \(check.problem ?? "altered") "
                                              + "(switchboard verify --store \(path) reports the whole log)")
            }
            return file
        }
    }

    /// How the log in `db` falls short of what its head record says was committed, if it does.
    static func disagreement(_ db: SQLiteDatabase, with record: HeadRecord) throws -> String? {
        let head = try db.scalarInt("SELECT MAX(position) FROM events") ?? 0
        guard head >= record.position else {
            return "the log ends at position \(head), but \(record.position) events were committed: "
                + "its -wal file was lost or damaged, or it was restored without it"
        }
        for (position, hash) in [(record.position, record.hash), (record.verifiedPosition, record.verifiedHash)]
        where try storedHash(db, at: position) != hash {
            return "the event at position \(position) is not the one committed there: the log was altered or replaced"
        }
        return nil
    }

    /// The head and verified point after a successful open: both where the log now ends.
    private static func recordHead(_ file: HeadRecordFile, _ state: LoadedState, path: String) throws -> HeadRecordState {
        let record = HeadRecord(position: state.head, hash: state.lastHash, verifiedPosition: state.head, verifiedHash: state.lastHash)
        do {
            try file.write(record)
        } catch {
            throw EventStoreError.cannotOpen(path: path, reason: "cannot write its head record \(file.path): \(error)")
        }
        return HeadRecordState(file: file, record: record)
    }

    /// SQLite believes a file's length over its header, so a log cut short would read as a shorter
    /// log. The header records the page count (when its "valid-for" counter matches): compare.
    private static func checkNotTruncated(path: String) throws {
        // With frames in the WAL the header may already count pages that are still only in the WAL
        // (a checkpoint in progress when the process stopped): SQLite recovers them; nothing to check.
        if let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber,
            walSize.int64Value > 0
        {
            return
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 100), header.count == 100 else { return }
        let bytes = [UInt8](header)
        guard bytes.starts(with: Array("SQLite format 3\0".utf8)) else { return }
        func be32(_ offset: Int) -> UInt64 { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt64($1) } }
        let rawPageSize = UInt64(bytes[16]) << 8 | UInt64(bytes[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        guard be32(24) == be32(92) else { return }
        let expected = be32(28) * pageSize
        let actual = (try? handle.seekToEnd()) ?? 0
        if actual < expected {
            throw EventStoreError.corrupt(path: path, reason: "the file is \(actual) bytes, its header says \(expected): it was cut short")
        }
    }

    /// Brings the schema to the last of `migrations`, or refuses a file that is not a Switchboard log
    /// or was written by a newer one.
    @discardableResult
    private static func migrate(_ db: SQLiteDatabase, path: String, migrations: [String]) throws -> Int64 {
        let tables = try db.scalarInt("SELECT count(*) FROM sqlite_master") ?? 0
        let current: Int64
        if tables == 0 {
            current = 0  // a new log (an existing file without a schema was refused by `checkHead`)
        } else {
            do {
                current = try db.scalarInt("SELECT value FROM switchboard_meta WHERE key = 'schema_version'") ?? -1
            } catch {
                throw EventStoreError.corrupt(path: path, reason: "no Switchboard schema (\(error))")
            }
        }
        let known = Int64(migrations.count)
        guard current <= known else {
            throw EventStoreError.cannotOpen(
                path: path, reason: "it was written by a newer Switchboard (schema version \(current); this build knows up to \(known))")
        }
        guard current >= 0 else { throw EventStoreError.corrupt(path: path, reason: "unsupported schema version \(current)") }
        guard current < known else { return current }
        var script = "BEGIN IMMEDIATE;\n"
        for step in migrations[Int(current)...] { script += step + "\n" }
        script += "UPDATE switchboard_meta SET value = \(known) WHERE key = 'schema_version';\nCOMMIT;"
        do {
            try db.execute(script)
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        return current
    }

    /// Sets the connection up and migrates. An existing file was checked before (`checkHead`).
    private static func prepare(_ db: SQLiteDatabase, path: String, migrations: [String]) throws -> LoadedState {
        let schemaBefore = try mapErrors(path: path) {
            try db.execute("PRAGMA journal_mode = WAL")
            try db.execute("PRAGMA synchronous = FULL")
            return try migrate(db, path: path, migrations: migrations)
        }
        return try loadState(db, path: path, schemaBefore: schemaBefore)
    }

    /// `prepare` for a log opened to be read: its schema must be the current one, and nothing changes.
    private static func load(_ db: SQLiteDatabase, path: String, migrations: [String]) throws -> LoadedState {
        let schema = try mapErrors(path: path) {
            try db.scalarInt("SELECT value FROM switchboard_meta WHERE key = 'schema_version'") ?? 0
        }
        guard schema == Int64(migrations.count) else {
            throw EventStoreError.cannotOpen(path: path, reason: "its schema is version \(schema), this switchboard reads \(migrations.count): "
                                             + (schema < Int64(migrations.count) ? "`switchboard serve` upgrades it" : "use a newer switchboard"))
        }
        return try loadState(db, path: path, schemaBefore: schema)
    }

    /// The streams and the last event, where the writer continues from.
    private static func loadState(_ db: SQLiteDatabase, path: String, schemaBefore: Int64) throws -> LoadedState {
        try mapErrors(path: path) {
            var streams: [String: StreamInfo] = [:]
            var nextStreamKey: Int64 = 1
            let streamRows = try db.statement("""
                SELECT s.stream_key, s.name, COALESCE((SELECT MAX(stream_version) FROM events e
                    WHERE e.stream_key = s.stream_key), 0) FROM streams s
                """)
            defer { streamRows.reset() }
            while try streamRows.step() {
                let key = streamRows.int64(0)
                streams[streamRows.text(1) ?? ""] = StreamInfo(key: key, version: streamRows.int64(2))
                nextStreamKey = max(nextStreamKey, key + 1)
            }
            let last = try db.statement("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
            defer { last.reset() }
            if try last.step() {
                return LoadedState(schemaBefore: schemaBefore, head: last.int64(0), lastHash: last.blob(1), streams: streams,
                                   nextStreamKey: nextStreamKey)
            }
            return LoadedState(schemaBefore: schemaBefore, head: 0, lastHash: EventHashing.genesis, streams: streams,
                               nextStreamKey: nextStreamKey)
        }
    }

    /// Turns SQLite's errors into the store's: a damaged file is `corrupt`, anything else `storage`.
    static func mapErrors<T>(path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLiteError {
            if error.meansCorrupt { throw EventStoreError.corrupt(path: path, reason: error.message) }
            throw EventStoreError.storage(error.description)
        }
    }

    static func rows(_ statement: SQLiteStatement) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        while try statement.step() {
            guard let id = UUID(bytes: statement.blob(3)) else {
                throw SQLiteError(code: 11, message: "malformed event id at position \(statement.int64(0))")
            }
            events.append(RecordedEvent(
                position: statement.int64(0), stream: statement.text(1) ?? "", streamVersion: statement.int64(2),
                id: id, type: statement.text(4) ?? "", version: Int(statement.int64(5)),
                time: Timestamp(millisecondsSinceEpoch: statement.int64(6)),
                correlationId: statement.isNull(7) ? nil : statement.text(7), data: statement.blob(8),
                hash: statement.blob(9)))
        }
        return events
    }
}

// MARK: - The writer


extension SQLiteEventStore {
    /// State only the writer thread touches (the mutex is uncontended; it makes ownership explicit).
    final class Writer {
        let db: SQLiteDatabase
        var head: Int64
        var lastHash: [UInt8]
        var streams: [String: StreamInfo]
        var nextStreamKey: Int64
        var headFile: HeadRecordState

        init(db: SQLiteDatabase, head: Int64, lastHash: [UInt8], streams: [String: StreamInfo], nextStreamKey: Int64,
             headFile: HeadRecordState) {
            self.db = db
            self.head = head
            self.lastHash = lastHash
            self.streams = streams
            self.nextStreamKey = nextStreamKey
            self.headFile = headFile
        }
    }

    /// The head record's file and what it holds now.
    struct HeadRecordState {
        let file: HeadRecordFile
        var record: HeadRecord
    }

    /// What the store shares with its writer thread.
    final class Core: Sendable {
        let inbox = Mutex(Inbox())
        let wakeUp = DispatchSemaphore(value: 0)
        let writerExited = DispatchSemaphore(value: 0)
        let writer: Mutex<Writer>
        let live = LiveFeed()
        let committedHead: Atomic<Int64>
        let commits = Atomic<Int>(0)

        init(writer: sending Writer) {
            committedHead = Atomic(writer.head)
            self.writer = Mutex(writer)
        }

        /// Under load, the appenders just resumed come back within microseconds with their next
        /// append. Waiting briefly for them (never more than `gatherLimit`) lets one commit serve
        /// all of them instead of every other one; an idle or single appender never waits.
        static let gatherLimitMicroseconds = 300

        private func gatherStragglers(expected: Int) {
            guard expected > 1 else { return }
            var waited = 0
            while waited < Self.gatherLimitMicroseconds {
                let (pending, closed) = inbox.withLock { ($0.pending.count, $0.closed) }
                if pending >= expected || closed { return }
                usleep(20)
                waited += 20
            }
        }

        /// Runs on the writer thread until the store closes and the inbox is empty.
        func writerLoop() {
            while true {
                wakeUp.wait()
                while true {
                    let (batch, closed) = inbox.withLock { inbox -> ([PendingAppend], Bool) in
                        var taken: [PendingAppend] = []
                        var events = 0
                        while !inbox.pending.isEmpty, events < maxEventsPerCommit || taken.isEmpty {
                            let next = inbox.pending.removeFirst()
                            events += next.writes.reduce(0) { $0 + $1.events.count }
                            taken.append(next)
                        }
                        return (taken, inbox.closed)
                    }
                    if batch.isEmpty {
                        if closed { return }
                        break
                    }
                    let waitingDuringCommit = inbox.withLock { $0.pending.count }
                    let committed = writer.withLock { writer in commit(batch, writer: writer) }
                    commits.add(1, ordering: .relaxed)
                    // The head moves before any appender resumes: an append that has returned is
                    // always within `headPosition()` (read-your-writes for whoever waits on the head).
                    if let head = committed.written.last?.position {
                        committedHead.store(head, ordering: .releasing)
                    }
                    for (pending, outcome) in zip(batch, committed.outcomes) { pending.continuation.resume(with: outcome) }
                    live.publish(committed.written)
                    gatherStragglers(expected: batch.count + waitingDuringCommit)
                }
            }
        }
    }

    /// Whether every event is already in the log (so a failed version check is really a retry).
    private static func allStored(_ events: [NewEvent], exists: SQLiteStatement, inBatch: Set<UUID>) throws -> Bool {
        for event in events where !inBatch.contains(event.id) {
            exists.reset()
            exists.bind(1, blob: event.id.bytes)
            guard try exists.step() else { return false }
        }
        exists.reset()
        return true
    }

    /// What one transaction wrote, and each append's answer (in batch order) for the caller to resume.
    struct Committed: Sendable {
        var written: [RecordedEvent]
        var outcomes: [Result<AppendResult, any Error>]
    }

    /// Writes a batch of appends in one transaction. The caller resumes the appenders.
    fileprivate static func commit(_ batch: [PendingAppend], writer: Writer) -> Committed {
        let db = writer.db
        var outcomes: [Result<AppendResult, any Error>] = []
        var written: [RecordedEvent] = []
        var head = writer.head
        var lastHash = writer.lastHash
        var touched: [String: StreamInfo] = [:]
        var nextStreamKey = writer.nextStreamKey
        var idsInBatch = Set<UUID>()
        do {
            try db.execute("BEGIN IMMEDIATE")
            let exists = try db.statement("SELECT 1 FROM events WHERE id = ?1")
            let insert = try db.statement("""
                INSERT INTO events (position, stream_key, stream_version, id, type, version, time, correlation_id, data, hash)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING
                """)
            let insertStream = try db.statement("INSERT INTO streams (stream_key, name) VALUES (?1, ?2)")
            for pending in batch {
                // Optimistic concurrency, checked before anything of this append is written. A write
                // whose events are all stored already is a retry of an append that succeeded: it passes.
                // Writes to the same stream within one append follow each other.
                var failure: EventStoreError?
                var planned: [String: Int64] = [:]
                for write in pending.writes {
                    let current = planned[write.stream] ?? touched[write.stream]?.version
                        ?? writer.streams[write.stream]?.version ?? 0
                    if !write.expectedVersion.admits(current),
                        try write.events.isEmpty || !allStored(write.events, exists: exists, inBatch: idsInBatch)
                    {
                        failure = .wrongExpectedVersion(stream: write.stream, expected: write.expectedVersion, actual: current)
                        break
                    }
                    planned[write.stream] = current + Int64(write.events.count)
                }
                if let failure {
                    outcomes.append(.failure(failure))
                    continue
                }
                var recorded: [RecordedEvent] = []
                var versions: [String: Int64] = [:]
                for write in pending.writes where !write.events.isEmpty {
                    var info: StreamInfo
                    if let known = touched[write.stream] ?? writer.streams[write.stream] {
                        info = known
                    } else {
                        info = StreamInfo(key: nextStreamKey, version: 0)
                        nextStreamKey += 1
                        insertStream.reset()
                        insertStream.bind(1, info.key)
                        insertStream.bind(2, write.stream)
                        try insertStream.run()
                    }
                    for event in write.events {
                        var record = RecordedEvent(event, position: head + 1, stream: write.stream,
                                                   streamVersion: info.version + 1)
                        record.hash = EventHashing.hash(previous: lastHash, event: record)
                        insert.reset()
                        insert.bind(1, record.position)
                        insert.bind(2, info.key)
                        insert.bind(3, record.streamVersion)
                        insert.bind(4, blob: event.id.bytes)
                        insert.bind(5, event.type)
                        insert.bind(6, Int64(event.version))
                        insert.bind(7, event.time.millisecondsSinceEpoch)
                        insert.bind(8, event.correlationId)
                        insert.bind(9, blob: event.data)
                        insert.bind(10, blob: record.hash)
                        try insert.run()
                        // Idempotency: an id already in the log is skipped by the unique index.
                        guard db.changes > 0 else { continue }
                        head = record.position
                        info.version = record.streamVersion
                        lastHash = record.hash
                        idsInBatch.insert(event.id)
                        recorded.append(record)
                    }
                    touched[write.stream] = info
                    versions[write.stream] = info.version
                }
                written.append(contentsOf: recorded)
                outcomes.append(.success(AppendResult(recorded: recorded, streamVersions: versions, position: head)))
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            let failure = EventStoreError.storage("append failed and was rolled back: \(error)")
            return Committed(written: [], outcomes: batch.map { _ in .failure(failure) })
        }
        writer.head = head
        writer.lastHash = lastHash
        writer.nextStreamKey = nextStreamKey
        for (name, info) in touched { writer.streams[name] = info }
        // After the commit's sync, never before: the record is never ahead of what is durable. A
        // failed write leaves it behind, which only narrows what a lost -wal can be told from; the
        // next commit writes it again.
        if head != writer.headFile.record.position {
            writer.headFile.record.position = head
            writer.headFile.record.hash = lastHash
            try? writer.headFile.file.write(writer.headFile.record)
        }
        return Committed(written: written, outcomes: outcomes)
    }
}

extension SQLiteEventStore: CredentialStore {
    public func saveCredential(tokenId: String, hash: [UInt8]) async throws {
        guard !readOnly else { throw EventStoreError.readOnly(path: path) }
        try core.writer.withLock { writer in
            guard !writer.db.isClosed else { throw EventStoreError.closed }
            try Self.mapErrors(path: path) {
                let statement = try writer.db.statement("INSERT OR IGNORE INTO credentials (token_id, hash) VALUES (?1, ?2)")
                defer { statement.reset() }
                statement.bind(1, tokenId)
                statement.bind(2, blob: hash)
                try statement.run()
            }
        }
    }

    public func tokenId(forHash hash: [UInt8]) async throws -> String? {
        try reader.withLock { db in
            guard !db.isClosed else { throw EventStoreError.closed }
            return try Self.mapErrors(path: path) {
                let statement = try db.statement("SELECT token_id FROM credentials WHERE hash = ?1")
                defer { statement.reset() }
                statement.bind(1, blob: hash)
                return try statement.step() ? statement.text(0) : nil
            }
        }
    }
}
