@testable import EventStore
import Dispatch
import Foundation
import SwitchboardBasics
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

/// Reads run beside each other: a read that holds its connection (a verify of a long log) delays no
/// other read while connections remain, and a read that finds none waits for one, then runs.
@Suite("Reader pool", .timeLimit(.minutes(1)))
struct ReaderPoolTests {
    let folder: TemporaryFolder

    init() throws { folder = try TemporaryFolder() }

    /// A read that holds its connection until `release` is signalled, and says when it holds it.
    static func hold(_ store: SQLiteEventStore, until release: DispatchSemaphore) async -> (held: DispatchSemaphore, done: Task<Void, any Error>) {
        let held = DispatchSemaphore(value: 0)
        let done = Task {
            try await store.readers.read { _ in
                held.signal()
                release.wait()
            }
        }
        await Task.detached { held.wait() }.value
        return (held, done)
    }

    @Test func whileOneReadHoldsAConnectionEveryOtherKindOfReadIsAnswered() async throws {
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { store.close() }
        for n in 0..<20 {
            try await store.append([NewEvent(id: UUID(), type: "note", version: 1, time: Timestamp(millisecondsSinceEpoch: 1_000 + Int64(n)),
                                             correlationId: "s-1", data: Array(#"{"n":\#(n)}"#.utf8))], to: "notes", expectedVersion: .any)
        }
        let release = DispatchSemaphore(value: 0)
        let long = await Self.hold(store, until: release)
        // The held read has not finished, and these all are answered meanwhile.
        #expect(try await store.verify().eventsChecked == 20)
        #expect(try await store.readAll(after: 0, limit: 100).count == 20)
        #expect(try await store.readStream("notes", after: 0, limit: 100).count == 20)
        #expect(try await store.readCorrelated("s-1", after: 10, limit: 100).count == 10)
        #expect(try await store.scan(after: 5, limit: 100) { _ in } == 15)
        #expect(try await store.position(at: Timestamp(millisecondsSinceEpoch: 1_004)) == 5)
        release.signal()
        try await long.done.value
    }

    @Test func aReadThatFindsEveryConnectionHeldWaitsForOneAndThenRuns() async throws {
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { store.close() }
        let release = DispatchSemaphore(value: 0)
        var held: [Task<Void, any Error>] = []
        for _ in 0..<store.readers.size { held.append(await Self.hold(store, until: release).done) }
        let waiting = Task { try await store.readAll(after: 0, limit: 10) }
        // It waits: every connection is held. Give one back and it runs.
        while store.readers.waitingReads == 0 { await Task.yield() }
        release.signal()
        #expect(try await waiting.value.isEmpty)
        for _ in 1..<held.count { release.signal() }
        for task in held { try await task.value }
    }

    @Test func closingFailsWaitingReadsAndLaterOnes() async throws {
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        let release = DispatchSemaphore(value: 0)
        var held: [Task<Void, any Error>] = []
        for _ in 0..<store.readers.size { held.append(await Self.hold(store, until: release).done) }
        let waiting = Task { try await store.readAll(after: 0, limit: 10) }
        while store.readers.waitingReads == 0 { await Task.yield() }
        store.readers.close()
        await #expect(throws: EventStoreError.closed) { try await waiting.value }
        await #expect(throws: EventStoreError.closed) { try await store.readAll(after: 0, limit: 1) }
        for _ in held { release.signal() }
        for task in held { try await task.value }
        store.close()
    }
}
