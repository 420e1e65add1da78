import SwitchboardJSON
import SwitchboardBasics

// MARK: - Events

/// A person answered and was not connected: why, and whether they heard the safe-harbor message.
public struct CallAbandoned: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public var contactId: ContactID
    public var answeredBy: AnsweredBy
    public var cause: AbandonCause
    public var safeHarbor: SafeHarborRequest
    /// The message the carrier was asked to play (absent with `no-safe-harbor`).
    public var message: String?
    public init(batchId: BatchID, callId: CallID, contactId: ContactID, answeredBy: AnsweredBy, cause: AbandonCause,
                safeHarbor: SafeHarborRequest, message: String?) {
        self.batchId = batchId; self.callId = callId; self.contactId = contactId; self.answeredBy = answeredBy
        self.cause = cause; self.safeHarbor = safeHarbor; self.message = message
    }
}

extension CallAbandoned: DialerEventPayload {
    public static let type = EventType("call.abandoned")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) ABANDONED (\(cause.rawValue), \(answeredBy.rawValue)): safe harbor \(safeHarbor.rawValue)" }
}

/// The abandoned call whose safe-harbor message began to play; the event's time says when.
public struct SafeHarborStarted: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public init(batchId: BatchID, callId: CallID) { self.batchId = batchId; self.callId = callId }
}

extension SafeHarborStarted: DialerEventPayload {
    public static let type = EventType("call.safe-harbor-started")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) safe-harbor message playing" }
}

/// The abandoned call whose safe-harbor message finished, after which the carrier hung up.
public struct SafeHarborEnded: Hashable, Sendable {
    public var batchId: BatchID
    public var callId: CallID
    public init(batchId: BatchID, callId: CallID) { self.batchId = batchId; self.callId = callId }
}

extension SafeHarborEnded: DialerEventPayload {
    public static let type = EventType("call.safe-harbor-ended")
    public var subject: EventSubject { .group(batchId) }
    public var summary: String { "\(callId) safe-harbor message played, hung up" }
}

/// The guard moved: the level, the lines it allows, and the figures it was decided on.
public struct AbandonmentGuardChanged: Hashable, Sendable {
    public var queueId: QueueID
    public var level: AbandonmentGuardLevel
    public var previous: AbandonmentGuardLevel
    public var maxLines: Int?
    public var abandoned: Int
    public var liveAnswers: Int
    public var windowDays: Int
    /// The window's first and last UTC day, `YYYY-MM-DD`.
    public var windowFrom: String
    public var windowTo: String
    public var warnPercent: Percent
    public var capPercent: Percent
    public init(queueId: QueueID, level: AbandonmentGuardLevel, previous: AbandonmentGuardLevel, maxLines: Int?, abandoned: Int,
                liveAnswers: Int, windowDays: Int, windowFrom: String, windowTo: String, warnPercent: Percent, capPercent: Percent) {
        self.queueId = queueId; self.level = level; self.previous = previous; self.maxLines = maxLines
        self.abandoned = abandoned; self.liveAnswers = liveAnswers; self.windowDays = windowDays
        self.windowFrom = windowFrom; self.windowTo = windowTo; self.warnPercent = warnPercent; self.capPercent = capPercent
    }

    /// The window's rate, to two decimals (the integers above are the exact figures).
    public var ratePercent: Percent { Percent(abandoned, of: liveAnswers) }
}

extension AbandonmentGuardChanged: DialerEventPayload {
    public static let type = EventType("queue.abandonment-guard-changed")
    public var subject: EventSubject { .queue(queueId) }
    public var summary: String {
        "guard \(previous.rawValue) → \(level.rawValue): \(abandoned)/\(liveAnswers) abandoned (\(ratePercent)) over "
        + "\(windowFrom)…\(windowTo), at most \(maxLines.map(String.init) ?? "all") lines"
    }
}

/// A queue's compliance settings changed (`PATCH /v1/queues/{id}`): all of them, as they now are.
public struct QueueComplianceSet: Hashable, Sendable {
    public var queueId: QueueID
    public var safeHarborMessage: String?
    public var abandonWarnPercent: Percent
    public var abandonCapPercent: Percent
    public init(queueId: QueueID, safeHarborMessage: String?, abandonWarnPercent: Percent, abandonCapPercent: Percent) {
        self.queueId = queueId; self.safeHarborMessage = safeHarborMessage
        self.abandonWarnPercent = abandonWarnPercent; self.abandonCapPercent = abandonCapPercent
    }
    public var compliance: QueueCompliance {
        QueueCompliance(safeHarborMessage: safeHarborMessage, abandonWarnPercent: abandonWarnPercent,
                        abandonCapPercent: abandonCapPercent)
    }
}

extension QueueComplianceSet: DialerEventPayload {
    public static let type = EventType("queue.compliance-set")
    public var subject: EventSubject { .queue(queueId) }
    public var summary: String { "compliance settings changed" }
}

/// The organisation's safe-harbor message (the server's setting), recorded when it changes so that
/// replay knows which message applied when.
public struct OrganisationSafeHarborSet: Hashable, Sendable {
    public var message: String?
    public init(message: String?) { self.message = message }
}

extension OrganisationSafeHarborSet: DialerEventPayload {
    public static let type = EventType("organisation.safe-harbor-set")
    public var subject: EventSubject { EventSubject(stream: .organisation) }
    public var summary: String { "compliance settings changed" }
}

extension CallAbandoned: JSONShaped {
    public static let shape = JSONShape(
        CallAbandoned.init(batchId:callId:contactId:answeredBy:cause:safeHarbor:message:),
        JSONField("groupId", \CallAbandoned.batchId),
        JSONField("callId", \CallAbandoned.callId),
        JSONField("contactId", \CallAbandoned.contactId),
        JSONField("answeredBy", \CallAbandoned.answeredBy),
        JSONField("cause", \CallAbandoned.cause),
        JSONField("safeHarbor", \CallAbandoned.safeHarbor),
        JSONField<CallAbandoned, String?>.omittedWhenAbsent("message", \CallAbandoned.message)
    )
}

extension SafeHarborStarted: JSONShaped {
    public static let shape = JSONShape(
        SafeHarborStarted.init(batchId:callId:),
        JSONField("groupId", \SafeHarborStarted.batchId),
        JSONField("callId", \SafeHarborStarted.callId)
    )
}

extension SafeHarborEnded: JSONShaped {
    public static let shape = JSONShape(
        SafeHarborEnded.init(batchId:callId:),
        JSONField("groupId", \SafeHarborEnded.batchId),
        JSONField("callId", \SafeHarborEnded.callId)
    )
}

extension AbandonmentGuardChanged: JSONShaped {
    public static let shape = JSONShape(
        { queueId, level, previous, maxLines, abandoned, liveAnswers, _, windowDays, windowFrom, windowTo, warn, cap in
            // `ratePercent` is written for readers and derived again on reading.
            AbandonmentGuardChanged(queueId: queueId, level: level, previous: previous, maxLines: maxLines, abandoned: abandoned,
                                    liveAnswers: liveAnswers, windowDays: windowDays, windowFrom: windowFrom,
                                    windowTo: windowTo, warnPercent: warn, capPercent: cap)
        },
        JSONField("queueId", \AbandonmentGuardChanged.queueId),
        JSONField("level", \AbandonmentGuardChanged.level),
        JSONField("previous", \AbandonmentGuardChanged.previous),
        JSONField("maxLines", \AbandonmentGuardChanged.maxLines),
        JSONField("abandoned", \AbandonmentGuardChanged.abandoned),
        JSONField("liveAnswers", \AbandonmentGuardChanged.liveAnswers),
        JSONField("ratePercent", \AbandonmentGuardChanged.ratePercent),
        JSONField("windowDays", \AbandonmentGuardChanged.windowDays),
        JSONField("windowFrom", \AbandonmentGuardChanged.windowFrom),
        JSONField("windowTo", \AbandonmentGuardChanged.windowTo),
        JSONField("warnPercent", \AbandonmentGuardChanged.warnPercent),
        JSONField("capPercent", \AbandonmentGuardChanged.capPercent)
    )
}

extension QueueComplianceSet: JSONShaped {
    public static let shape = JSONShape(
        QueueComplianceSet.init(queueId:safeHarborMessage:abandonWarnPercent:abandonCapPercent:),
        JSONField("queueId", \QueueComplianceSet.queueId),
        JSONField("safeHarborMessage", \QueueComplianceSet.safeHarborMessage),
        JSONField("abandonWarnPercent", \QueueComplianceSet.abandonWarnPercent),
        JSONField("abandonCapPercent", \QueueComplianceSet.abandonCapPercent)
    )
}

extension OrganisationSafeHarborSet: JSONShaped {
    public static let shape = JSONShape(OrganisationSafeHarborSet.init(message:),
                                        JSONField("message", \OrganisationSafeHarborSet.message))
}
