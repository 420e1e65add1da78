import DialerCore
import EventStore
import Foundation
import SwitchboardJSON
import SwitchboardBasics

/// Maps domain events to stored events and back.
public enum EventCodec {
    /// The stored form of `event`, with the envelope fields the log does not assign itself.
    public static func newEvent(_ event: DialerEvent, id: UUID, at time: Timestamp, correlationId: String?) -> NewEvent {
        NewEvent(id: id, type: event.type.rawValue, version: event.type.version, time: time,
                 correlationId: correlationId, data: event.encodedData)
    }

    public static func decode(_ recorded: RecordedEvent) throws -> DialerEvent {
        do {
            return try DialerEvent(type: recorded.type, version: recorded.version, data: recorded.data)
        } catch {
            throw DecodingFailure(position: recorded.position, type: recorded.type, reason: error.description)
        }
    }

    /// The writes that record `events` in the order they were decided: consecutive events of one
    /// stream share a write, and each write expects the stream's version so far (`versions` is
    /// advanced). `state` is the state the events were decided on.
    public static func writes(for events: [DialerEvent], decidedOn state: DialerState, versions: inout [String: Int64],
                              ids: any EventIDGenerator, at time: Timestamp) -> [StreamWrite] {
        var writes: [StreamWrite] = []
        for event in events {
            let stream = event.stream
            let new = newEvent(event, id: ids.next(), at: time, correlationId: correlationId(of: event, in: state))
            let version = versions[stream] ?? 0
            versions[stream] = version + 1
            if writes.last?.stream == stream {
                writes[writes.count - 1].events.append(new)
            } else {
                writes.append(StreamWrite(stream: stream, expectedVersion: version == 0 ? .noStream : .exact(version),
                                          events: [new]))
            }
        }
        return writes
    }

    /// The session an event belongs to (its `correlationId`), looked up in the state it is decided on.
    public static func correlationId(of event: DialerEvent, in state: DialerState) -> String? {
        state.subject(of: event).sessionId?.rawValue
    }
}

/// A stored event that the current code cannot read: the log is never silently skipped.
public struct DecodingFailure: Error, CustomStringConvertible, Sendable {
    public var position: Int64
    public var type: String
    public var reason: String
    public var description: String { "cannot decode event \(position) (\(type)): \(reason)" }
}

extension DialerState {
    /// Folds stored events into the state (a projection as a fold).
    public mutating func apply(_ recorded: RecordedEvent) throws {
        apply(try EventCodec.decode(recorded), position: recorded.position, at: recorded.time)
    }

    /// Folds the part of a stored event a projection needs (see `EventStore.scan`).
    public mutating func apply(_ scanned: ScannedEvent) throws {
        let event: DialerEvent
        do {
            event = try DialerEvent(type: scanned.type, version: scanned.version, data: scanned.data)
        } catch {
            throw DecodingFailure(position: scanned.position, type: scanned.type, reason: error.description)
        }
        apply(event, position: scanned.position, at: scanned.time)
    }

    /// Rebuilds the state from the whole log.
    ///
    /// Decoding and folding overlap: while one page is folded, the next is read and decoded on another
    /// thread (the fold itself stays sequential, in log order).
    public static func replay(_ store: some EventStore, pageSize: Int = 8192) async throws -> DialerState {
        try await replay(store, pageSize: pageSize) { _, _, _, _ in }
    }

    /// Rebuilds the state from the whole log, showing each event to `beforeFold` with the state it
    /// found (read models that count what an event found, as the projection host's do).
    public static func replay(_ store: some EventStore, pageSize: Int = 8192,
                              beforeFold: (DialerEvent, _ position: Int64, _ time: Timestamp, DialerState) -> Void) async throws -> DialerState {
        var state = DialerState()
        var next = Task { try await decodedPage(store, after: 0, limit: pageSize) }
        while true {
            let page = try await next.value
            guard let last = page.last else { return state }
            next = Task { try await decodedPage(store, after: last.position, limit: pageSize) }
            for decoded in page {
                beforeFold(decoded.event, decoded.position, decoded.time, state)
                state.apply(decoded.event, position: decoded.position, at: decoded.time)
            }
        }
    }

    struct DecodedEvent: Sendable {
        var event: DialerEvent
        var position: Int64
        var time: Timestamp
    }

    static func decodedPage(_ store: some EventStore, after position: Int64, limit: Int) async throws -> [DecodedEvent] {
        var page: [DecodedEvent] = []
        page.reserveCapacity(limit)
        _ = try await store.scan(after: position, limit: limit) { scanned in
            do {
                page.append(DecodedEvent(event: try DialerEvent(type: scanned.type, version: scanned.version, data: scanned.data),
                                         position: scanned.position, time: scanned.time))
            } catch {
                throw DecodingFailure(position: scanned.position, type: scanned.type, reason: "\(error)")
            }
        }
        return page
    }
}
