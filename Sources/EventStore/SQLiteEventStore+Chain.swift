import Dispatch
import Foundation
import Synchronization
import SwitchboardJSON
import SwitchboardBasics

/// The hash chain walked again, a store looked at without opening it, and the operator accepting a shorter log.
extension SQLiteEventStore {
    public func verify() async throws -> ChainVerification {
        // On a read connection of its own: a walk of millions of events delays no other read.
        try await readers.read { db in
            try Self.mapErrors(path: path) { try Self.walkChain(db, after: 0, previous: EventHashing.genesis) }
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
}
