import DialerCore
import EventStore
import WritePath
import SwitchboardBasics

/// The call-detail records a telemarketing regulator asks for (kept five years under the TSR): one
/// per call placed, taken from the projections as folded from the log up to a position.
public struct CallDetailRecord: Sendable, Hashable {
    public var queueId: QueueID
    public var sessionId: SessionID
    public var agentId: AgentID
    public var batchId: BatchID
    public var call: Call
    /// The disposition the agent recorded, for the batch's winner.
    public var disposition: DispositionOutcome?
    /// The log position of the call's `call.dialed`.
    public var dialedPosition: Int64

    /// How long the call rang before it was answered or ended.
    public var ringMs: Int64? {
        guard let dialedAt = call.dialedAt, let until = call.answeredAt ?? call.endedAt else { return nil }
        return until.milliseconds(since: dialedAt)
    }

    /// Talk time of a connected call.
    public var talkMs: Int64? {
        guard let connectedAt = call.connectedAt, let endedAt = call.endedAt else { return nil }
        return endedAt.milliseconds(since: connectedAt)
    }

    /// Ringing cut short by another call's answer or a cancel (not a fair ring).
    public var cutShortRingMs: Int64? {
        guard call.answeredBy == nil, call.endReason == TerminationReason.lostRace.rawValue
            || call.endReason == TerminationReason.cancelled.rawValue
        else { return nil }
        return ringMs
    }

    /// Every call placed at positions `from...to`, of `queue` / `session` when given, in the order placed.
    public static func records(_ store: some EventStore, from: Int64, to: Int64, queue: QueueID? = nil,
                               session: SessionID? = nil) async throws -> [CallDetailRecord] {
        var state = DialerState()
        var dialedAt: [String: Int64] = [:]
        for try await recorded in store.events() {
            guard recorded.position <= to else { break }
            let event = try EventCodec.decode(recorded)
            if case .callDialed(let e) = event { dialedAt["\(e.batchId)/\(e.callId)"] = recorded.position }
            state.apply(event, position: recorded.position, at: recorded.time)
        }
        var records: [CallDetailRecord] = []
        for group in state.batches.values where (queue == nil || group.queueId == queue) && (session == nil || group.sessionId == session) {
            for call in group.calls {
                guard let position = dialedAt["\(group.id)/\(call.id)"], position >= from else { continue }
                records.append(CallDetailRecord(queueId: group.queueId, sessionId: group.sessionId, agentId: group.agentId,
                                                batchId: group.id, call: call,
                                                disposition: group.winner == call.id ? group.disposition : nil,
                                                dialedPosition: position))
            }
        }
        return records.sorted { $0.dialedPosition < $1.dialedPosition }
    }

    /// The same records, folded from the events of `sessions` alone (each one's, by correlation id, up
    /// to `to`) — what the server does with `SessionSpans`: a day's export reads that day's sessions,
    /// not the whole log.
    public static func records(_ store: some EventStore, from: Int64, to: Int64, sessions: [SessionID],
                               queue: QueueID? = nil) async throws -> [CallDetailRecord] {
        var records: [CallDetailRecord] = []
        for session in sessions {
            var state = DialerState()
            var dialedAt: [String: Int64] = [:]
            var after: Int64 = 0
            reading: while after < to {
                let page = try await store.readCorrelated(session.rawValue, after: after, limit: 1024)
                guard let last = page.last else { break }
                for recorded in page {
                    guard recorded.position <= to else { break reading }
                    let event = try EventCodec.decode(recorded)
                    if case .callDialed(let e) = event { dialedAt["\(e.batchId)/\(e.callId)"] = recorded.position }
                    state.apply(event, position: recorded.position, at: recorded.time)
                }
                after = last.position
            }
            for group in state.batches.values where group.sessionId == session && (queue == nil || group.queueId == queue) {
                for call in group.calls {
                    guard let position = dialedAt["\(group.id)/\(call.id)"], position >= from else { continue }
                    records.append(CallDetailRecord(queueId: group.queueId, sessionId: group.sessionId, agentId: group.agentId,
                                                    batchId: group.id, call: call,
                                                    disposition: group.winner == call.id ? group.disposition : nil,
                                                    dialedPosition: position))
                }
            }
        }
        return records.sorted { $0.dialedPosition < $1.dialedPosition }
    }
}

/// Where each session's events lie in the log — its first and last position — kept as the log is
/// followed: the call-detail export of a slice reads the sessions that overlap it. One entry per
/// session, however long the log.
public struct SessionSpans: Sendable, Hashable {
    var spans: [SessionID: ClosedRange<Int64>] = [:]

    public init() {}

    public mutating func note(_ session: SessionID?, at position: Int64) {
        guard let session else { return }
        if let span = spans[session] {
            spans[session] = min(span.lowerBound, position)...max(span.upperBound, position)
        } else {
            spans[session] = position...position
        }
    }

    /// The sessions with events in `from...to`, in the order they started.
    public func sessions(overlapping from: Int64, _ to: Int64) -> [SessionID] {
        guard from <= to else { return [] }
        return spans.filter { $0.value.overlaps(from...to) }.sorted { ($0.value.lowerBound, $0.key) < ($1.value.lowerBound, $1.key) }.map(\.key)
    }
}
