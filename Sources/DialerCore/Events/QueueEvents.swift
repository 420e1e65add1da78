import SwitchboardJSON
import SwitchboardBasics

// MARK: - Queue events

public struct QueueCreated: Hashable, Sendable {
    public var queueId: QueueID
    public var name: String
    public var segment: String?
    public var maxAttempts: Int
    /// How long a no-answer or failed contact waits before it is dialled again (absent in logs written
    /// before it existed: `Queue.defaultRetryDelayMs`).
    public var retryDelayMs: Int64?
    /// The queue's narrower calling hours (absent: the law's 08:00–21:00 local).
    public var callingHours: CallingWindow?
    /// The queue's safe-harbor message (absent: the organisation's).
    public var safeHarborMessage: String?
    /// The guard's thresholds (absent: 2.5 and 3).
    public var abandonWarnPercent: Percent?
    public var abandonCapPercent: Percent?
    public init(queueId: QueueID, name: String, segment: String?, maxAttempts: Int, retryDelayMs: Int64? = nil,
                callingHours: CallingWindow? = nil, safeHarborMessage: String? = nil, abandonWarnPercent: Percent? = nil,
                abandonCapPercent: Percent? = nil) {
        self.queueId = queueId; self.name = name; self.segment = segment; self.maxAttempts = maxAttempts
        self.retryDelayMs = retryDelayMs; self.callingHours = callingHours; self.safeHarborMessage = safeHarborMessage
        self.abandonWarnPercent = abandonWarnPercent; self.abandonCapPercent = abandonCapPercent
    }

    /// The compliance settings the queue starts with.
    public var compliance: QueueCompliance {
        QueueCompliance(safeHarborMessage: safeHarborMessage,
                        abandonWarnPercent: abandonWarnPercent ?? QueueCompliance.defaultWarn,
                        abandonCapPercent: abandonCapPercent ?? QueueCompliance.legalCap)
    }
}

extension QueueCreated: DialerEventPayload {
    public static let type = EventType("queue.created")
    public var subject: EventSubject { .queue(queueId) }
}

/// A contact as it enters a queue. `script` is opaque to the domain: the simulated carrier reads it.
public struct NewContact: Hashable, Sendable {
    public var contactId: ContactID
    public var name: String?
    public var phone: PhoneNumber
    public var segment: String?
    public var script: JSONObject?
    /// Where the person is (an IANA zone), when known better than the area code says.
    public var timeZone: String?
    public init(contactId: ContactID, name: String? = nil, phone: PhoneNumber, segment: String? = nil, script: JSONObject? = nil,
                timeZone: String? = nil) {
        self.contactId = contactId; self.name = name; self.phone = phone; self.segment = segment; self.script = script
        self.timeZone = timeZone
    }
}

public struct ContactsAdded: Hashable, Sendable {
    public var queueId: QueueID
    public var contacts: [NewContact]
    public init(queueId: QueueID, contacts: [NewContact]) { self.queueId = queueId; self.contacts = contacts }
}

extension ContactsAdded: DialerEventPayload {
    public static let type = EventType("contacts.added")
    public var subject: EventSubject { .queue(queueId) }
    public var summary: String { "\(contacts.count) contacts added to the queue" }
}

public enum PauseReason: String, Sendable, CaseIterable, JSONConvertible {
    /// An agent (their session) or a supervisor (a whole queue) asked for a pause.
    case requested
    /// A batch without a winner was cancelled (terminated), which pauses its session.
    case batchCancelled = "batch-cancelled"
    /// The agent's own call (a real carrier's) ended: nothing is dialled until they are called back in.
    case agentDisconnected = "agent-disconnected"
}

/// A queue-wide pause: a supervisor's act (`sessionId` is `null`; logs written before sessions had
/// their own pause name the session whose act paused the queue).
public struct QueuePaused: Hashable, Sendable {
    public var queueId: QueueID
    public var reason: PauseReason
    public var sessionId: SessionID?
    public init(queueId: QueueID, reason: PauseReason, sessionId: SessionID?) {
        self.queueId = queueId; self.reason = reason; self.sessionId = sessionId
    }
}

extension QueuePaused: DialerEventPayload {
    public static let type = EventType("queue.paused")
    public var subject: EventSubject { .queue(queueId, session: sessionId) }
    public var summary: String { sessionId == nil ? "queue paused by a supervisor" : "queue paused" }
}

public struct QueueResumed: Hashable, Sendable {
    public var queueId: QueueID
    public var sessionId: SessionID?
    public init(queueId: QueueID, sessionId: SessionID?) { self.queueId = queueId; self.sessionId = sessionId }
}

extension QueueResumed: DialerEventPayload {
    public static let type = EventType("queue.resumed")
    public var subject: EventSubject { .queue(queueId, session: sessionId) }
    public var summary: String { "queue resumed" }
}

public struct QueueCompleted: Hashable, Sendable {
    public var queueId: QueueID
    public init(queueId: QueueID) { self.queueId = queueId }
}

extension QueueCompleted: DialerEventPayload {
    public static let type = EventType("queue.completed")
    public var subject: EventSubject { .queue(queueId) }
    public var summary: String { "queue completed" }
}

public struct QueueStopped: Hashable, Sendable {
    public var queueId: QueueID
    public var sessionId: SessionID?
    public init(queueId: QueueID, sessionId: SessionID?) { self.queueId = queueId; self.sessionId = sessionId }
}

extension QueueStopped: DialerEventPayload {
    public static let type = EventType("queue.stopped")
    public var subject: EventSubject { .queue(queueId, session: sessionId) }
    public var summary: String { "queue stopped" }
}

public struct QueueErrored: Hashable, Sendable {
    public var queueId: QueueID
    public var reason: String
    public init(queueId: QueueID, reason: String) { self.queueId = queueId; self.reason = reason }
}

extension QueueErrored: DialerEventPayload {
    public static let type = EventType("queue.errored")
    public var subject: EventSubject { .queue(queueId) }
}
