import DialerCore
import EventStore
import Foundation
import Synchronization
import SwitchboardJSON
import SwitchboardBasics

/// A writer that waits for each command: decide on the current state, write through the `LogWriter`
/// (each stream at the version this state has), fold the result back in. The demo, imports, tests and
/// any writer that is not the engine take this path; the engine takes the same one, pipelined.
///
/// It keeps its own fold of the log so each decision sees every earlier one. When another writer got
/// in first (a stream's version moved, or the refusal may be stale), it catches up from the log and
/// decides again — at most `LogWriter.maxAttempts` times, then it reports `DomainError.writeConflict`.
public actor CommandHandler {
    public let store: any EventStore
    private let writer: LogWriter
    private let ids: any EventIDGenerator
    public private(set) var state: DialerState
    private var streamVersions: [String: Int64] = [:]

    /// Folds the whole log before taking commands.
    public init(store: any EventStore, ids: any EventIDGenerator = TimeOrderedEventIDs()) async throws {
        self.store = store
        writer = LogWriter(store: store)
        self.ids = ids
        state = DialerState()
        try await catchUp()
    }

    /// Decides and records `command` at `time`. Returns the stored events (none when the command
    /// changes nothing); throws `DomainError` when the command is refused, leaving the log untouched.
    @discardableResult
    public func handle(_ command: Command, at time: Timestamp) async throws -> [RecordedEvent] {
        var lastConflict = ""
        for attempt in 1...LogWriter.maxAttempts {
            let events: [DialerEvent]
            do throws(DomainError) {
                events = try state.decide(command, at: time)
            } catch {
                // Refused on a state another writer has moved past? Catch up and decide once more.
                guard attempt < LogWriter.maxAttempts, try await store.headPosition() > state.position else { throw error }
                try await catchUp()
                continue
            }
            guard !events.isEmpty else { return [] }
            var versions = streamVersions  // the real ones advance as the recorded events are folded
            let writes = EventCodec.writes(for: events, decidedOn: state, versions: &versions, ids: ids, at: time)
            do {
                let recorded = try await writer.write(writes)
                try await absorb(recorded)
                return recorded
            } catch let error where error.isWriteConflict {
                lastConflict = writes.map(\.stream).joined(separator: ", ")
                writer.resume()
                try await catchUp()
            }
        }
        throw DomainError.writeConflict(stream: lastConflict, attempts: LogWriter.maxAttempts)
    }

    /// Reads and folds everything the log has beyond the current state.
    public func catchUp() async throws {
        for try await recorded in store.events(after: state.position) { try fold(recorded) }
    }

    /// Folds events this handler just wrote; if someone else wrote in between, reads their events first.
    private func absorb(_ recorded: [RecordedEvent]) async throws {
        guard let first = recorded.first else { return }
        if first.position == state.position + 1 {
            for event in recorded { try fold(event) }
        } else {
            try await catchUp()
        }
    }

    private func fold(_ recorded: RecordedEvent) throws {
        try state.apply(recorded)
        streamVersions[recorded.stream] = recorded.streamVersion
    }
}
