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
    public var liveGroups: Set<BatchID> = []
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
