import Synchronization

/// Fans newly committed events out to live subscribers.
///
/// Each subscriber gets a bounded buffer; one that falls behind loses the oldest batches, which
/// `EventSubscription` notices as a gap and fills from the log. So a slow reader never blocks the
/// writer, and never misses an event either.
public final class LiveFeed: Sendable {
    public static let bufferedBatches = 1024

    private struct State {
        var nextId: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<[RecordedEvent]>.Continuation] = [:]
        var finished = false
    }

    private let state = Mutex(State())

    public init() {}

    /// A live stream of batches committed after this call returns.
    public func register() -> AsyncStream<[RecordedEvent]> {
        let (stream, continuation) = AsyncStream<[RecordedEvent]>.makeStream(
            bufferingPolicy: .bufferingNewest(Self.bufferedBatches))
        let id: UInt64? = state.withLock { state in
            guard !state.finished else { return nil }
            state.nextId += 1
            state.subscribers[state.nextId] = continuation
            return state.nextId
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Hands a committed batch (in log order) to every subscriber. Called by the writer after COMMIT.
    public func publish(_ batch: [RecordedEvent]) {
        guard !batch.isEmpty else { return }
        let continuations = state.withLock { Array($0.subscribers.values) }
        for continuation in continuations { continuation.yield(batch) }
    }

    /// Ends every live stream (the store is closing).
    public func finish() {
        let continuations = state.withLock { state in
            state.finished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in continuations { continuation.finish() }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

/// A catch-up subscription: the log's history after a position, then live events, in order, with no
/// gap and no duplicate.
///
/// It registers for live events *before* reading history, de-duplicates by position, and whenever
/// the live stream skips a position (a slow reader's buffer overflowed) it reads the gap from the
/// log. Any store that can read by position and publish commits can use it.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    public typealias Reader = @Sendable (_ after: Int64, _ limit: Int) async throws -> [RecordedEvent]

    let after: Int64
    let pageSize: Int
    let read: Reader
    let live: LiveFeed

    public init(after: Int64, pageSize: Int = 512, live: LiveFeed, read: @escaping Reader) {
        self.after = after
        self.pageSize = pageSize
        self.read = read
        self.live = live
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(last: after, pageSize: pageSize, read: read, live: live.register().makeAsyncIterator())
    }

    /// The same events, as they come: each element is the consecutive events at hand together — one
    /// commit when live, a page when catching up — so a reader can handle a commit at once (the feed
    /// writes a commit to each socket in one go).
    public var batches: Batches { Batches(subscription: self) }

    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = [RecordedEvent]
        let subscription: EventSubscription
        public func makeAsyncIterator() -> BatchIterator { BatchIterator(events: subscription.makeAsyncIterator()) }
    }

    public struct BatchIterator: AsyncIteratorProtocol {
        var events: Iterator
        public mutating func next() async throws -> [RecordedEvent]? {
            guard let first = try await events.next() else { return nil }
            var batch = [first]
            while let more = events.nextBuffered() { batch.append(more) }
            return batch
        }
    }

    public struct Iterator: AsyncIteratorProtocol {
        var last: Int64
        let pageSize: Int
        let read: Reader
        var live: AsyncStream<[RecordedEvent]>.Iterator
        var buffered: [RecordedEvent] = []
        var bufferIndex = 0
        var catchingUp = true

        /// The next event if it is already at hand and follows the last one (no waiting, no reading).
        mutating func nextBuffered() -> RecordedEvent? {
            while bufferIndex < buffered.count {
                let event = buffered[bufferIndex]
                if event.position <= last {
                    bufferIndex += 1
                    continue
                }
                guard event.position == last + 1 else { return nil }  // a gap: next() reads it from the log
                bufferIndex += 1
                last = event.position
                return event
            }
            return nil
        }

        public mutating func next() async throws -> RecordedEvent? {
            while true {
                if bufferIndex < buffered.count {
                    let event = buffered[bufferIndex]
                    bufferIndex += 1
                    if event.position <= last { continue }
                    if event.position > last + 1 {
                        // A gap: fetch it from the log before going on.
                        catchingUp = true
                        buffered = []
                        bufferIndex = 0
                        continue
                    }
                    last = event.position
                    return event
                }
                try Task.checkCancellation()
                if catchingUp {
                    let page = try await read(last, pageSize)
                    if page.isEmpty {
                        catchingUp = false
                    } else {
                        buffered = page
                        bufferIndex = 0
                    }
                    continue
                }
                guard let batch = await live.next() else { return nil }
                buffered = batch
                bufferIndex = 0
            }
        }
    }
}
