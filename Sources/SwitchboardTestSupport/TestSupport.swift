import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardBasics

// Test support shared by every test target: real parts with a fault or a record added, never mocks.

/// A folder removed when the test ends.
public final class TemporaryFolder: Sendable {
    public let url: URL
    public init() throws { url = try Self.make() }

    /// A new empty folder that stays until removed (an engine harness keeps its log across a "crash").
    public static func make() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
    public func file(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Every number the carriers were asked to dial, across engines and restarts.
public final class PlacementLog: Sendable {
    private let placed = Mutex<[(number: String, reference: String)]>([])
    public init() {}
    public func add(_ request: PlaceCallRequest) { placed.withLock { $0.append((request.to.e164, request.reference.description)) } }
    public var numbers: [String] { placed.withLock { $0.map(\.number) } }
    public var count: Int { placed.withLock { $0.count } }
    public var distinctCalls: Int { placed.withLock { Set($0.map(\.reference)).count } }
    /// Every placed call as `group/call`, in order.
    public var references: [String] { placed.withLock { $0.map(\.reference) } }
}

/// A carrier that notes every placement before passing it on.
public final class RecordingCarrier: CarrierAdapter {
    let inner: any CarrierAdapter
    let log: PlacementLog
    public init(_ inner: any CarrierAdapter, log: PlacementLog) {
        self.inner = inner
        self.log = log
    }
    public func connect(_ sink: any CarrierEventSink) { inner.connect(sink) }
    public func placeCall(_ request: PlaceCallRequest) {
        log.add(request)
        inner.placeCall(request)
    }
    public func cancel(_ reference: CallReference) { inner.cancel(reference) }
    public func hangUp(_ reference: CallReference) { inner.hangUp(reference) }
    public func bridge(_ reference: CallReference, to agent: AgentID) { inner.bridge(reference, to: agent) }
    public func playSafeHarbor(_ reference: CallReference, message: String) { inner.playSafeHarbor(reference, message: message) }
    public func liveCalls() -> Set<CallReference> { inner.liveCalls() }
    public func connectAgent(_ session: SessionID, agent: AgentID, endpoint: String, callerId: PhoneNumber) {
        inner.connectAgent(session, agent: agent, endpoint: endpoint, callerId: callerId)
    }
    public func disconnectAgent(_ session: SessionID) { inner.disconnectAgent(session) }
    public func liveAgents() -> Set<SessionID> { inner.liveAgents() }
}

/// A real store with a fault injected into chosen appends.
public final class FaultyStore: EventStore {
    public enum Fault: Sendable {
        case pass
        /// Fails as a storage error would: nothing is written.
        case fail
        /// Writes, then fails as if the process died before hearing back.
        case failAfterWriting
        /// Runs another writer first, then appends (which the store may then refuse).
        case before(@Sendable () async throws -> Void)
    }

    let inner: SQLiteEventStore
    let fault: @Sendable ([StreamWrite]) -> Fault
    /// Subscriptions fail at their first read (as a log that can no longer be read would).
    public let failsSubscriptions: Bool
    private let refused = Mutex(0)
    /// How many appends the real store refused for a wrong expected version.
    public var refusals: Int { refused.withLock { $0 } }
    private let read = Mutex(0)
    /// Events read through `readAll` and `scan` (a fold of the log reads them; a subscription does not).
    public var eventsRead: Int { read.withLock { $0 } }

    public init(_ inner: SQLiteEventStore, failsSubscriptions: Bool = false,
                fault: @escaping @Sendable ([StreamWrite]) -> Fault = { _ in .pass }) {
        self.inner = inner
        self.failsSubscriptions = failsSubscriptions
        self.fault = fault
    }

    public func append(_ writes: [StreamWrite]) async throws -> AppendResult {
        switch fault(writes) {
        case .pass: break
        case .fail: throw EventStoreError.storage("injected failure")
        case .failAfterWriting:
            _ = try await inner.append(writes)
            throw EventStoreError.storage("injected failure after writing")
        case .before(let other): try await other()
        }
        do {
            return try await inner.append(writes)
        } catch let error as EventStoreError {
            if case .wrongExpectedVersion = error { refused.withLock { $0 += 1 } }
            throw error
        }
    }
    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        let page = try await inner.readAll(after: position, limit: limit)
        read.withLock { $0 += page.count }
        return page
    }
    public func scan(after position: Int64, limit: Int, _ body: (ScannedEvent) throws -> Void) async throws -> Int {
        let count = try await inner.scan(after: position, limit: limit, body)
        read.withLock { $0 += count }
        return count
    }
    public func readStream(_ stream: String, after version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await inner.readStream(stream, after: version, limit: limit)
    }
    public func headPosition() async throws -> Int64 { try await inner.headPosition() }
    public func readCorrelated(_ correlationId: String, after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await inner.readCorrelated(correlationId, after: position, limit: limit)
    }
    public func position(at time: Timestamp) async throws -> Int64 { try await inner.position(at: time) }
    public func subscribe(after position: Int64) -> EventSubscription {
        guard failsSubscriptions else { return inner.subscribe(after: position) }
        return EventSubscription(after: position, live: LiveFeed()) { _, _ in throw EventStoreError.storage("injected read failure") }
    }
    public func verify() async throws -> ChainVerification { try await inner.verify() }
}

/// A fresh SQLite log in its own folder, removed afterwards.
public final class TemporaryStore: Sendable {
    private let folder: TemporaryFolder
    public let store: SQLiteEventStore
    public var directory: URL { folder.url }
    public var path: String { folder.file("log.sqlite") }

    public init() throws {
        folder = try TemporaryFolder()
        store = try SQLiteEventStore(path: folder.file("log.sqlite"))
    }

    public func reopen() throws -> SQLiteEventStore {
        store.close()
        return try SQLiteEventStore(path: path)
    }

    deinit { store.close() }
}


/// A carrier that outlives the engine, as a real one does across our crash: it keeps every call it
/// was given until it is told to end it, and reports nothing (so ring guards are what ends a call).
public final class LedgerCarrier: CarrierAdapter {
    private let state = Mutex<(live: Set<CallReference>, hungUp: [CallReference])>(([], []))
    public init() {}
    /// A call the carrier has that no engine placed in this log (e.g. left from another system).
    public func adopt(_ reference: CallReference) { state.withLock { _ = $0.live.insert(reference) } }
    public var hungUp: [CallReference] { state.withLock { $0.hungUp } }
    public func connect(_ sink: any CarrierEventSink) {}
    public func placeCall(_ request: PlaceCallRequest) { state.withLock { _ = $0.live.insert(request.reference) } }
    public func cancel(_ reference: CallReference) { end(reference) }
    public func hangUp(_ reference: CallReference) { end(reference) }
    public func bridge(_ reference: CallReference, to agent: AgentID) {}
    public func playSafeHarbor(_ reference: CallReference, message: String) { end(reference) }
    public func liveCalls() -> Set<CallReference> { state.withLock { $0.live } }
    private func end(_ reference: CallReference) {
        state.withLock { state in
            if state.live.remove(reference) != nil { state.hungUp.append(reference) }
        }
    }
}

extension FaultyStore: CredentialStore {
    public func saveCredential(tokenId: String, hash: [UInt8]) async throws { try await inner.saveCredential(tokenId: tokenId, hash: hash) }
    public func tokenId(forHash hash: [UInt8]) async throws -> String? { try await inner.tokenId(forHash: hash) }
}

extension SessionSettings {
    /// The product's defaults without the wrap-up: the fixtures' sessions go from one conversation
    /// to the next batch at once, so a test's timeline holds what it is about; a test of the
    /// agent's time after a call gives its own settings.
    public static let backToBack = SessionSettings(wrapUpMs: 0)
}
