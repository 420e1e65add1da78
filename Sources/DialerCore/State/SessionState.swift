import SwitchboardJSON
import SwitchboardBasics

/// A session's life cycle.
public enum SessionState: String, Sendable, CaseIterable, JSONConvertible {
    case active, paused, ended
}

/// The agent's own call into the session's room, on a real carrier.
public enum AgentLeg: String, Sendable, CaseIterable, JSONConvertible {
    case connecting, connected, disconnected
}

/// What an agent is doing, as the supervisor's wall shows it. It follows from the session and its
/// current batch and changes only with an event, so its clock starts at that event's (server) time.
public enum AgentActivity: String, Sendable, CaseIterable, JSONConvertible {
    case dialling, ringing, talking
    case wrapUp = "wrap-up"
    case paused, idle, ended
}

/// The session projection: an agent working a queue.
public struct Session: Hashable, Sendable {
    public var id: SessionID
    public var agentId: AgentID
    public var queueId: QueueID
    public var mode: CallingMode
    public var profile: ProfileChoice
    public var settings: SessionSettings
    public var callerIds: [PhoneNumber]
    /// Where the agent answers, when a real carrier calls them in first (`nil`: no leg to wait for).
    public var agentEndpoint: String?
    /// Whether the agent's own call is up (only meaningful with an `agentEndpoint`).
    public var agentLeg: AgentLeg = .connecting
    /// The carrier's name for the agent's call while it is up.
    public var agentLegCallId: String?
    public var state: SessionState = .active
    public var endReason: SessionEndReason?
    public var startedAt: Timestamp
    public var endedAt: Timestamp?
    /// The batch being dialled or talked on now.
    public var currentBatch: BatchID?
    public var lastGroup: BatchID?
    public var lastBatchEndedAt: Timestamp?
    public var lastBatchResult: BatchResult?
    /// After a conversation, while the agent records its disposition.
    public var wrapUp: WrapUp?
    /// What the agent is doing, and since when (the time of the event that changed it).
    public var activity: AgentActivity = .idle
    public var activitySince: Timestamp
    // Supervisor counters.
    public var batches = 0
    /// Calls placed (`call.dialed`).
    public var dials = 0
    public var connects = 0
    public var voicemails = 0
    public var abandoned = 0
    public var talkTimeMs: Int64 = 0

    public init(_ e: SessionStarted, at time: Timestamp) {
        id = e.sessionId
        agentId = e.agentId
        queueId = e.queueId
        mode = e.mode
        profile = e.profile
        settings = e.settings
        callerIds = e.callerIds
        agentEndpoint = e.agentEndpoint
        startedAt = time
        activitySince = time
    }
}

extension Session {
    /// What the session's state adds to its agent's one activity when the two differ: an agent still on
    /// a call, its lines or its wrap-up in a session paused or stopped meanwhile goes no further after
    /// it. Every page shows the activity with this, never the state beside it ("paused" next to
    /// "talking" read as a contradiction).
    public var activityNote: String? {
        guard [.talking, .ringing, .dialling, .wrapUp].contains(activity) else { return nil }
        switch state {
        case .active: return nil
        case .paused: return "paused after this"
        case .ended: return "stopped after this"
        }
    }
}

/// When a dialling session's next batch is due, and what it waits for — what the engine's timer is
/// set from and what the console counts down.
public struct NextBatch: Hashable, Sendable {
    public enum Reason: String, Sendable, JSONConvertible {
        /// Nothing to wait for: the first batch, or right after a conversation without a wrap-up.
        case now
        /// The agent's time to record the last conversation (`wrapUpMs`); a disposition ends it early.
        case wrapUp = "wrap-up"
        /// The agent's disposition, required by `requireDisposition`; no time is set.
        case disposition
        /// The pause after a batch nobody answered, or a cancelled one (`cooldownMs`).
        case cooldown
    }

    /// The earliest time; `nil` while it waits for the disposition.
    public var at: Timestamp?
    public var reason: Reason
}

extension Session {
    /// The next batch while the session dials and no batch runs (nil otherwise): at once after a
    /// conversation, or when its wrap-up ends (never, while a disposition is required); after no
    /// answer or a cancel once the cooldown has passed since the last batch ended (a pause and resume
    /// do not skip it).
    public var nextBatch: NextBatch? {
        guard state == .active, currentBatch == nil, isAgentReachable else { return nil }
        if let wrapUp {
            guard let endsAt = wrapUp.endsAt else { return NextBatch(at: nil, reason: .disposition) }
            return NextBatch(at: endsAt, reason: .wrapUp)
        }
        guard let ended = lastBatchEndedAt else { return NextBatch(at: startedAt, reason: .now) }
        if lastBatchResult == .connected { return NextBatch(at: ended, reason: .now) }
        return NextBatch(at: ended.adding(milliseconds: settings.cooldownMs), reason: .cooldown)
    }
}

extension Session {
    /// Whether a winner would reach the agent: no leg to wait for, or the agent's call is up.
    public var isAgentReachable: Bool { agentEndpoint == nil || agentLeg == .connected }
}

/// The time after a conversation for the agent to record what happened; the next batch waits.
public struct WrapUp: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    /// When the next batch may start anyway; `nil` while a disposition is required.
    public var endsAt: Timestamp?

    public init(batchId: BatchID, callId: CallID, endsAt: Timestamp?) {
        self.batchId = batchId
        self.callId = callId
        self.endsAt = endsAt
    }
}
