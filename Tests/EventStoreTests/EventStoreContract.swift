import EventStore
import Foundation
import SwitchboardJSON
import SwitchboardTestSupport
import Testing
import SwitchboardBasics

/// Every `EventStore` implementation must pass this suite. A new implementation (PostgreSQL) adds a
/// case to `StoreKind` and a way to make an empty store; the tests stay the same.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite

    var testDescription: String { rawValue }

    func makeEmpty() throws -> (store: any EventStore, cleanup: @Sendable () -> Void) {
        switch self {
        case .sqlite:
            let folder = try TemporaryFolder()
            let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
            return (store, {
                store.close()
                _ = folder  // removed once the test lets go of it
            })
        }
    }
}

func event(_ type: String = "thing.happened", id: UUID = UUID(), ms: Int64 = 1_767_625_200_000,
           data: String = #"{"n":1}"#) -> NewEvent {
    NewEvent(id: id, type: type, version: 1, time: Timestamp(millisecondsSinceEpoch: ms), correlationId: "s1",
             data: Array(data.utf8))
}

@Suite("EventStore contract", .timeLimit(.minutes(1)))  // a subscription that hangs fails
struct EventStoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func appendsGetGaplessPositionsAndStreamVersions(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        #expect(try await store.headPosition() == 0)
        let first = try await store.append([event(), event()], to: "queue-a", expectedVersion: .noStream)
        #expect(first.recorded.map(\.position) == [1, 2])
        #expect(first.recorded.map(\.streamVersion) == [1, 2])
        let second = try await store.append([event()], to: "group-b", expectedVersion: .noStream)
        #expect(second.recorded.map(\.position) == [3])
        #expect(second.recorded.map(\.streamVersion) == [1])
        let third = try await store.append([event()], to: "queue-a", expectedVersion: .exact(2))
        #expect(third.recorded.map(\.streamVersion) == [3])
        #expect(third.streamVersions == ["queue-a": 3])
        let all = try await store.readAll(after: 0, limit: 100)
        #expect(all.map(\.position) == [1, 2, 3, 4])
        #expect(all.map(\.stream) == ["queue-a", "queue-a", "group-b", "queue-a"])
        #expect(try await store.headPosition() == 4)
        #expect(try await store.readAll(after: 2, limit: 1).map(\.position) == [3])
    }

    @Test(arguments: StoreKind.allCases)
    func storedEventsKeepEveryEnvelopeField(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let new = NewEvent(id: UUID(), type: "call.dialed", version: 1, time: Timestamp(millisecondsSinceEpoch: 1_767_625_200_123),
                           correlationId: nil, data: Array(#"{"to":"+15125550001","é":"ü"}"#.utf8))
        try await store.append([new], to: "group-x", expectedVersion: .any)
        let stored = try #require(try await store.readAll(after: 0, limit: 1).first)
        #expect(stored.id == new.id && stored.type == new.type && stored.version == 1 && stored.time == new.time)
        #expect(stored.correlationId == nil && stored.data == new.data && stored.hash.count == 32)
        let line = try JSONParser.parse(stored.envelopeJSON)
        #expect(line["time"]?.stringValue == "2026-01-05T15:00:00.123Z")
        #expect(line["id"]?.stringValue == new.id.uuidString.lowercased())
        #expect(line["data"]?["é"]?.stringValue == "ü")
        #expect(line.objectValue?.keys == ["position", "stream", "streamVersion", "id", "type", "version", "time",
                                          "correlationId", "data", "hash"])
    }

    @Test(arguments: StoreKind.allCases)
    func aWrongExpectedVersionIsATypedErrorAndWritesNothing(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        try await store.append([event()], to: "queue-a", expectedVersion: .noStream)
        await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "queue-a", expected: .noStream, actual: 1)) {
            try await store.append([event()], to: "queue-a", expectedVersion: .noStream)
        }
        await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "queue-a", expected: .exact(5), actual: 1)) {
            try await store.append([event()], to: "queue-a", expectedVersion: .exact(5))
        }
        await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "queue-new", expected: .exact(1), actual: 0)) {
            try await store.append([event()], to: "queue-new", expectedVersion: .exact(1))
        }
        #expect(try await store.headPosition() == 1)
        #expect(try await store.readAll(after: 0, limit: 10).count == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func anAppendAcrossStreamsIsAllOrNothing(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        try await store.append([event()], to: "queue-a", expectedVersion: .any)
        await #expect(throws: EventStoreError.self) {
            try await store.append([
                StreamWrite(stream: "group-g", expectedVersion: .noStream, events: [event(), event()]),
                StreamWrite(stream: "queue-a", expectedVersion: .exact(7), events: [event()]),
            ])
        }
        #expect(try await store.readAll(after: 0, limit: 10).map(\.stream) == ["queue-a"])
        let both = try await store.append([
            StreamWrite(stream: "group-g", expectedVersion: .noStream, events: [event(), event()]),
            StreamWrite(stream: "queue-a", expectedVersion: .exact(1), events: [event()]),
        ])
        #expect(both.recorded.map(\.position) == [2, 3, 4])
        #expect(both.streamVersions == ["group-g": 2, "queue-a": 2])
    }

    @Test(arguments: StoreKind.allCases)
    func writesToOneStreamWithinAnAppendFollowEachOther(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let result = try await store.append([
            StreamWrite(stream: "queue-a", expectedVersion: .noStream, events: [event()]),
            StreamWrite(stream: "group-b", expectedVersion: .noStream, events: [event()]),
            StreamWrite(stream: "queue-a", expectedVersion: .exact(1), events: [event(), event()]),
        ])
        #expect(result.recorded.map(\.streamVersion) == [1, 1, 2, 3])
        await #expect(throws: EventStoreError.self) {
            try await store.append([
                StreamWrite(stream: "queue-a", expectedVersion: .exact(3), events: [event()]),
                StreamWrite(stream: "queue-a", expectedVersion: .exact(3), events: [event()]),
            ])
        }
        #expect(try await store.headPosition() == 4)
    }

    @Test(arguments: StoreKind.allCases)
    func appendingTheSameEventIdTwiceIsANoOp(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let id = UUID()
        try await store.append([event(id: id)], to: "queue-a", expectedVersion: .noStream)
        // A retry of the same append (same ids, same expected version) succeeds and writes nothing.
        let retry = try await store.append([event(id: id)], to: "queue-a", expectedVersion: .noStream)
        #expect(retry.recorded.isEmpty)
        // A batch with one known id and one new one only writes the new one.
        let mixed = try await store.append([event(id: id), event()], to: "queue-a", expectedVersion: .exact(1))
        #expect(mixed.recorded.map(\.position) == [2])
        // The same id twice in one append is stored once.
        let twice = UUID()
        let doubled = try await store.append([event(id: twice), event(id: twice)], to: "queue-b", expectedVersion: .any)
        #expect(doubled.recorded.count == 1)
        #expect(try await store.headPosition() == 3)
    }

    @Test(arguments: StoreKind.allCases)
    func pagesOneStreamByGlobalPosition(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        // queue-a holds positions 1, 4, 7, …, 58 among two other streams.
        for index in 0..<60 {
            try await store.append([event()], to: ["queue-a", "queue-b", "queue-c"][index % 3], expectedVersion: .any)
        }
        let all = Array(stride(from: Int64(1), through: 58, by: 3))
        // Small pages make the read cross page boundaries.
        #expect(try await store.readStream("queue-a", afterPosition: 0, limit: 100, pageSize: 4).map(\.position) == all)
        #expect(try await store.readStream("queue-a", afterPosition: 20, limit: 5, pageSize: 4).map(\.position) == [22, 25, 28, 31, 34])
        #expect(try await store.readStream("queue-a", afterPosition: 22, limit: 2, pageSize: 3).map(\.position) == [25, 28])
        #expect(try await store.readStream("queue-a", afterPosition: 58, limit: 10, pageSize: 4).isEmpty)
        #expect(try await store.readStream("queue-none", afterPosition: 0, limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func readsOneStreamInOrder(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        for index in 0..<5 {
            try await store.append([event(data: #"{"i":\#(index)}"#)], to: index.isMultiple(of: 2) ? "queue-even" : "queue-odd",
                                   expectedVersion: .any)
        }
        let even = try await store.readStream("queue-even", after: 0, limit: 10)
        #expect(even.map(\.position) == [1, 3, 5])
        #expect(even.map(\.streamVersion) == [1, 2, 3])
        #expect(try await store.readStream("queue-even", after: 1, limit: 1).map(\.streamVersion) == [2])
        #expect(try await store.readStream("queue-none", after: 0, limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentAppendersAreAllDurableAndGapless(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let writers = 32
        let perWriter = 25
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<perWriter {
                        try await store.append([event(data: #"{"w":\#(writer),"i":\#(index)}"#)],
                                               to: "session-\(writer)", expectedVersion: .exact(Int64(index)))
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try await store.readAll(after: 0, limit: 10_000)
        #expect(all.map(\.position) == Array(1...Int64(writers * perWriter)))
        for writer in 0..<writers {
            let stream = try await store.readStream("session-\(writer)", after: 0, limit: 100)
            #expect(stream.map(\.streamVersion) == Array(1...Int64(perWriter)))
        }
        #expect(try await store.verify().isIntact)
    }

    @Test(arguments: StoreKind.allCases)
    func aSessionsEventsAreReadByCorrelationAndAPointInTimeByPosition(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        func at(_ ms: Int64, _ correlation: String?) -> NewEvent {
            NewEvent(id: UUID(), type: "thing.happened", version: 1, time: Timestamp(millisecondsSinceEpoch: ms),
                     correlationId: correlation, data: Array(#"{"n":1}"#.utf8))
        }
        try await store.append([at(1000, "s1"), at(1000, "s2")], to: "group-a", expectedVersion: .noStream)
        try await store.append([at(2000, nil)], to: "queue-q", expectedVersion: .noStream)
        try await store.append([at(3000, "s1"), at(3000, "s1")], to: "session-s1", expectedVersion: .noStream)
        #expect(try await store.readCorrelated("s1", after: 0, limit: 10).map(\.position) == [1, 4, 5])
        #expect(try await store.readCorrelated("s1", after: 1, limit: 1).map(\.position) == [4])
        #expect(try await store.readCorrelated("nobody", after: 0, limit: 10).isEmpty)
        #expect(try await store.position(at: Timestamp(millisecondsSinceEpoch: 999)) == 0)
        #expect(try await store.position(at: Timestamp(millisecondsSinceEpoch: 1000)) == 2)
        #expect(try await store.position(at: Timestamp(millisecondsSinceEpoch: 2500)) == 3)
        #expect(try await store.position(at: Timestamp(millisecondsSinceEpoch: 9000)) == 5)
    }

    @Test(arguments: StoreKind.allCases)
    func aSubscriptionCatchesUpThenGoesLiveWithNoGapAndNoDuplicate(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        for _ in 0..<300 { try await store.append([event()], to: "queue-a", expectedVersion: .any) }
        let total = 1500
        // Appends race with the subscription's catch-up read.
        async let writer: Void = {
            for _ in 300..<total { try await store.append([event()], to: "queue-a", expectedVersion: .any) }
        }()
        var received: [Int64] = []
        for try await recorded in store.subscribe(after: 0) {
            received.append(recorded.position)
            if received.count == total { break }
        }
        try await writer
        #expect(received == Array(1...Int64(total)))
    }

    /// The feed writes a commit at once: a subscription's batches are whole commits, in order (or,
    /// catching up, pages of what is there); never a gap or a repeat.
    @Test(arguments: StoreKind.allCases)
    func aSubscriptionHandsOutWholeCommitsAsBatches(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let (batches, delivered) = AsyncStream<[Int64]>.makeStream()
        let reader = Task {
            for try await batch in store.subscribe(after: 0).batches { delivered.yield(batch.map(\.position)) }
        }
        defer { reader.cancel() }
        var received = batches.makeAsyncIterator()
        try await store.append([StreamWrite(stream: "group-g", expectedVersion: .any, events: [event(), event()]),
                                StreamWrite(stream: "session-s", expectedVersion: .any, events: [event()])])
        #expect(await received.next() == [1, 2, 3], "one commit of three events across two streams")
        try await store.append([event()], to: "queue-a", expectedVersion: .any)
        #expect(await received.next() == [4])
        for _ in 0..<3 { try await store.append([event()], to: "queue-a", expectedVersion: .any) }
        var rest: [Int64] = []
        while rest.count < 3, let batch = await received.next() { rest += batch }
        #expect(rest == [5, 6, 7])
    }

    @Test(arguments: StoreKind.allCases)
    func aSubscriptionStartsAfterTheGivenPosition(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        for _ in 0..<10 { try await store.append([event()], to: "queue-a", expectedVersion: .any) }
        var iterator = store.subscribe(after: 7).makeAsyncIterator()
        #expect(try await iterator.next()?.position == 8)
        #expect(try await iterator.next()?.position == 9)
        #expect(try await iterator.next()?.position == 10)
        try await store.append([event()], to: "queue-a", expectedVersion: .any)
        #expect(try await iterator.next()?.position == 11)
    }

    @Test(arguments: StoreKind.allCases)
    func manySlowSubscribersStillSeeEveryEventInOrder(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let total = 3000
        try await withThrowingTaskGroup(of: [Int64].self) { group in
            for subscriber in 0..<4 {
                group.addTask {
                    var seen: [Int64] = []
                    for try await recorded in store.subscribe(after: 0) {
                        seen.append(recorded.position)
                        if subscriber == 0, seen.count % 100 == 0 { try await Task.sleep(for: .milliseconds(2)) }
                        if seen.count == total { break }
                    }
                    return seen
                }
            }
            for batch in stride(from: 0, to: total, by: 10) {
                try await store.append((0..<10).map { _ in event() }, to: "queue-\(batch % 7)", expectedVersion: .any)
            }
            for try await seen in group { #expect(seen == Array(1...Int64(total))) }
        }
    }

    /// Read-your-writes: once an append has returned, the head includes it. Waiting for a projection
    /// to reach `headPosition()` relies on it (a stale head once let such a wait return early).
    @Test(arguments: StoreKind.allCases)
    func aReturnedAppendIsAlwaysWithinTheHead(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let stale = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    var stale = 0
                    for _ in 0..<100 {
                        let result = try await store.append([event()], to: "queue-\(writer)", expectedVersion: .any)
                        if try await store.headPosition() < result.position { stale += 1 }
                    }
                    return stale
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(stale == 0)
        #expect(try await store.headPosition() == 1600)
    }

    @Test(arguments: StoreKind.allCases)
    func theHashChainVerifies(kind: StoreKind) async throws {
        let (store, cleanup) = try kind.makeEmpty()
        defer { cleanup() }
        let empty = try await store.verify()
        #expect(empty.isIntact && empty.eventsChecked == 0)
        var previous = EventHashing.genesis
        for index in 0..<20 {
            let result = try await store.append([event(data: #"{"i":\#(index)}"#)], to: "queue-a", expectedVersion: .any)
            let recorded = try #require(result.recorded.first)
            #expect(recorded.hash == EventHashing.hash(previous: previous, event: recorded))
            previous = recorded.hash
        }
        let report = try await store.verify()
        #expect(report.isIntact && report.eventsChecked == 20)
        #expect(report.headHash == EventHashing.hex(previous))
    }
}
