import SwitchboardJSON
import SwitchboardBasics

// MARK: - Call events

public struct CallDialed: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public var contactId: ContactID
    public var to: PhoneNumber
    public var callerId: PhoneNumber
    /// 1 for the contact's first call, 2 for the first retry, …
    public var attempt: Int
    public init(batchId: BatchID, callId: CallID, contactId: ContactID, to: PhoneNumber, callerId: PhoneNumber, attempt: Int) {
        self.batchId = batchId; self.callId = callId; self.contactId = contactId; self.to = to
        self.callerId = callerId; self.attempt = attempt
    }
}

extension CallDialed: DialerEventPayload {
    public static let type = EventType("call.dialed")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) dials contact \(contactId) from \(callerId) (attempt \(attempt))" }
}

public struct CallRinging: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public init(batchId: BatchID, callId: CallID) { self.batchId = batchId; self.callId = callId }
}

extension CallRinging: DialerEventPayload {
    public static let type = EventType("call.ringing")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) rings" }
}

/// The carrier took the call and named it (Twilio's `CallSid`, Telnyx's `call_control_id`): what ties our
/// call to the carrier's records, and what a restart matches the carrier's live calls against.
public struct CallCarrierAssigned: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    /// `twilio`, `telnyx`.
    public var carrier: String
    public var carrierCallId: String
    public init(batchId: BatchID, callId: CallID, carrier: String, carrierCallId: String) {
        self.batchId = batchId; self.callId = callId; self.carrier = carrier; self.carrierCallId = carrierCallId
    }
}

extension CallCarrierAssigned: DialerEventPayload {
    public static let type = EventType("call.carrier-assigned")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) is \(carrier) call \(carrierCallId)" }
}

public struct CallAnswered: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public var answeredBy: AnsweredBy
    public init(batchId: BatchID, callId: CallID, answeredBy: AnsweredBy) {
        self.batchId = batchId; self.callId = callId; self.answeredBy = answeredBy
    }
}

extension CallAnswered: DialerEventPayload {
    public static let type = EventType("call.answered")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) answered by \(answeredBy.rawValue)" }
}

/// The winner: this call is bridged to the agent.
public struct CallConnected: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public var contactId: ContactID
    public var agentId: AgentID
    public init(batchId: BatchID, callId: CallID, contactId: ContactID, agentId: AgentID) {
        self.batchId = batchId; self.callId = callId; self.contactId = contactId; self.agentId = agentId
    }
}

extension CallConnected: DialerEventPayload {
    public static let type = EventType("call.connected")
    public var subject: EventSubject { .group(batchId, agent: agentId) }
    public var summary: String { "\(callId) WINS: contact \(contactId) connected to \(agentId)" }
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
    public var batchId: BatchID
    public var callId: CallID
    public var reason: TerminationReason
    public init(batchId: BatchID, callId: CallID, reason: TerminationReason) {
        self.batchId = batchId; self.callId = callId; self.reason = reason
    }
}

extension CallTerminated: DialerEventPayload {
    public static let type = EventType("call.terminated")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) ended: \(reason.rawValue)" }
}

public struct CallVoicemail: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public init(batchId: BatchID, callId: CallID) { self.batchId = batchId; self.callId = callId }
}

extension CallVoicemail: DialerEventPayload {
    public static let type = EventType("call.voicemail")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) ended: voicemail" }
}

public enum NoAnswerCause: String, Sendable, CaseIterable, JSONConvertible {
    /// It rang until the ring timeout.
    case timeout
    /// The line was busy.
    case busy
}

public struct CallNoAnswer: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public var cause: NoAnswerCause
    public init(batchId: BatchID, callId: CallID, cause: NoAnswerCause) {
        self.batchId = batchId; self.callId = callId; self.cause = cause
    }
}

extension CallNoAnswer: DialerEventPayload {
    public static let type = EventType("call.no-answer")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) ended: no answer (\(cause.rawValue))" }
}

public struct CallFailed: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    /// The carrier's reason, e.g. `invalid-number`, or `engine-restart`.
    public var reason: String
    public init(batchId: BatchID, callId: CallID, reason: String) {
        self.batchId = batchId; self.callId = callId; self.reason = reason
    }
}

extension CallFailed: DialerEventPayload {
    public static let type = EventType("call.failed")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) ended: failed (\(reason))" }
}

/// Who ended a connected call: the agent, the contact, or the carrier (the network dropped it).
public enum HangupSide: String, Sendable, CaseIterable, JSONConvertible {
    case agent, contact, carrier
}

public struct CallCompleted: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public var endedBy: HangupSide
    public init(batchId: BatchID, callId: CallID, endedBy: HangupSide) {
        self.batchId = batchId; self.callId = callId; self.endedBy = endedBy
    }
}

extension CallCompleted: DialerEventPayload {
    public static let type = EventType("call.completed")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) ended: hung up by \(endedBy.rawValue)" }
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
    public var batchId: BatchID
    public var callId: CallID
    public var contactId: ContactID
    public var sessionId: SessionID
    public var outcome: DispositionOutcome
    public var notes: String?
    public var callbackAt: Timestamp?
    public init(batchId: BatchID, callId: CallID, contactId: ContactID, sessionId: SessionID, outcome: DispositionOutcome,
                notes: String?, callbackAt: Timestamp?) {
        self.batchId = batchId; self.callId = callId; self.contactId = contactId; self.sessionId = sessionId
        self.outcome = outcome; self.notes = notes; self.callbackAt = callbackAt
    }
}

extension CallDispositioned: DialerEventPayload {
    public static let type = EventType("call.dispositioned")
    public var subject: EventSubject { .group(batchId, session: sessionId) }
    public var summary: String { "\(callId) disposition: \(outcome.rawValue)" }
}
