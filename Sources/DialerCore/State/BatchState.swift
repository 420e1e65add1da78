import SwitchboardJSON
import SwitchboardBasics

/// One call of a parallel group.
public struct Call: Hashable, Sendable {
    public var id: CallID
    public var contactId: ContactID
    /// The contact's name when the batch started (for the agent's screen).
    public var contactName: String?
    /// Calls to the contact that had ended with an attempt used before this batch (the agent's "tried
    /// twice before"), and its explicit zone, if any: both as the batch started, for the agent's screen.
    public var priorAttempts = 0
    public var contactTimeZone: String?
    public var to: PhoneNumber
    public var callerId: PhoneNumber
    /// When the call is to be placed, relative to the batch start (the stagger).
    public var offsetMs: Int64
    public var status: CallStatus = .dialing
    public var outcome: ContactOutcome = .pending
    public var answeredBy: AnsweredBy?
    /// `nil` while the call is planned but not yet placed.
    public var dialedAt: Timestamp?
    /// The carrier's name for the call, once it took it (`call.carrier-assigned`).
    public var carrierCallId: String?
    public var answeredAt: Timestamp?
    public var connectedAt: Timestamp?
    public var endedAt: Timestamp?
    /// Why it ended: a termination reason, a failure reason, `timeout`/`busy`, `agent`/`contact`, `voicemail`.
    public var endReason: String?
    /// A person answered and was not connected (`abandonCause` says why).
    public var abandoned = false
    public var abandonCause: AbandonCause?
    public var safeHarbor: SafeHarborRequest?
    public var safeHarborStartedAt: Timestamp?
    public var safeHarborEndedAt: Timestamp?

    public init(_ planned: PlannedCall) {
        id = planned.callId
        contactId = planned.contactId
        to = planned.to
        callerId = planned.callerId
        offsetMs = planned.offsetMs
    }

    public var isPlaced: Bool { dialedAt != nil }
    public var isLive: Bool { !status.isEnded }
}

/// The status of a whole group, as the polling endpoint reports it.
public enum BatchStatus: String, Sendable, CaseIterable, JSONConvertible {
    case dialing, connected, completed
    case noAnswer = "no-answer"
    case cancelled
}

/// A batch as the projections know it (a *parallel group* in the API: `GET /v1/calls/parallel/{groupId}`).
public struct Batch: Hashable, Sendable {
    public var id: BatchID
    public var sessionId: SessionID
    public var queueId: QueueID
    public var agentId: AgentID
    public var mode: CallingMode
    public var profile: StrategyProfile.Name
    public var profileReason: ProfileReason?
    public var fanout: Int
    /// The rule that held `fanout` below what the session and profile asked for.
    public var linesLimitedBy: LineLimit?
    public var staggerMs: Int64
    public var amdPolicy: AMDPolicy
    public var ringTimeoutMs: Int64
    public var calls: [Call]
    public var winner: CallID?
    /// What the agent recorded about the conversation with the winner.
    public var disposition: DispositionOutcome?
    public var startedAt: Timestamp
    public var endedAt: Timestamp?
    public var cancelled = false
    /// Log position of the latest event of this group (its ETag).
    public var position: Int64 = 0

    public init(_ e: BatchStarted, reason: ProfileReason?, at time: Timestamp) {
        id = e.batchId
        sessionId = e.sessionId
        queueId = e.queueId
        agentId = e.agentId
        mode = e.mode
        profile = e.profile
        profileReason = reason
        fanout = e.fanout
        linesLimitedBy = e.linesLimitedBy
        staggerMs = e.staggerMs
        amdPolicy = e.amdPolicy
        ringTimeoutMs = e.ringTimeoutMs
        calls = e.calls.map(Call.init)
        startedAt = time
    }

    public var isEnded: Bool { endedAt != nil }
    public var liveCalls: [Call] { calls.filter(\.isLive) }

    public var status: BatchStatus {
        if cancelled { return .cancelled }
        if isEnded { return winner == nil ? .noAnswer : .completed }
        return winner == nil ? .dialing : .connected
    }

    public func index(of callId: CallID) -> Int? { calls.firstIndex { $0.id == callId } }
    public func call(_ callId: CallID) -> Call? { index(of: callId).map { calls[$0] } }
}
