import SwitchboardJSON
import SwitchboardBasics

/// Every fact the dialer records. Past tense; one case per stored event type.
///
/// The Swift names are free to change; the stored names are `EventType`'s raw values, and the stored
/// shapes are the `EventSchemas/` files, which only change together with the event's version.
public enum DialerEvent: Hashable, Sendable {
    // Queues
    case queueCreated(QueueCreated)
    case contactsAdded(ContactsAdded)
    case queuePaused(QueuePaused)
    case queueResumed(QueueResumed)
    case queueCompleted(QueueCompleted)
    case queueStopped(QueueStopped)
    case queueErrored(QueueErrored)
    // Sessions
    case sessionStarted(SessionStarted)
    case sessionModeChanged(SessionModeChanged)
    case sessionSettingsChanged(SessionSettingsChanged)
    case sessionEnded(SessionEnded)
    case sessionPaused(SessionPaused)
    case sessionResumed(SessionResumed)
    // Parallel groups and their calls
    case profileSelected(ProfileSelected)
    case batchStarted(BatchStarted)
    case callDialed(CallDialed)
    case callRinging(CallRinging)
    case callAnswered(CallAnswered)
    case callConnected(CallConnected)
    case callTerminated(CallTerminated)
    case callVoicemail(CallVoicemail)
    case callNoAnswer(CallNoAnswer)
    case callFailed(CallFailed)
    case callCompleted(CallCompleted)
    case batchCompleted(BatchCompleted)
    case batchCancelled(BatchCancelled)
    // After the conversation
    case callDispositioned(CallDispositioned)

    // Access and caller IDs (Access.swift)
    case tokenIssued(TokenIssued)
    case tokenRevoked(TokenRevoked)
    case callerIdsAdded(CallerIdsAdded)
    case callerIdRemoved(CallerIdRemoved)
    case queueCallerIdsSet(QueueCallerIdsSet)
    case agentAssigned(QueueAgentAssignment)
    case agentUnassigned(QueueAgentAssignment)
    // The do-not-call list (DoNotCall.swift)
    case doNotCallAdded(DoNotCallAdded)
    case doNotCallRemoved(DoNotCallRemoved)
    // Abandonment, the guard and the safe-harbor message (Abandonment.swift)
    case callAbandoned(CallAbandoned)
    case safeHarborStarted(SafeHarborPlayback)
    case safeHarborEnded(SafeHarborPlayback)
    case abandonmentGuardChanged(AbandonmentGuardChanged)
    case queueComplianceSet(QueueComplianceSet)
    case organisationSafeHarborSet(OrganisationSafeHarborSet)
    // Calling hours (CallingHours.swift)
    case queueWaitingForHours(QueueWaitingForHours)
}

/// The stable stored name of each event type.
public enum EventType: String, Sendable, CaseIterable, JSONConvertible {
    case queueCreated = "queue.created"
    case contactsAdded = "contacts.added"
    case queuePaused = "queue.paused"
    case queueResumed = "queue.resumed"
    case queueCompleted = "queue.completed"
    case queueStopped = "queue.stopped"
    case queueErrored = "queue.errored"
    case sessionStarted = "session.started"
    case sessionModeChanged = "session.mode-changed"
    case sessionSettingsChanged = "session.settings-changed"
    case sessionEnded = "session.ended"
    case sessionPaused = "session.paused"
    case sessionResumed = "session.resumed"
    case profileSelected = "profile.selected"
    case batchStarted = "batch.started"
    case callDialed = "call.dialed"
    case callRinging = "call.ringing"
    case callAnswered = "call.answered"
    case callConnected = "call.connected"
    case callTerminated = "call.terminated"
    case callVoicemail = "call.voicemail"
    case callNoAnswer = "call.no-answer"
    case callFailed = "call.failed"
    case callCompleted = "call.completed"
    case batchCompleted = "batch.completed"
    case batchCancelled = "batch.cancelled"
    case callDispositioned = "call.dispositioned"
    case tokenIssued = "token.issued"
    case tokenRevoked = "token.revoked"
    case callerIdsAdded = "caller-ids.added"
    case callerIdRemoved = "caller-id.removed"
    case queueCallerIdsSet = "queue.caller-ids-set"
    case agentAssigned = "queue.agent-assigned"
    case agentUnassigned = "queue.agent-unassigned"
    case doNotCallAdded = "dnc.added"
    case doNotCallRemoved = "dnc.removed"
    case callAbandoned = "call.abandoned"
    case safeHarborStarted = "call.safe-harbor-started"
    case safeHarborEnded = "call.safe-harbor-ended"
    case abandonmentGuardChanged = "queue.abandonment-guard-changed"
    case queueComplianceSet = "queue.compliance-set"
    case organisationSafeHarborSet = "organisation.safe-harbor-set"
    case queueWaitingForHours = "queue.waiting-for-hours"

    /// The current schema version of each type. Older versions would be upcast on read.
    public var version: Int { 1 }

    /// The events that end a call (each leaves it in an ended `CallStatus`); the audit player draws a
    /// lane's end at them.
    public var endsACall: Bool {
        switch self {
        case .callTerminated, .callVoicemail, .callNoAnswer, .callFailed, .callCompleted: true
        default: false
        }
    }
}

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

public enum PauseReason: String, Sendable, CaseIterable, JSONConvertible {
    /// An agent (their session) or a supervisor (a whole queue) asked for a pause.
    case requested
    /// A batch without a winner was cancelled (terminated), which pauses its session.
    case batchCancelled = "batch-cancelled"
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

public struct QueueResumed: Hashable, Sendable {
    public var queueId: QueueID
    public var sessionId: SessionID?
    public init(queueId: QueueID, sessionId: SessionID?) { self.queueId = queueId; self.sessionId = sessionId }
}

public struct QueueCompleted: Hashable, Sendable {
    public var queueId: QueueID
    public init(queueId: QueueID) { self.queueId = queueId }
}

public struct QueueStopped: Hashable, Sendable {
    public var queueId: QueueID
    public var sessionId: SessionID?
    public init(queueId: QueueID, sessionId: SessionID?) { self.queueId = queueId; self.sessionId = sessionId }
}

public struct QueueErrored: Hashable, Sendable {
    public var queueId: QueueID
    public var reason: String
    public init(queueId: QueueID, reason: String) { self.queueId = queueId; self.reason = reason }
}

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

public struct SessionModeChanged: Hashable, Sendable {
    public var sessionId: SessionID
    public var mode: CallingMode
    public init(sessionId: SessionID, mode: CallingMode) { self.sessionId = sessionId; self.mode = mode }
}

public struct SessionSettingsChanged: Hashable, Sendable {
    public var sessionId: SessionID
    public var settings: SessionSettings
    public init(sessionId: SessionID, settings: SessionSettings) { self.sessionId = sessionId; self.settings = settings }
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

/// One agent's session stops dialling (its other acts and the queue's other sessions go on).
public struct SessionPaused: Hashable, Sendable {
    public var sessionId: SessionID
    public var reason: PauseReason
    public init(sessionId: SessionID, reason: PauseReason) { self.sessionId = sessionId; self.reason = reason }
}

public struct SessionResumed: Hashable, Sendable {
    public var sessionId: SessionID
    public init(sessionId: SessionID) { self.sessionId = sessionId }
}

// MARK: - Group (batch) and call events

public struct ProfileSelected: Hashable, Sendable {
    public var groupId: GroupID
    public var sessionId: SessionID
    public var queueId: QueueID
    public var profile: StrategyProfile.Name
    public var reason: ProfileReason
    /// The queue's counts the choice was based on.
    public var dialedCalls: Int
    public var humanAnswers: Int
    public init(groupId: GroupID, sessionId: SessionID, queueId: QueueID, profile: StrategyProfile.Name,
                reason: ProfileReason, dialedCalls: Int, humanAnswers: Int) {
        self.groupId = groupId; self.sessionId = sessionId; self.queueId = queueId; self.profile = profile
        self.reason = reason; self.dialedCalls = dialedCalls; self.humanAnswers = humanAnswers
    }
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
    public var groupId: GroupID
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
    public init(groupId: GroupID, sessionId: SessionID, queueId: QueueID, agentId: AgentID, mode: CallingMode,
                profile: StrategyProfile.Name, fanout: Int, staggerMs: Int64, amdPolicy: AMDPolicy,
                ringTimeoutMs: Int64, calls: [PlannedCall], linesLimitedBy: LineLimit? = nil) {
        self.groupId = groupId; self.sessionId = sessionId; self.queueId = queueId; self.agentId = agentId
        self.mode = mode; self.profile = profile; self.fanout = fanout; self.staggerMs = staggerMs
        self.amdPolicy = amdPolicy; self.ringTimeoutMs = ringTimeoutMs; self.calls = calls
        self.linesLimitedBy = linesLimitedBy
    }
}

public struct CallDialed: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public var contactId: ContactID
    public var to: PhoneNumber
    public var callerId: PhoneNumber
    /// 1 for the contact's first call, 2 for the first retry, …
    public var attempt: Int
    public init(groupId: GroupID, callId: CallID, contactId: ContactID, to: PhoneNumber, callerId: PhoneNumber, attempt: Int) {
        self.groupId = groupId; self.callId = callId; self.contactId = contactId; self.to = to
        self.callerId = callerId; self.attempt = attempt
    }
}

public struct CallRinging: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public init(groupId: GroupID, callId: CallID) { self.groupId = groupId; self.callId = callId }
}

public struct CallAnswered: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public var answeredBy: AnsweredBy
    public init(groupId: GroupID, callId: CallID, answeredBy: AnsweredBy) {
        self.groupId = groupId; self.callId = callId; self.answeredBy = answeredBy
    }
}

/// The winner: this call is bridged to the agent.
public struct CallConnected: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public var contactId: ContactID
    public var agentId: AgentID
    public init(groupId: GroupID, callId: CallID, contactId: ContactID, agentId: AgentID) {
        self.groupId = groupId; self.callId = callId; self.contactId = contactId; self.agentId = agentId
    }
}

public enum TerminationReason: String, Sendable, CaseIterable, JSONConvertible {
    /// Another call of the batch won.
    case lostRace = "lost-race"
    /// The batch was cancelled (terminate, stop).
    case cancelled
    /// The answer was not one the AMD policy connects (e.g. `unknown` under `human-only`).
    case amdPolicy = "amd-policy"
    /// A person answered after the batch already had a winner and was dropped (`call.abandoned` says why).
    case abandoned
    /// Never placed: its stagger came after the person's calling hours had closed (the batch formed inside them).
    case outsideCallingHours = "outside-calling-hours"
    /// Never placed: the number was put on the do-not-call list after the batch formed.
    case doNotCall = "do-not-call"
}

public struct CallTerminated: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public var reason: TerminationReason
    public init(groupId: GroupID, callId: CallID, reason: TerminationReason) {
        self.groupId = groupId; self.callId = callId; self.reason = reason
    }
}

public struct CallVoicemail: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public init(groupId: GroupID, callId: CallID) { self.groupId = groupId; self.callId = callId }
}

public enum NoAnswerCause: String, Sendable, CaseIterable, JSONConvertible {
    /// It rang until the ring timeout.
    case timeout
    /// The line was busy.
    case busy
}

public struct CallNoAnswer: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public var cause: NoAnswerCause
    public init(groupId: GroupID, callId: CallID, cause: NoAnswerCause) {
        self.groupId = groupId; self.callId = callId; self.cause = cause
    }
}

public struct CallFailed: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    /// The carrier's reason, e.g. `invalid-number`, or `engine-restart`.
    public var reason: String
    public init(groupId: GroupID, callId: CallID, reason: String) {
        self.groupId = groupId; self.callId = callId; self.reason = reason
    }
}

/// Who ended a connected call: the agent, the contact, or the carrier (the network dropped it).
public enum HangupSide: String, Sendable, CaseIterable, JSONConvertible {
    case agent, contact, carrier
}

public struct CallCompleted: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public var endedBy: HangupSide
    public init(groupId: GroupID, callId: CallID, endedBy: HangupSide) {
        self.groupId = groupId; self.callId = callId; self.endedBy = endedBy
    }
}

public enum BatchResult: String, Sendable, CaseIterable, JSONConvertible {
    case connected
    case noAnswer = "no-answer"
}

public struct BatchCompleted: Hashable, Sendable {
    public var groupId: GroupID
    public var result: BatchResult
    public var winnerCallId: CallID?
    public init(groupId: GroupID, result: BatchResult, winnerCallId: CallID?) {
        self.groupId = groupId; self.result = result; self.winnerCallId = winnerCallId
    }
}

public enum CancelReason: String, Sendable, CaseIterable, JSONConvertible {
    /// `POST /v1/calls/parallel/{groupId}/terminate` or the agent's cancel.
    case requested
    /// The session was stopped.
    case sessionStopped = "session-stopped"
    /// A supervisor stopped the whole queue.
    case queueStopped = "queue-stopped"
}

public struct BatchCancelled: Hashable, Sendable {
    public var groupId: GroupID
    public var reason: CancelReason
    /// Contacts that go back to pending (their calls were cancelled or never placed).
    public var releasedContactIds: [ContactID]
    public init(groupId: GroupID, reason: CancelReason, releasedContactIds: [ContactID]) {
        self.groupId = groupId; self.reason = reason; self.releasedContactIds = releasedContactIds
    }
}

// MARK: - After the conversation

/// What the agent recorded about a conversation.
public enum DispositionOutcome: String, Sendable, CaseIterable, JSONConvertible {
    case interested
    case notInterested = "not-interested"
    /// Dial the contact again at `callbackAt` (not before).
    case callback
    case wrongNumber = "wrong-number"
    case doNotCall = "do-not-call"
    case noDecisionMaker = "no-decision-maker"
    case other
}

public struct CallDispositioned: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    public var contactId: ContactID
    public var sessionId: SessionID
    public var outcome: DispositionOutcome
    public var notes: String?
    public var callbackAt: Timestamp?
    public init(groupId: GroupID, callId: CallID, contactId: ContactID, sessionId: SessionID, outcome: DispositionOutcome,
                notes: String?, callbackAt: Timestamp?) {
        self.groupId = groupId; self.callId = callId; self.contactId = contactId; self.sessionId = sessionId
        self.outcome = outcome; self.notes = notes; self.callbackAt = callbackAt
    }
}
