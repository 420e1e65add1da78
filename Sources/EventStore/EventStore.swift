import Foundation
import SwitchboardJSON
import SwitchboardBasics

/// An event to append. Its `id` makes appends idempotent: an id already in the log is skipped.
public struct NewEvent: Sendable, Hashable {
    public var id: UUID
    public var type: String
    public var version: Int
    public var time: Timestamp
    /// The session the event belongs to, when there is one.
    public var correlationId: String?
    /// The event's `data`: one JSON object, stored byte for byte.
    public var data: [UInt8]

    public init(id: UUID, type: String, version: Int, time: Timestamp, correlationId: String?, data: [UInt8]) {
        self.id = id
        self.type = type
        self.version = version
        self.time = time
        self.correlationId = correlationId
        self.data = data
    }
}

/// An event as stored: the envelope the log adds, and the hash that chains it to its predecessor.
public struct RecordedEvent: Sendable, Hashable {
    /// Global position in the log: gapless, starting at 1.
    public var position: Int64
    public var stream: String
    /// Position within the stream: gapless, starting at 1.
    public var streamVersion: Int64
    public var id: UUID
    public var type: String
    public var version: Int
    public var time: Timestamp
    public var correlationId: String?
    public var data: [UInt8]
    /// SHA-256 over the previous event's hash and this event's canonical bytes.
    public var hash: [UInt8]

    public init(position: Int64, stream: String, streamVersion: Int64, id: UUID, type: String, version: Int,
                time: Timestamp, correlationId: String?, data: [UInt8], hash: [UInt8]) {
        self.position = position
        self.stream = stream
        self.streamVersion = streamVersion
        self.id = id
        self.type = type
        self.version = version
        self.time = time
        self.correlationId = correlationId
        self.data = data
        self.hash = hash
    }
}

/// The fields of a stored event that projections fold.
public struct ScannedEvent: Sendable {
    public var position: Int64
    public var type: String
    public var version: Int
    public var time: Timestamp
    public var data: [UInt8]

    public init(position: Int64, type: String, version: Int, time: Timestamp, data: [UInt8]) {
        self.position = position
        self.type = type
        self.version = version
        self.time = time
        self.data = data
    }
}

extension RecordedEvent {
    /// `new` as the log stores it: at `position`, as version `streamVersion` of `stream` (hash still empty).
    init(_ new: NewEvent, position: Int64, stream: String, streamVersion: Int64) {
        self.init(position: position, stream: stream, streamVersion: streamVersion, id: new.id, type: new.type,
                  version: new.version, time: new.time, correlationId: new.correlationId, data: new.data, hash: [])
    }
}

/// What the writer expects a stream's version to be before the append (optimistic concurrency).
public enum ExpectedVersion: Sendable, Hashable {
    /// No check.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream's last event must have this version.
    case exact(Int64)

    func admits(_ current: Int64) -> Bool {
        switch self {
        case .any: true
        case .noStream: current == 0
        case .exact(let version): current == version
        }
    }
}

/// Events for one stream inside an append.
public struct StreamWrite: Sendable, Hashable {
    public var stream: String
    public var expectedVersion: ExpectedVersion
    public var events: [NewEvent]

    public init(stream: String, expectedVersion: ExpectedVersion, events: [NewEvent]) {
        self.stream = stream
        self.expectedVersion = expectedVersion
        self.events = events
    }
}

/// The outcome of a successful append.
public struct AppendResult: Sendable, Hashable {
    /// The events that were written now (ids already in the log are left out).
    public var recorded: [RecordedEvent]
    /// Each written stream's version after the append.
    public var streamVersions: [String: Int64]
    /// The log's last position after the append.
    public var position: Int64
}

public enum EventStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stream was not at the version the writer expected.
    case wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: Int64)
    /// The file cannot be opened (missing folder, permissions, …).
    case cannotOpen(path: String, reason: String)
    /// The file is not a Switchboard event log, or it is damaged.
    case corrupt(path: String, reason: String)
    /// An append was refused before it reached the log.
    case invalidAppend(String)
    /// The underlying database failed.
    case storage(String)
    /// The store is closed.
    case closed
    /// The store was opened to be read (`SQLiteEventStore.openForReading`): nothing is written.
    case readOnly(path: String)

    public var description: String {
        switch self {
        case .wrongExpectedVersion(let stream, let expected, let actual):
            "stream \(stream) is at version \(actual), expected \(expected)"
        case .cannotOpen(let path, let reason): "cannot open event store \(path): \(reason)"
        case .corrupt(let path, let reason): "event store \(path) is corrupt or not a Switchboard store: \(reason)"
        case .invalidAppend(let reason): "invalid append: \(reason)"
        case .storage(let reason): "storage error: \(reason)"
        case .closed: "the event store is closed"
        case .readOnly(let path): "event store \(path) is open for reading only"
        }
    }
}

/// The durable event log. The embedded SQLite store implements it on one machine; a PostgreSQL store
/// will implement it for several. Both must pass `EventStoreContract`'s suite.
public protocol EventStore: Sendable {
    /// Appends atomically: every write or none. Returns only when the events are durable.
    @discardableResult
    func append(_ writes: [StreamWrite]) async throws -> AppendResult
    /// Events after a global position, in order, at most `limit`.
    func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent]
    /// The part of each event a fold needs, after `position`, in order, at most `limit`, handed to
    /// `body` one by one. Rebuilding projections at start-up reads the whole log through this, so it
    /// skips what a fold does not use (stream names, ids, hashes). Returns how many were read.
    func scan(after position: Int64, limit: Int, _ body: (ScannedEvent) throws -> Void) async throws -> Int
    /// One stream's events after a stream version, in order, at most `limit`.
    func readStream(_ stream: String, after version: Int64, limit: Int) async throws -> [RecordedEvent]
    /// The events whose `correlationId` is `correlationId` (a session's), after a global position, in
    /// order, at most `limit` — from an index, not a scan of the log.
    func readCorrelated(_ correlationId: String, after position: Int64, limit: Int) async throws -> [RecordedEvent]
    /// The last position whose event time is at or before `time` (0 when there is none).
    func position(at time: Timestamp) async throws -> Int64
    /// The last position in the log (0 when empty).
    func headPosition() async throws -> Int64
    /// History after `position`, then live events, with no gap and no duplicate.
    func subscribe(after position: Int64) -> EventSubscription
    /// Walks the hash chain and reports the first event that does not match.
    func verify() async throws -> ChainVerification
}

extension EventStore {
    /// A `scan` for stores without a leaner read: reads whole events.
    public func scanByReadingAll(after position: Int64, limit: Int, _ body: (ScannedEvent) throws -> Void) async throws -> Int {
        let page = try await readAll(after: position, limit: limit)
        for event in page {
            try body(ScannedEvent(position: event.position, type: event.type, version: event.version, time: event.time,
                                  data: event.data))
        }
        return page.count
    }

    /// One stream's events after a *global* position, in order, at most `limit` (the event API's
    /// `?stream=S&after=N`). A stream's versions grow with positions, so this pages the stream by
    /// version and skips what lies before `position`, holding one page at a time.
    public func readStream(_ stream: String, afterPosition position: Int64, limit: Int,
                           pageSize: Int = 512) async throws -> [RecordedEvent] {
        var result: [RecordedEvent] = []
        var version: Int64 = 0
        while result.count < limit {
            let page = try await readStream(stream, after: version, limit: pageSize)
            guard let last = page.last else { break }
            result += page.lazy.filter { $0.position > position }.prefix(limit - result.count)
            version = last.streamVersion
        }
        return result
    }

    /// Appends to one stream.
    @discardableResult
    public func append(_ events: [NewEvent], to stream: String, expectedVersion: ExpectedVersion) async throws
        -> AppendResult
    {
        try await append([StreamWrite(stream: stream, expectedVersion: expectedVersion, events: events)])
    }
}

/// The result of walking the hash chain.
public struct ChainVerification: Sendable, Hashable {
    public var eventsChecked: Int64
    /// The first position whose stored hash (or position) is not what the chain requires.
    public var firstBadPosition: Int64?
    public var problem: String?
    /// The last hash of the chain, hex; export it to detect truncation later.
    public var headHash: String

    public var isIntact: Bool { firstBadPosition == nil }
}

/// What a read-only check of a log found (`SQLiteEventStore.inspect`): the chain, and anything else
/// wrong with the files — SQLite's integrity check, a head record the log is behind.
public struct StoreInspection: Sendable {
    /// `nil` when the file could not be read as a log at all.
    public var chain: ChainVerification?
    public var problems: [String]
    public var isSound: Bool { problems.isEmpty && chain?.isIntact == true }
}
