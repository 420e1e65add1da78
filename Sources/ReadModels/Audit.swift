import DialerCore
import EventStore
import WritePath
import SwitchboardBasics

/// What an auditor reads: a session's story and any projection as it was at a past position — all
/// folded by the same `evolve` as the live projections, from the log alone (no engine, no carrier:
/// a replay has no side effects).
public struct Audit: Sendable {
    public let store: any EventStore

    public init(store: any EventStore) { self.store = store }

    /// A log position from an `at` value: a position as it is, or the last position at or before a time.
    public enum Point: Sendable, Hashable {
        case position(Int64)
        case time(Timestamp)
    }

    public func position(of point: Point) async throws -> Int64 {
        switch point {
        case .position(let position): min(position, try await store.headPosition())
        case .time(let time): try await store.position(at: time)
        }
    }

    /// Every event that belongs to `session`, in log order: its own stream and its batches' (by
    /// correlation id, from the index) and its queue's events while it ran (pauses, contacts added).
    public func timeline(of session: SessionID, after position: Int64 = 0, limit: Int) async throws -> [RecordedEvent] {
        let limit = max(1, limit)
        let own = try await store.readCorrelated(session.rawValue, after: position, limit: limit)
        guard let bounds = try await lifetime(of: session) else { return own }
        let queueEvents = try await store.readStream(EventSubject.Stream.queue(bounds.queue).name, afterPosition: max(position, bounds.start),
                                                     limit: limit)
            .filter { $0.position <= bounds.end && $0.correlationId != session.rawValue }
        var merged = own + queueEvents
        merged.sort { $0.position < $1.position }
        return Array(merged.prefix(limit))
    }

    /// The projections of `session` and its batches as they were at `position`: a fold of the
    /// session's own events only (a few hundred, from the index, however long the log).
    public func sessionState(_ session: SessionID, at position: Int64) async throws -> DialerState {
        var state = DialerState()
        var after: Int64 = 0
        while after < position {
            let page = try await store.readCorrelated(session.rawValue, after: after, limit: 1024)
            guard let last = page.last else { break }
            for event in page where event.position <= position { try state.apply(event) }
            after = last.position
        }
        return state
    }

    /// Every projection as it was at `position`: a fold of the log up to it.
    public func state(at position: Int64) async throws -> DialerState {
        var state = DialerState()
        for try await event in store.events() {
            guard event.position <= position else { break }
            try state.apply(event)
        }
        return state
    }

    /// The queue a session worked and the positions it started and ended at (the head if it runs on).
    private func lifetime(of session: SessionID) async throws -> (queue: QueueID, start: Int64, end: Int64)? {
        var bounds: (queue: QueueID, start: Int64, end: Int64)?
        var version: Int64 = 0
        while true {
            let page = try await store.readStream(EventSubject.Stream.session(session).name, after: version, limit: 256)
            guard let last = page.last else { break }
            for event in page {
                if bounds == nil, case .sessionStarted(let e) = try EventCodec.decode(event) {
                    bounds = (e.queueId, event.position, try await store.headPosition())
                } else if event.type == SessionEnded.type.rawValue {
                    bounds?.end = event.position
                }
            }
            version = last.streamVersion
        }
        return bounds
    }
}
