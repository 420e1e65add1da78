import SwitchboardJSON
import SwitchboardBasics

/// Every request to change the dialer's state. `decide` turns one into events or refuses it.
///
/// Commands come from agents and supervisors (through the API), from the engine reacting to the
/// carrier (ringing, answers, hang-ups) and from the engine's own timers (start the next batch).
public enum Command: Hashable, Sendable {
    // Queues
    case createQueue(queueId: QueueID, name: String, segment: String?, maxAttempts: Int, contacts: [NewContact],
                     retryDelayMs: Int64 = Queue.defaultRetryDelayMs, callingHours: CallingWindow? = nil,
                     compliance: QueueCompliance = .standard)
    case addContacts(queueId: QueueID, contacts: [NewContact])
    /// Queue-wide pause, resume and stop: a supervisor's acts, for every session on the queue.
    case pauseQueue(queueId: QueueID)
    case resumeQueue(queueId: QueueID)
    case stopQueue(queueId: QueueID)
    case failQueue(queueId: QueueID, reason: String)
    // Sessions
    case startSession(sessionId: SessionID, agentId: AgentID, queueId: QueueID, mode: CallingMode,
                      profile: ProfileChoice, settings: SessionSettings, callerIds: [PhoneNumber], agentEndpoint: String? = nil)
    /// The agent's own call (a real carrier's) came up, or ended.
    case recordAgentConnected(sessionId: SessionID, carrierCallId: String?)
    case recordAgentDisconnected(sessionId: SessionID, reason: String)
    /// A new calling mode and/or settings: all of it or none (applies from the next batch).
    case changeSession(sessionId: SessionID, mode: CallingMode?, patch: SettingsPatch?)
    /// One agent's pause and resume: that session only.
    case pauseSession(sessionId: SessionID)
    case resumeSession(sessionId: SessionID)
    case stopSession(sessionId: SessionID)
    /// The agent hangs up the connected call.
    case hangUp(sessionId: SessionID)
    // Batches
    /// `minimumStaggerMs`: the carrier's spacing between calls (its calls-per-second limit): the batch's
    /// stagger is the larger of the two, so its plan is when its lines really ring.
    case startBatch(sessionId: SessionID, batchId: BatchID, minimumStaggerMs: Int64 = 0)
    case cancelBatch(batchId: BatchID)
    /// Winner-take-all: end every call of the group other than the winner.
    case endLosingCalls(batchId: BatchID)
    // What the carrier reports
    case placeCall(batchId: BatchID, callId: CallID)
    case recordRinging(batchId: BatchID, callId: CallID)
    case recordCarrierCall(batchId: BatchID, callId: CallID, carrier: String, carrierCallId: String)
    case recordAnswer(batchId: BatchID, callId: CallID, answeredBy: AnsweredBy)
    /// A person answered just as our hang-up ended their call (a carrier without a cancel that spares an
    /// answered call): abandoned, cut off.
    case recordCutOff(batchId: BatchID, callId: CallID, answeredBy: AnsweredBy)
    case recordNoAnswer(batchId: BatchID, callId: CallID, cause: NoAnswerCause)
    case recordFailure(batchId: BatchID, callId: CallID, reason: String)
    /// A connected call ended on the contact's side (or the carrier's: the network dropped it).
    case recordHangup(batchId: BatchID, callId: CallID, endedBy: HangupSide = .contact)
    // After the conversation
    /// The agent records what came of a conversation of the session's.
    case recordDisposition(sessionId: SessionID, callId: CallID, outcome: DispositionOutcome, notes: String?,
                           callbackAt: Timestamp?)
    // Access and caller IDs (an admin's acts)
    case issueToken(tokenId: TokenID, role: Role, agentId: AgentID?, label: String?, hashPrefix: String, expiresAt: Timestamp?)
    case revokeToken(tokenId: TokenID)
    case addCallerIds([PhoneNumber])
    case removeCallerId(PhoneNumber)
    /// A queue's own subset of the organisation's caller IDs (`nil`: the whole pool).
    case setQueueCallerIds(queueId: QueueID, callerIds: [PhoneNumber]?)
    /// Who may work a queue: agents only work, and read, the queues they are assigned to.
    case assignAgent(queueId: QueueID, agentId: AgentID)
    case unassignAgent(queueId: QueueID, agentId: AgentID)
    // The do-not-call list
    case addDoNotCall([PhoneNumber], source: DoNotCallSource)
    case removeDoNotCall(PhoneNumber)
    // Compliance: the safe-harbor message and the abandonment guard's thresholds
    /// A queue's message and thresholds, all of them as they are to be.
    case setQueueCompliance(queueId: QueueID, compliance: QueueCompliance)
    /// The organisation's message (the server's setting; `nil`: none).
    case setOrganisationSafeHarbor(message: String?)
    /// The carrier began playing, or finished playing, an abandoned call's safe-harbor message.
    case recordSafeHarborStarted(batchId: BatchID, callId: CallID)
    case recordSafeHarborEnded(batchId: BatchID, callId: CallID)
}

extension Command {
    /// Decided on the organisation alone — who has access, the numbers it calls from, who must never be
    /// called — so it is written even while the engine is stopped: revoking a token never waits for
    /// dialling to recover.
    public var isOrganisational: Bool {
        switch self {
        case .issueToken, .revokeToken, .addCallerIds, .removeCallerId, .addDoNotCall, .removeDoNotCall: true
        default: false
        }
    }
}

extension Command {
    public static func changeMode(sessionId: SessionID, mode: CallingMode) -> Command {
        .changeSession(sessionId: sessionId, mode: mode, patch: nil)
    }

    public static func changeSettings(sessionId: SessionID, patch: SettingsPatch) -> Command {
        .changeSession(sessionId: sessionId, mode: nil, patch: patch)
    }
}

/// Why a command was refused. `kind` tells an API how to answer (404, 409 or 422).
public enum DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    case queueNotFound(QueueID)
    case sessionNotFound(SessionID)
    case groupNotFound(BatchID)
    case callNotFound(BatchID, CallID)
    case tokenNotFound(TokenID)
    case callerIdNotFound(PhoneNumber)
    /// A queue may only call from numbers in the organisation's pool.
    case callerIdNotInPool(PhoneNumber)
    case notOnDoNotCallList(PhoneNumber)
    case queueAlreadyExists(QueueID)
    case sessionAlreadyExists(SessionID)
    case groupAlreadyExists(BatchID)
    case duplicateContact(ContactID)
    /// The queue already has a contact with this number (a retried upload must not ring one person twice).
    case duplicatePhone(PhoneNumber)
    case invalidSettings([SettingsViolation])
    case invalidValue(field: String, message: String)
    case queueNotWorkable(QueueID, QueueState)
    case sessionEnded(SessionID)
    case sessionPaused(SessionID)
    /// The agent is talking to a contact: no new session until that call ends.
    case agentOnCall(AgentID)
    /// The agent is recording the last conversation's disposition (until `until`, or until it arrives).
    case inWrapUp(SessionID, until: Timestamp?)
    case batchInProgress(SessionID, BatchID)
    case nothingToDial(QueueID)
    /// Every contact left waits for its retry time: look again at `until`.
    case waitingForRetry(QueueID, until: Timestamp)
    /// Every contact left waits for its calling hours to open: look again at `until`.
    case waitingForCallingHours(QueueID, until: Timestamp)
    case callEnded(CallID, CallStatus)
    case callNotPlaced(CallID)
    case callAlreadyPlaced(CallID)
    case callNotAnswered(CallID)
    case noConnectedCall(SessionID)
    case invalidTransition(String)
    /// Other writers kept moving a stream this command writes: it was decided again on the fresh
    /// state `attempts` times and still lost the race.
    case writeConflict(stream: String, attempts: Int)

    public enum Kind: Sendable { case notFound, conflict, invalid }

    public var kind: Kind {
        switch self {
        case .queueNotFound, .sessionNotFound, .groupNotFound, .callNotFound, .tokenNotFound, .callerIdNotFound, .notOnDoNotCallList: .notFound
        case .invalidSettings, .invalidValue: .invalid
        default: .conflict
        }
    }

    /// When a queue that only waits (for retry times or calling hours) has someone to dial again.
    public var waitsUntil: Timestamp? {
        switch self {
        case .waitingForRetry(_, let until), .waitingForCallingHours(_, let until): until
        default: nil
        }
    }

    /// The fields a refused value names, each with what is wrong with it (a form shows each beside its field).
    public var fieldProblems: [SettingsViolation] {
        switch self {
        case .invalidSettings(let violations): violations
        case .invalidValue(let field, let message): [SettingsViolation(field: field, message: message)]
        default: []
        }
    }

    /// A stable machine-readable code for API error bodies.
    public var code: String {
        switch self {
        case .queueNotFound: "queue-not-found"
        case .sessionNotFound: "session-not-found"
        case .groupNotFound: "group-not-found"
        case .callNotFound: "call-not-found"
        case .tokenNotFound: "token-not-found"
        case .callerIdNotFound: "caller-id-not-found"
        case .callerIdNotInPool: "caller-id-not-in-pool"
        case .notOnDoNotCallList: "not-on-do-not-call-list"
        case .queueAlreadyExists: "queue-exists"
        case .sessionAlreadyExists: "session-exists"
        case .groupAlreadyExists: "group-exists"
        case .duplicateContact: "duplicate-contact"
        case .duplicatePhone: "duplicate-phone"
        case .invalidSettings: "invalid-settings"
        case .invalidValue: "invalid-value"
        case .queueNotWorkable: "queue-not-workable"
        case .sessionEnded: "session-ended"
        case .sessionPaused: "session-paused"
        case .inWrapUp: "in-wrap-up"
        case .agentOnCall: "agent-on-call"
        case .batchInProgress: "batch-in-progress"
        case .nothingToDial: "nothing-to-dial"
        case .waitingForRetry: "waiting-for-retry"
        case .waitingForCallingHours: "waiting-for-calling-hours"
        case .callEnded: "call-ended"
        case .callNotPlaced: "call-not-placed"
        case .callAlreadyPlaced: "call-already-placed"
        case .callNotAnswered: "call-not-answered"
        case .noConnectedCall: "no-connected-call"
        case .invalidTransition: "invalid-transition"
        case .writeConflict: "write-conflict"
        }
    }

    public var description: String {
        switch self {
        case .queueNotFound(let id): "no queue \(id)"
        case .sessionNotFound(let id): "no session \(id)"
        case .groupNotFound(let id): "no parallel group \(id)"
        case .callNotFound(let group, let call): "no call \(call) in group \(group)"
        case .tokenNotFound(let id): "no token \(id)"
        case .callerIdNotFound(let phone): "\(phone) is not one of the organisation's caller IDs"
        case .callerIdNotInPool(let phone): "\(phone) is not one of the organisation's caller IDs (GET /v1/caller-ids)"
        case .notOnDoNotCallList(let phone): "\(phone) is not on the do-not-call list"
        case .queueAlreadyExists(let id): "queue \(id) already exists"
        case .sessionAlreadyExists(let id): "session \(id) already exists"
        case .groupAlreadyExists(let id): "group \(id) already exists"
        case .duplicateContact(let id): "contact \(id) is already in the queue"
        case .duplicatePhone(let phone): "the queue already has a contact at \(phone)"
        case .invalidSettings(let violations): "invalid settings: " + violations.map(\.description).joined(separator: "; ")
        case .invalidValue(let field, let message): "\(field) \(message)"
        case .queueNotWorkable(let id, let state): "queue \(id) is \(state.rawValue)"
        case .sessionEnded(let id): "session \(id) has ended"
        case .sessionPaused(let id): "session \(id) is paused"
        case .inWrapUp(let id, let until):
            "session \(id) is in wrap-up " + (until.map { "until \($0)" } ?? "until the disposition is recorded")
        case .agentOnCall(let id): "agent \(id) is on a call; a new session can start when it ends"
        case .batchInProgress(let session, let group): "session \(session) is still working batch \(group)"
        case .nothingToDial(let id): "queue \(id) has no contact to dial now"
        case .waitingForRetry(let id, let until): "queue \(id) has no contact to dial before \(until)"
        case .waitingForCallingHours(let id, let until): "queue \(id) has no contact inside its calling hours before \(until)"
        case .callEnded(let id, let status): "call \(id) has already ended (\(status.rawValue))"
        case .callNotPlaced(let id): "call \(id) has not been placed"
        case .callAlreadyPlaced(let id): "call \(id) has already been placed"
        case .callNotAnswered(let id): "call \(id) is not connected"
        case .noConnectedCall(let id): "session \(id) has no connected call"
        case .invalidTransition(let message): message
        case .writeConflict(let stream, let attempts):
            "stream \(stream) kept changing under other writers; gave up after deciding \(attempts) times"
        }
    }
}
