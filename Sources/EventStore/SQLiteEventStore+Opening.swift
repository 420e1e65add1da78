import Dispatch
import Foundation
import Synchronization
import SwitchboardJSON
import SwitchboardBasics

/// Opening a log: its presence, its head record, its schema and migrations, its state.
extension SQLiteEventStore {

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
    static func checkPresence(path: String) throws -> Bool {
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
    static func checkHead(path: String, isNew: Bool, readOnly: Bool) throws -> HeadRecordFile {
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
    static func recordHead(_ file: HeadRecordFile, _ state: LoadedState, path: String) throws -> HeadRecordState {
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
    static func checkNotTruncated(path: String) throws {
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
    static func migrate(_ db: SQLiteDatabase, path: String, migrations: [String]) throws -> Int64 {
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
    static func prepare(_ db: SQLiteDatabase, path: String, migrations: [String]) throws -> LoadedState {
        let schemaBefore = try mapErrors(path: path) {
            try db.execute("PRAGMA journal_mode = WAL")
            try db.execute("PRAGMA synchronous = FULL")
            return try migrate(db, path: path, migrations: migrations)
        }
        return try loadState(db, path: path, schemaBefore: schemaBefore)
    }

    /// `prepare` for a log opened to be read: its schema must be the current one, and nothing changes.
    static func load(_ db: SQLiteDatabase, path: String, migrations: [String]) throws -> LoadedState {
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
    static func loadState(_ db: SQLiteDatabase, path: String, schemaBefore: Int64) throws -> LoadedState {
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
