import SwitchboardJSON
import SwitchboardBasics

// MARK: - Session events

public struct SessionStarted: Hashable, Sendable {
    public var sessionId: SessionID
    public var agentId: AgentID
    public var queueId: QueueID
    public var mode: CallingMode
    public var profile: ProfileChoice
    public var settings: SessionSettings
    public var callerIds: [PhoneNumber]
    /// Where the agent answers (`+E.164`, `client:NAME`, `sip:URI`): a real carrier calls the agent into
    /// the session's room there first, and dialling waits until that leg is up. `nil`: no leg to wait for.
    public var agentEndpoint: String?
    public init(sessionId: SessionID, agentId: AgentID, queueId: QueueID, mode: CallingMode, profile: ProfileChoice,
                settings: SessionSettings, callerIds: [PhoneNumber], agentEndpoint: String? = nil) {
        self.sessionId = sessionId; self.agentId = agentId; self.queueId = queueId; self.mode = mode
        self.profile = profile; self.settings = settings; self.callerIds = callerIds; self.agentEndpoint = agentEndpoint
    }
}

/// The agent's own call is up: they are in the session's room, and dialling may start.
public struct SessionAgentConnected: Hashable, Sendable {
    public var sessionId: SessionID
    /// The carrier's name for the agent's call (what a restart matches its live calls against).
    public var carrierCallId: String?
    public init(sessionId: SessionID, carrierCallId: String?) { self.sessionId = sessionId; self.carrierCallId = carrierCallId }
}

extension SessionAgentConnected: DialerEventPayload {
    public static let type = EventType("session.agent-connected")
    public var subject: EventSubject { .session(sessionId) }
    public var summary: String { "the agent's phone is connected" + (carrierCallId.map { " (\($0))" } ?? "") }
}

/// The agent's own call ended or could not be made: no batch starts until it is up again (a resume calls
/// the agent again).
public struct SessionAgentDisconnected: Hashable, Sendable {
    public var sessionId: SessionID
    public var reason: String
    public init(sessionId: SessionID, reason: String) { self.sessionId = sessionId; self.reason = reason }
}

extension SessionAgentDisconnected: DialerEventPayload {
    public static let type = EventType("session.agent-disconnected")
    public var subject: EventSubject { .session(sessionId) }
    public var summary: String { "the agent's phone is disconnected (\(reason))" }
}

extension SessionStarted: DialerEventPayload {
    public static let type = EventType("session.started")
    public var subject: EventSubject { .session(sessionId, queue: queueId, agent: agentId) }
    public var summary: String { "agent \(agentId) on queue \(queueId), \(mode.rawValue)" }
}

public struct SessionModeChanged: Hashable, Sendable {
    public var sessionId: SessionID
    public var mode: CallingMode
    public init(sessionId: SessionID, mode: CallingMode) { self.sessionId = sessionId; self.mode = mode }
}

extension SessionModeChanged: DialerEventPayload {
    public static let type = EventType("session.mode-changed")
    public var subject: EventSubject { .session(sessionId) }
    public var summary: String { "mode \(mode.rawValue)" }
}

public struct SessionSettingsChanged: Hashable, Sendable {
    public var sessionId: SessionID
    public var settings: SessionSettings
    public init(sessionId: SessionID, settings: SessionSettings) { self.sessionId = sessionId; self.settings = settings }
}

extension SessionSettingsChanged: DialerEventPayload {
    public static let type = EventType("session.settings-changed")
    public var subject: EventSubject { .session(sessionId) }
    public var summary: String { "settings changed" }
}

public enum SessionEndReason: String, Sendable, CaseIterable, JSONConvertible {
    case stopped
    case queueCompleted = "queue-completed"
    /// A supervisor stopped the whole queue.
    case queueStopped = "queue-stopped"
}

public struct SessionEnded: Hashable, Sendable {
    public var sessionId: SessionID
    public var reason: SessionEndReason
    public init(sessionId: SessionID, reason: SessionEndReason) { self.sessionId = sessionId; self.reason = reason }
}

extension SessionEnded: DialerEventPayload {
    public static let type = EventType("session.ended")
    public var subject: EventSubject { .session(sessionId) }
    public var summary: String { "ended (\(reason.rawValue))" }
}

/// One agent's session stops dialling (its other acts and the queue's other sessions go on).
public struct SessionPaused: Hashable, Sendable {
    public var sessionId: SessionID
    public var reason: PauseReason
    public init(sessionId: SessionID, reason: PauseReason) { self.sessionId = sessionId; self.reason = reason }
}

extension SessionPaused: DialerEventPayload {
    public static let type = EventType("session.paused")
    public var subject: EventSubject { .session(sessionId) }
    public var summary: String { "paused (\(reason.rawValue))" }
}

public struct SessionResumed: Hashable, Sendable {
    public var sessionId: SessionID
    public init(sessionId: SessionID) { self.sessionId = sessionId }
}

extension SessionResumed: DialerEventPayload {
    public static let type = EventType("session.resumed")
    public var subject: EventSubject { .session(sessionId) }
    public var summary: String { "resumed" }
}
