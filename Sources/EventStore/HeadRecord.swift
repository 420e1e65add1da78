import Crypto
import Foundation

/// What the log is known to hold, kept outside the SQLite file pair: the last committed position and
/// its hash, and the point up to which the chain was last verified at start-up.
///
/// SQLite keeps recent commits only in the `-wal` file; lose or damage it (or restore the main file
/// alone) and SQLite opens a shorter log without complaint. PostgreSQL refuses to start without the
/// WAL position its control file names; this is that control file. It is written after each
/// commit's sync, so it is never ahead of what is durable: a log behind it lost acknowledged events.
public struct HeadRecord: Equatable, Sendable {
    /// The last committed position and its event's hash (`EventHashing.genesis` for an empty log).
    public var position: Int64
    public var hash: [UInt8]
    /// The chain was checked from the start up to here (inclusive); start-up checks from here on.
    public var verifiedPosition: Int64
    public var verifiedHash: [UInt8]

    public init(position: Int64, hash: [UInt8], verifiedPosition: Int64, verifiedHash: [UInt8]) {
        self.position = position; self.hash = hash
        self.verifiedPosition = verifiedPosition; self.verifiedHash = verifiedHash
    }

    static let empty = HeadRecord(position: 0, hash: EventHashing.genesis, verifiedPosition: 0, verifiedHash: EventHashing.genesis)

    /// Where a log's head record lives: beside the real file (SQLite also follows symlinks to name
    /// its `-wal`), so every path to one log finds the same record.
    public static func path(forLog path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path + "-head"
    }
}

/// The head record's file: two slots in different sectors, written in turn, each with a sequence
/// number and a checksum. A write torn by a crash spoils one slot; the other still holds the previous
/// head, which is never ahead of the log.
final class HeadRecordFile {
    static let magic = Array("SWBHEAD1".utf8)
    static let slotBytes = 128
    static let slotOffsets: [UInt64] = [0, 512]

    let path: String
    private let handle: FileHandle
    private var sequence: UInt64

    /// What the file held when opened: `nil` for a file just created.
    let found: HeadRecord?

    enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case damaged
        var description: String {
            switch self {
            case .unreadable(let reason): reason
            case .damaged: "neither of its two slots holds a valid record"
            }
        }
    }

    /// Opens the record at `path`, creating it (mode 0600) only when `create`.
    init(path: String, create: Bool) throws(Failure) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists {
            guard create, FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw .unreadable("cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forUpdatingAtPath: path) else { throw .unreadable("cannot open \(path)") }
        self.handle = handle
        guard exists else {
            found = nil
            sequence = 0
            return
        }
        let bytes = [UInt8]((try? handle.readToEnd()) ?? Data())
        let slots = Self.slotOffsets.compactMap { Self.decode(bytes, at: Int($0)) }
        guard let newest = slots.max(by: { $0.sequence < $1.sequence }) else {
            try? handle.close()
            throw .damaged
        }
        found = newest.record
        sequence = newest.sequence
    }

    deinit { try? handle.close() }

    /// Writes `record` into the slot not holding the newest one, then syncs it to disk.
    func write(_ record: HeadRecord) throws {
        sequence += 1
        try handle.seek(toOffset: Self.slotOffsets[Int(sequence % 2)])
        try handle.write(contentsOf: Self.encode(record, sequence: sequence))
        try handle.synchronize()
    }

    func close() { try? handle.close() }

    static func encode(_ record: HeadRecord, sequence: UInt64) -> [UInt8] {
        var bytes = magic
        func append(_ value: UInt64) { bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
        append(sequence)
        append(UInt64(bitPattern: record.position))
        bytes += record.hash
        append(UInt64(bitPattern: record.verifiedPosition))
        bytes += record.verifiedHash
        bytes += SHA256.hash(data: bytes)
        return bytes
    }

    static func decode(_ bytes: [UInt8], at offset: Int) -> (record: HeadRecord, sequence: UInt64)? {
        guard offset >= 0, bytes.count >= offset + slotBytes else { return nil }
        let slot = Array(bytes[offset..<offset + slotBytes])
        guard slot.starts(with: magic), Array(SHA256.hash(data: slot[0..<96])) == Array(slot[96..<128]) else { return nil }
        func value(_ at: Int) -> UInt64 { slot[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        let record = HeadRecord(position: Int64(bitPattern: value(16)), hash: Array(slot[24..<56]),
                                verifiedPosition: Int64(bitPattern: value(56)), verifiedHash: Array(slot[64..<96]))
        return (record, value(8))
    }
}
