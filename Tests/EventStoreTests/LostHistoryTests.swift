import CSQLite
@testable import EventStore
import Foundation
import SwitchboardTestSupport
import Testing

/// A log never starts shorter or empty without saying so (issue 20, D1 and D7 of the reliability
/// probe): every way of losing the write-ahead log, a zero-length file and an altered chain are
/// refused at open with what is missing, and `inspect` (what `switchboard verify` runs) fails on each
/// without writing into the file it checks. Real files, damaged the way a crash or a careless
/// backup damages them.
@Suite("Lost history is refused", .timeLimit(.minutes(1)))
struct LostHistoryTests {
    let folder: TemporaryFolder
    init() throws { folder = try TemporaryFolder() }

    /// 151 acknowledged appends, then the files as `kill -9` leaves them: everything is still in the
    /// `-wal` (the main file is checkpointed only at about 4 MB of WAL).
    func crashImage() async throws -> String {
        let live = folder.file("live.sqlite")
        let store = try SQLiteEventStore(path: live)
        for index in 1...151 {
            try await store.append([event(data: #"{"phone":"+1512555\#(1000 + index)"}"#)], to: "organisation", expectedVersion: .any)
        }
        let image = folder.file("image.sqlite")
        for suffix in ["", "-wal", "-head"] {
            try FileManager.default.copyItem(atPath: live + suffix, toPath: image + suffix)
        }
        store.close()
        return image
    }

    func refusal(_ path: String) -> String? {
        do {
            let store = try SQLiteEventStore(path: path)
            store.close()
            return nil
        } catch {
            return "\(error)"
        }
    }

    func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test func theCrashImageItselfOpensWithEveryEvent() async throws {
        let image = try await crashImage()
        let store = try SQLiteEventStore(path: image)
        defer { store.close() }
        #expect(try await store.headPosition() == 151)
        #expect(SQLiteEventStore.inspect(path: image).isSound)
    }

    @Test(arguments: ["deleted", "deleted with its -shm", "header flipped", "frame 3 flipped", "cut to half", "last frame cut"])
    func aLostOrDamagedWALIsRefusedNotReadShorter(damage: String) async throws {
        let image = try await crashImage()
        let wal = image + "-wal"
        var bytes = try #require(fileBytes(wal))
        let frame = 32 + 24 + 4096  // WAL header, then each frame: its header and one page
        switch damage {
        case "deleted": try FileManager.default.removeItem(atPath: wal)
        case "deleted with its -shm":
            try FileManager.default.removeItem(atPath: wal)
            try? FileManager.default.removeItem(atPath: image + "-shm")
        case "header flipped": bytes[9] ^= 0xFF
        case "frame 3 flipped": bytes[32 + 2 * frame + 24 + 100] ^= 0x01
        case "cut to half": bytes = bytes.prefix(bytes.count / 2)
        default: bytes = bytes.prefix(bytes.count - 10)
        }
        if FileManager.default.fileExists(atPath: wal) { try bytes.write(to: URL(fileURLWithPath: wal)) }
        let before = fileBytes(image)

        let refused = try #require(refusal(image), "a damaged WAL (\(damage)) opened as a log")
        #expect(refused.contains("151 events were committed") || refused.contains("holds no Switchboard schema"), "\(refused)")
        #expect(refused.contains("-wal"), "the message says what is missing: \(refused)")
        let inspection = SQLiteEventStore.inspect(path: image)
        #expect(!inspection.isSound)
        #expect(fileBytes(image) == before, "checking the file changed it")
    }

    @Test func aBackupOfTheMainFileAloneIsRefused() async throws {
        let image = try await crashImage()
        let restored = folder.file("restored.sqlite")
        try FileManager.default.copyItem(atPath: image, toPath: restored)
        // Without its head record either, it is a file with no log in it; with the record, a log behind it.
        #expect(refusal(restored)?.contains("holds no Switchboard schema") == true)
        try FileManager.default.copyItem(atPath: image + "-head", toPath: restored + "-head")
        #expect(refusal(restored).map { $0.contains("151 events were committed") || $0.contains("no Switchboard schema") } == true)
        #expect(!SQLiteEventStore.inspect(path: restored).isSound)
    }

    @Test func aZeroLengthFileIsRefusedAndLeftAsItIs() throws {
        let path = folder.file("empty.sqlite")
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        #expect(refusal(path)?.contains("empty (0 bytes)") == true)
        #expect(!SQLiteEventStore.inspect(path: path).isSound)
        #expect(fileBytes(path) == Data(), "a check wrote into the file")
    }

    @Test func aLogWhoseFileIsGoneButWhoseHeadRecordRemainsIsRefused() async throws {
        let image = try await crashImage()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: image + suffix) }
        #expect(refusal(image)?.contains("the file is missing") == true)
    }

    @Test func aMissingHeadRecordIsRefusedOnceTheLogHasOne() async throws {
        let image = try await crashImage()
        try FileManager.default.removeItem(atPath: image + "-head")
        #expect(refusal(image)?.contains("head record") == true)
        #expect(!SQLiteEventStore.inspect(path: image).isSound)
    }

    @Test func aTornHeadRecordFallsBackToItsOtherSlot() async throws {
        let image = try await crashImage()
        var record = try #require(fileBytes(image + "-head"))
        // The newest slot torn mid-write: the other one holds the head before it, never ahead of the log.
        let newest = try #require(HeadRecordFile.slotOffsets.map { Int($0) }.max { a, b in
            (HeadRecordFile.decode([UInt8](record), at: a)?.sequence ?? 0) < (HeadRecordFile.decode([UInt8](record), at: b)?.sequence ?? 0)
        })
        record[newest + 40] ^= 0xFF
        try record.write(to: URL(fileURLWithPath: image + "-head"))
        let store = try SQLiteEventStore(path: image)
        defer { store.close() }
        #expect(try await store.headPosition() == 151)
    }

    @Test func aLogFromBeforeHeadRecordsGetsOneAndIsCheckedFromTheStart() async throws {
        let image = try await crashImage()
        do {  // as schema 3 wrote it: no head record
            let store = try SQLiteEventStore(path: image)
            store.close()
        }
        try FileManager.default.removeItem(atPath: image + "-head")
        try rawSQL(image, "DELETE FROM switchboard_meta WHERE key = 'head_record'; UPDATE switchboard_meta SET value = 3 WHERE key = 'schema_version'")
        let store = try SQLiteEventStore(path: image)
        #expect(try await store.headPosition() == 151)
        store.close()
        let record = try #require(try HeadRecordFile(path: image + "-head", create: false).found)
        #expect(record.position == 151 && record.verifiedPosition == 151)
    }

    /// Issue 20, D19: `events`, `export` and `replay` opened the log read-write (migrating it, rewriting
    /// its head record beside a running server). Opened for reading, nothing in its files changes.
    @Test func aLogOpenedForReadingIsReadAndLeftAsItWas() async throws {
        let image = try await crashImage()
        let files = ["", "-wal", "-head"].map { image + $0 }
        let before = files.map(fileBytes)
        let store = try SQLiteEventStore.openForReading(path: image)
        #expect(try await store.headPosition() == 151)
        #expect(try await store.readAll(after: 0, limit: 1000).count == 151)
        do {
            try await store.append([event()], to: "organisation", expectedVersion: .any)
            Issue.record("a log opened for reading took an append")
        } catch EventStoreError.readOnly(let path) {
            #expect(path == image)
        }
        store.close()
        #expect(files.map(fileBytes) == before, "reading the log wrote into its files")

        // A log an older Switchboard wrote is refused (serve upgrades it), not migrated by a reader.
        try rawSQL(image, "UPDATE switchboard_meta SET value = 3 WHERE key = 'schema_version'")
        // (SQLite's own reader may leave an empty -wal beside a file in WAL mode: it holds nothing.)
        let older = [image, image + "-head"].map(fileBytes)
        #expect(throws: EventStoreError.self) { try SQLiteEventStore.openForReading(path: image) }
        #expect([image, image + "-head"].map(fileBytes) == older)
        #expect(fileBytes(image + "-wal").map(\.isEmpty) ?? true)
        // No log there: refused, and none is made.
        let nowhere = folder.file("nowhere.sqlite")
        #expect(throws: EventStoreError.self) { try SQLiteEventStore.openForReading(path: nowhere) }
        #expect(!FileManager.default.fileExists(atPath: nowhere) && !FileManager.default.fileExists(atPath: nowhere + "-head"))
    }

    @Test func acceptingTheHeadAfterALossLetsTheShorterLogOpen() async throws {
        let image = try await crashImage()
        try FileManager.default.removeItem(atPath: image + "-wal")
        // A main file that never saw a checkpoint has no log in it: nothing to accept.
        #expect(throws: EventStoreError.self) { try SQLiteEventStore.acceptHead(path: image) }

        // One that was checkpointed at 100 and lost the rest: accepted at 100, on the operator's word.
        let live = folder.file("checkpointed.sqlite")
        let store = try SQLiteEventStore(path: live)
        for _ in 1...100 { try await store.append([event()], to: "organisation", expectedVersion: .any) }
        try rawSQL(live, "PRAGMA wal_checkpoint(TRUNCATE)")
        for _ in 1...20 { try await store.append([event()], to: "organisation", expectedVersion: .any) }
        let lost = folder.file("lost.sqlite")
        for suffix in ["", "-head"] { try FileManager.default.copyItem(atPath: live + suffix, toPath: lost + suffix) }
        store.close()
        #expect(refusal(lost)?.contains("the log ends at position 100, but 120 events were committed") == true)
        let accepted = try SQLiteEventStore.acceptHead(path: lost)
        #expect(accepted.before?.position == 120 && accepted.after.position == 100)
        let reopened = try SQLiteEventStore(path: lost)
        defer { reopened.close() }
        #expect(try await reopened.headPosition() == 100)
    }
}

/// SQL run on a log's file from outside the store, as another tool would.
func rawSQL(_ path: String, _ sql: String) throws {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { throw CocoaError(.fileReadUnknown) }
    defer { sqlite3_close(db) }
    guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
        throw NSError(domain: "sqlite", code: 1, userInfo: [NSLocalizedDescriptionKey: String(cString: sqlite3_errmsg(db))])
    }
}
