/// The log after a position as an `AsyncSequence`, read a page at a time: the one way to walk the log,
/// so no caller writes its own paging loop. Ends at the head as it was when each page was read.
public struct LogEvents: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent

    let store: any EventStore
    let position: Int64
    let pageSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let store: any EventStore
        let pageSize: Int
        var position: Int64
        var page: [RecordedEvent] = []
        var index = 0
        var finished = false

        public mutating func next() async throws -> RecordedEvent? {
            if index == page.count {
                guard !finished else { return nil }
                page = try await store.readAll(after: position, limit: pageSize)
                index = 0
                guard let last = page.last else {
                    finished = true
                    return nil
                }
                position = last.position
            }
            defer { index += 1 }
            return page[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(store: store, pageSize: pageSize, position: position)
    }
}

extension EventStore {
    /// Every event after `position`, in log order, read `pageSize` at a time.
    public func events(after position: Int64 = 0, pageSize: Int = 4096) -> LogEvents {
        LogEvents(store: self, position: position, pageSize: max(1, pageSize))
    }
}
