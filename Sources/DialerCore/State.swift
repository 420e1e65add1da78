import SwitchboardJSON
import SwitchboardBasics

/// The status of one call, exactly as the product names it.
public enum CallStatus: String, Sendable, CaseIterable, JSONConvertible {
    case dialing, ringing
    case inProgress = "in-progress"
    case completed, failed, terminated, voicemail

    public var isEnded: Bool {
        switch self {
        case .dialing, .ringing, .inProgress: false
        case .completed, .failed, .terminated, .voicemail: true
        }
    }
}

/// What a contact's (latest) call came to.
public enum ContactOutcome: String, Sendable, CaseIterable, JSONConvertible {
    case pending, winner, terminated, voicemail
    case noAnswer = "no-answer"
    case failed
    /// The number is on the do-not-call list: never dialled (again).
    case doNotCall = "do-not-call"
}

/// Queue life cycle. Derived (`DialerState.refreshState`): `active` while a session dials it, `paused`
/// when paused queue-wide or every session on it is paused, `completed` when nothing is left to dial,
/// `stopped` only by a queue stop, `idle` with no session.
public enum QueueState: String, Sendable, CaseIterable, JSONConvertible {
    case idle, active, paused, completed, stopped, error
}

/// A contact in a queue, with what has happened to it so far.
public struct Contact: Hashable, Sendable {
    public var id: ContactID
    public var name: String?
    public var phone: PhoneNumber
    public var segment: String?
    public var script: JSONObject?
    /// Calls that ended with an outcome. A call cut short (by a winner or a cancel) is not counted: the
    /// contact was not given a fair try.
    public var attempts: Int = 0
    /// Calls placed to the contact that ended, fair or cut short by a winner (a cancelled batch's calls
    /// are given back): a contact with none is fresh.
    public var dials: Int = 0
    public var outcome: ContactOutcome = .pending
    /// Reached (winner), left a voicemail, or dropped after answering (abandoned): never dialled again.
    public var isSettled: Bool = false
    /// The call of a live batch this contact is in, if any. Such a contact is never dialled twice.
    public var liveCall: CallID?
    /// The number is on the do-not-call list.
    public var isDoNotCall = false
    /// Not dialled again before this (after a no-answer or a failure: the queue's retry delay).
    public var retryAt: Timestamp?
    /// An explicit IANA zone (else the area code's zones apply).
    public var timeZone: String?

    public init(_ new: NewContact) {
        id = new.contactId
        name = new.name
        phone = new.phone
        segment = new.segment
        script = new.script
        timeZone = new.timeZone
    }

    /// Whether the next batch may dial this contact at `now`.
    public func isDialable(maxAttempts: Int, at now: Timestamp) -> Bool {
        isWaiting(maxAttempts: maxAttempts) && (retryAt.map { $0 <= now } ?? true)
    }

    /// Left to dial, now or once its retry time comes.
    public func isWaiting(maxAttempts: Int) -> Bool { !isSettled && liveCall == nil && attempts < maxAttempts }
}

/// The queue projection.
public struct Queue: Hashable, Sendable {
    public var id: QueueID
    public var name: String
    public var segment: String?
    public var maxAttempts: Int
    public var retryDelayMs: Int64
    public var state: QueueState = .idle
    /// Paused queue-wide by a supervisor (sessions keep their own pauses apart).
    public var pausedQueueWide = false
    /// Nothing was left to dial (until contacts are added).
    public var isCompleted = false
    public var contactOrder: [ContactID] = []
    public var contacts: [ContactID: Contact] = [:]
    /// Sessions working the queue, paused or not (not ended).
    public var activeSessions: Set<SessionID> = []
    public var liveGroups: Set<GroupID> = []
    public var errorReason: String?
    /// The queue's own subset of the organisation's caller IDs (`nil`: the whole pool).
    public var callerIds: [PhoneNumber]?
    /// The agents assigned to work this queue (`queue.agent-assigned`); only they may, as agents.
    public var agents: Set<AgentID> = []
    /// The queue's calling hours, local to each contact (never wider than the law's).
    public var callingWindow: CallingWindow = .legal
    /// The opening the queue last recorded it waits for (`queue.waiting-for-hours`); cleared by a batch.
    public var waitingForHoursUntil: Timestamp?
    /// The safe-harbor message and the abandonment thresholds.
    public var compliance: QueueCompliance = .standard
    /// The organisation's message (kept here by the fold): what the queue falls back to.
    public var organisationSafeHarborMessage: String?
    /// The message an abandoned call of this queue hears, if any.
    public var safeHarborMessageInForce: String? { compliance.safeHarborMessage ?? organisationSafeHarborMessage }
    /// Live answers and abandoned calls by day (the rolling 30-day rate) and in all.
    public var abandonment = AbandonmentTally()
    /// The 3 % guard's level, and the change that set it (`nil`: never moved).
    public var guardLevel: AbandonmentGuardLevel = .normal
    public var guardChangedBy: AbandonmentGuardChanged?
    public var guardChangedAt: Timestamp?
    // Counters for the rates.
    public var dialedCalls = 0
    /// Calls that got a fair ring: answered, or ended unanswered on their own (no answer, failure). A
    /// call cut short by a winner or a cancel is left out, so it does not lower the answer rate.
    public var fairDials = 0
    public var humanAnswers = 0
    public var machineAnswers = 0

    public static let defaultRetryDelayMs: Int64 = 600_000
    public static let retryDelayRange: ClosedRange<Int64> = 0...86_400_000

    public init(id: QueueID, name: String, segment: String?, maxAttempts: Int, retryDelayMs: Int64 = Queue.defaultRetryDelayMs) {
        self.id = id
        self.name = name
        self.segment = segment
        self.maxAttempts = maxAttempts
        self.retryDelayMs = retryDelayMs
    }

    /// Answered by a human ÷ calls that got a fair ring; `nil` before the first.
    public var answerRate: Double? { fairDials == 0 ? nil : Double(humanAnswers) / Double(fairDials) }
    /// Abandoned calls since the queue began.
    public var abandonedCalls: Int { abandonment.lifetime.abandoned }
    /// Abandoned ÷ live answers since the queue began (the guard reads the rolling 30 days).
    public var abandonmentRate: Double? { abandonment.lifetime.rate }

    /// The first `limit` contacts a batch may dial at `now`: fresh ones (never dialled) first, then the
    /// others by attempts so far — a contact cut short comes after the fresh ones, ahead of real
    /// retries — each in the order they were added (one pass, no sort: attempts are few).
    public func dialableContacts(limit: Int, at now: Timestamp, where include: (Contact) -> Bool = { _ in true }) -> [Contact] {
        var byAttempts = [[Contact]](repeating: [], count: maxAttempts)
        var fresh: [Contact] = []
        for id in contactOrder {
            guard let contact = contacts[id], contact.isDialable(maxAttempts: maxAttempts, at: now), include(contact)
            else { continue }
            if contact.dials == 0 {
                fresh.append(contact)
                if fresh.count == limit { return fresh }
            } else if byAttempts[contact.attempts].count < limit {
                byAttempts[contact.attempts].append(contact)
            }
        }
        for bucket in byAttempts {
            fresh.append(contentsOf: bucket.prefix(limit - fresh.count))
            if fresh.count >= limit { break }
        }
        return fresh
    }

    /// Contacts still to be dialled (now or after their retry time) or in a live batch.
    public var pendingCount: Int { contacts.values.count { $0.isWaiting(maxAttempts: maxAttempts) || $0.liveCall != nil } }

    /// When the first contact that waits for its retry time after `now` becomes dialable.
    public func nextRetryAt(after now: Timestamp) -> Timestamp? {
        contacts.values.lazy.filter { $0.isWaiting(maxAttempts: self.maxAttempts) }.compactMap(\.retryAt)
            .filter { $0 > now }.min()
    }
}

/// A session's life cycle.
public enum SessionState: String, Sendable, CaseIterable, JSONConvertible {
    case active, paused, ended
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
    public var state: SessionState = .active
    public var endReason: SessionEndReason?
    public var startedAt: Timestamp
    public var endedAt: Timestamp?
    /// The batch being dialled or talked on now.
    public var currentGroup: GroupID?
    public var lastGroup: GroupID?
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
        guard state == .active, currentGroup == nil else { return nil }
        if let wrapUp {
            guard let endsAt = wrapUp.endsAt else { return NextBatch(at: nil, reason: .disposition) }
            return NextBatch(at: endsAt, reason: .wrapUp)
        }
        guard let ended = lastBatchEndedAt else { return NextBatch(at: startedAt, reason: .now) }
        if lastBatchResult == .connected { return NextBatch(at: ended, reason: .now) }
        return NextBatch(at: ended.adding(milliseconds: settings.cooldownMs), reason: .cooldown)
    }
}

/// The time after a conversation for the agent to record what happened; the next batch waits.
public struct WrapUp: Hashable, Sendable {
    public var groupId: GroupID
    public var callId: CallID
    /// When the next batch may start anyway; `nil` while a disposition is required.
    public var endsAt: Timestamp?

    public init(groupId: GroupID, callId: CallID, endsAt: Timestamp?) {
        self.groupId = groupId
        self.callId = callId
        self.endsAt = endsAt
    }
}

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
public enum GroupStatus: String, Sendable, CaseIterable, JSONConvertible {
    case dialing, connected, completed
    case noAnswer = "no-answer"
    case cancelled
}

/// The parallel group (batch) projection.
public struct Group: Hashable, Sendable {
    public var id: GroupID
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
        id = e.groupId
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

    public var status: GroupStatus {
        if cancelled { return .cancelled }
        if isEnded { return winner == nil ? .noAnswer : .completed }
        return winner == nil ? .dialing : .connected
    }

    public func index(of callId: CallID) -> Int? { calls.firstIndex { $0.id == callId } }
    public func call(_ callId: CallID) -> Call? { index(of: callId).map { calls[$0] } }
}

/// Every projection the dialer needs, folded from the log: the state `decide` reads.
public struct DialerState: Hashable, Sendable {
    public var queues: [QueueID: Queue] = [:]
    public var sessions: [SessionID: Session] = [:]
    /// Every token ever issued (revoked and expired ones stay, for the audit).
    public var tokens: [TokenID: AccessToken] = [:]
    /// The organisation's caller IDs, in the order they were added (the first is the fallback).
    public var callerIds: [PhoneNumber] = []
    /// The organisation's do-not-call list.
    public var doNotCall: Set<PhoneNumber> = []
    /// The organisation's safe-harbor message (queues without their own play it).
    public var safeHarborMessage: String?
    public var groups: [GroupID: Group] = [:]
    /// Position of the last event folded in.
    public var position: Int64 = 0

    public init() {}
}
