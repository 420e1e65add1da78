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
    public init(sessionId: SessionID, agentId: AgentID, queueId: QueueID, mode: CallingMode, profile: ProfileChoice,
                settings: SessionSettings, callerIds: [PhoneNumber]) {
        self.sessionId = sessionId; self.agentId = agentId; self.queueId = queueId; self.mode = mode
        self.profile = profile; self.settings = settings; self.callerIds = callerIds
    }
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
