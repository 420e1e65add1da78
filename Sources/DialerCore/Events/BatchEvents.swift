import SwitchboardJSON
import SwitchboardBasics

// MARK: - Batch (batch) and call events

public struct ProfileSelected: Hashable, Sendable {
    public var batchId: BatchID
    public var sessionId: SessionID
    public var queueId: QueueID
    public var profile: StrategyProfile.Name
    public var reason: ProfileReason
    /// The queue's counts the choice was based on.
    public var dialedCalls: Int
    public var humanAnswers: Int
    public init(batchId: BatchID, sessionId: SessionID, queueId: QueueID, profile: StrategyProfile.Name,
                reason: ProfileReason, dialedCalls: Int, humanAnswers: Int) {
        self.batchId = batchId; self.sessionId = sessionId; self.queueId = queueId; self.profile = profile
        self.reason = reason; self.dialedCalls = dialedCalls; self.humanAnswers = humanAnswers
    }
}

extension ProfileSelected: DialerEventPayload {
    public static let type = EventType("profile.selected")
    public var subject: EventSubject { .group(batchId, session: sessionId, queue: queueId) }
    public var summary: String { "profile \(profile.rawValue) (\(reason.rawValue))" }
}

/// One call planned in a batch: whom, from which caller ID, and how long after the batch starts.
public struct PlannedCall: Hashable, Sendable {
    public var callId: CallID
    public var contactId: ContactID
    public var to: PhoneNumber
    public var callerId: PhoneNumber
    public var offsetMs: Int64
    public init(callId: CallID, contactId: ContactID, to: PhoneNumber, callerId: PhoneNumber, offsetMs: Int64) {
        self.callId = callId; self.contactId = contactId; self.to = to; self.callerId = callerId; self.offsetMs = offsetMs
    }
}

public struct BatchStarted: Hashable, Sendable {
    public var batchId: BatchID
    public var sessionId: SessionID
    public var queueId: QueueID
    public var agentId: AgentID
    public var mode: CallingMode
    public var profile: StrategyProfile.Name
    public var fanout: Int
    public var staggerMs: Int64
    public var amdPolicy: AMDPolicy
    public var ringTimeoutMs: Int64
    public var calls: [PlannedCall]
    /// The rule that held `fanout` below what the session and profile asked for (absent: none did).
    public var linesLimitedBy: LineLimit?
    public init(batchId: BatchID, sessionId: SessionID, queueId: QueueID, agentId: AgentID, mode: CallingMode,
                profile: StrategyProfile.Name, fanout: Int, staggerMs: Int64, amdPolicy: AMDPolicy,
                ringTimeoutMs: Int64, calls: [PlannedCall], linesLimitedBy: LineLimit? = nil) {
        self.batchId = batchId; self.sessionId = sessionId; self.queueId = queueId; self.agentId = agentId
        self.mode = mode; self.profile = profile; self.fanout = fanout; self.staggerMs = staggerMs
        self.amdPolicy = amdPolicy; self.ringTimeoutMs = ringTimeoutMs; self.calls = calls
        self.linesLimitedBy = linesLimitedBy
    }
}

extension BatchStarted: DialerEventPayload {
    public static let type = EventType("batch.started")
    public var subject: EventSubject { .group(batchId, session: sessionId, queue: queueId, agent: agentId) }
    public var summary: String { "batch \(batchId): \(calls.count) lines, \(profile.rawValue), stagger \(staggerMs) ms" }
}

public enum BatchResult: String, Sendable, CaseIterable, JSONConvertible {
    case connected
    case noAnswer = "no-answer"
}

public struct BatchCompleted: Hashable, Sendable {
    public var batchId: BatchID
    public var result: BatchResult
    public var winnerCallId: CallID?
    public init(batchId: BatchID, result: BatchResult, winnerCallId: CallID?) {
        self.batchId = batchId; self.result = result; self.winnerCallId = winnerCallId
    }
}

extension BatchCompleted: DialerEventPayload {
    public static let type = EventType("batch.completed")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "batch \(batchId) done: \(result.rawValue)" }
}

public enum CancelReason: String, Sendable, CaseIterable, JSONConvertible {
    /// `POST /v1/calls/parallel/{groupId}/terminate` or the agent's cancel.
    case requested
    /// The session was stopped.
    case sessionStopped = "session-stopped"
    /// A supervisor stopped the whole queue.
    case queueStopped = "queue-stopped"
    /// The agent's own call ended before anyone answered.
    case agentDisconnected = "agent-disconnected"
}

public struct BatchCancelled: Hashable, Sendable {
    public var batchId: BatchID
    public var reason: CancelReason
    /// Contacts that go back to pending (their calls were cancelled or never placed).
    public var releasedContactIds: [ContactID]
    public init(batchId: BatchID, reason: CancelReason, releasedContactIds: [ContactID]) {
        self.batchId = batchId; self.reason = reason; self.releasedContactIds = releasedContactIds
    }
}

extension BatchCancelled: DialerEventPayload {
    public static let type = EventType("batch.cancelled")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "batch \(batchId) cancelled (\(reason.rawValue))" }
}
