import SwitchboardBasics
import SwitchboardJSON

// Abandonment, the 3 % guard and the safe-harbor message (FTC TSR, 16 CFR 310.4(b)(4)).
//
// A call is abandoned when a person answers — `human`, or `unknown` where the batch's AMD policy would
// connect it — and is not connected to the agent. Every answer that counts as live ends one of two
// ways: the agent gets it (`call.connected`) or it is abandoned (`call.abandoned`). So a queue's live
// answers are its connects plus its abandoned calls, and the rate is abandoned ÷ live answers over the
// rolling 30 days (UTC days: today and the 29 before it).
//
// An abandoned person hears the queue's safe-harbor message (who called, a number to call back, how
// to opt out) and is hung up on; without a message the call is recorded `no-safe-harbor`.
//
// The guard keeps a queue under the cap: at or above `abandonWarnPercent` it dials at most two lines
// and never `aggressive`; at or above `abandonCapPercent` one line (no abandonment is possible) until
// the rate is back under the warning.

/// A percentage with two decimals (2.5 % is 250 basis points): compared exactly, written as a number.
public struct Percent: Hashable, Sendable, Comparable, CustomStringConvertible, JSONConvertible {
    public var basisPoints: Int

    public init(basisPoints: Int) { self.basisPoints = basisPoints }

    public init(json: JSONValue) throws(JSONError) {
        let hundredths: Double
        switch json {
        case .int(let value): hundredths = Double(value) * 100
        case .double(let value): hundredths = value * 100
        default: throw JSONError("expected a percentage (a number), got \(json.kindName)")
        }
        let rounded = hundredths.rounded()
        guard hundredths.isFinite, abs(hundredths - rounded) < 1e-6, abs(rounded) <= 1_000_000 else {
            throw JSONError("expected a percentage with at most two decimals")
        }
        basisPoints = Int(rounded)
    }

    /// `part ÷ whole` to the nearest basis point (0 when `whole` is 0).
    public init(_ part: Int, of whole: Int) {
        basisPoints = whole <= 0 ? 0 : (part * 10_000 + whole / 2) / whole
    }

    public var json: JSONValue { .double(Double(basisPoints) / 100) }
    public var description: String { "\(Double(basisPoints) / 100) %" }
    public static func < (a: Percent, b: Percent) -> Bool { a.basisPoints < b.basisPoints }

    /// `part ÷ whole` reaches this percentage (exact, in integers).
    public func isReached(by part: Int, of whole: Int) -> Bool { whole > 0 && part * 10_000 >= basisPoints * whole }
}

/// A queue's compliance settings: its safe-harbor message and its abandonment thresholds.
public struct QueueCompliance: Hashable, Sendable {
    /// What an abandoned person hears (`nil`: the organisation's message, if it has one).
    public var safeHarborMessage: String?
    public var abandonWarnPercent: Percent
    public var abandonCapPercent: Percent

    public static let defaultWarn = Percent(basisPoints: 250)
    /// The rule's own cap: a queue may be stricter, never looser.
    public static let legalCap = Percent(basisPoints: 300)
    public static let standard = QueueCompliance(safeHarborMessage: nil, abandonWarnPercent: defaultWarn,
                                                 abandonCapPercent: legalCap)
    /// Long enough for who is calling, a callback number and how to opt out; short enough to play in full.
    public static let messageLength = 20...500

    public init(safeHarborMessage: String?, abandonWarnPercent: Percent, abandonCapPercent: Percent) {
        self.safeHarborMessage = safeHarborMessage
        self.abandonWarnPercent = abandonWarnPercent
        self.abandonCapPercent = abandonCapPercent
    }

    /// What is wrong with these settings, field by field.
    public var violations: [SettingsViolation] {
        var problems: [SettingsViolation] = []
        if let message = safeHarborMessage, let problem = Self.problem(withMessage: message) {
            problems.append(SettingsViolation(field: "safeHarborMessage", message: problem))
        }
        if abandonCapPercent.basisPoints <= 0 || abandonCapPercent > Self.legalCap {
            problems.append(SettingsViolation(field: "abandonCapPercent", message: "must be above 0 and at most 3 (the rule's cap)"))
        }
        if abandonWarnPercent.basisPoints <= 0 || abandonWarnPercent > abandonCapPercent {
            problems.append(SettingsViolation(field: "abandonWarnPercent", message: "must be above 0 and at most abandonCapPercent"))
        }
        return problems
    }

    public static func problem(withMessage message: String) -> String? {
        let length = message.unicodeScalars.count
        guard !message.unicodeScalars.allSatisfy(DialerState.isSchemaWhitespace), messageLength.contains(length) else {
            return "must be \(messageLength.lowerBound) to \(messageLength.upperBound) characters: who is calling, a number to call back and how to opt out"
        }
        return nil
    }
}

/// Why a person who answered was not connected to the agent.
public enum AbandonCause: String, Sendable, CaseIterable, JSONConvertible {
    /// They answered while the batch already had its winner (their call was still ringing).
    case afterWinner = "after-winner"
    /// They answered while our hang-up, sent because another call had won, was on its way.
    case racedWinner = "raced-winner"
    /// They answered while our cancel (a Cancel, a stop) was on its way.
    case racedCancel = "raced-cancel"
    /// They answered as our hang-up reached a carrier that has no cancel sparing an answered call
    /// (Telnyx: a hang-up is a CANCEL before the answer and a BYE after): cut off, with no message possible.
    case racedHangup = "raced-hangup"
}

/// Whether an abandoned person heard a safe-harbor message.
public enum SafeHarborRequest: String, Sendable, CaseIterable, JSONConvertible {
    /// The carrier was asked to play the message, then hang up.
    case requested
    /// Neither the queue nor the organisation has a message: hung up in silence.
    case noSafeHarbor = "no-safe-harbor"
    /// Our hang-up had already ended the call when the answer reached us: nothing could be played.
    case cutOff = "cut-off"
}

/// The guard's levels, from none to one line at a time.
public enum AbandonmentGuardLevel: String, Sendable, CaseIterable, JSONConvertible, Comparable {
    case normal, warning, capped

    /// The most lines a batch may dial at this level (`nil`: the session's and profile's own).
    public var maxLines: Int? {
        switch self {
        case .normal: nil
        case .warning: 2
        case .capped: 1
        }
    }

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }

    /// The level after `current` at `abandoned` of `live` answers: the cap holds until the rate is
    /// back under the warning (no flapping at the cap).
    public static func next(after current: Self, abandoned: Int, live: Int, compliance: QueueCompliance) -> Self {
        if compliance.abandonCapPercent.isReached(by: abandoned, of: live) { return .capped }
        let warned = compliance.abandonWarnPercent.isReached(by: abandoned, of: live)
        if current == .capped { return warned ? .capped : .normal }
        return warned ? .warning : .normal
    }
}

/// Live answers and abandoned calls per UTC day, and since the queue began.
public struct AbandonmentTally: Hashable, Sendable {
    public struct Count: Hashable, Sendable {
        public var liveAnswers = 0
        public var abandoned = 0
        public init(liveAnswers: Int = 0, abandoned: Int = 0) {
            self.liveAnswers = liveAnswers
            self.abandoned = abandoned
        }
    }

    public static let windowDays = 30
    static let dayMs: Int64 = 86_400_000

    public var byDay: [Int64: Count] = [:]
    public var lifetime = Count()
    /// Abandoned calls that heard no safe-harbor message.
    public var withoutSafeHarbor = 0

    public static func day(of time: Timestamp) -> Int64 { time.millisecondsSinceEpoch.floorDivided(by: dayMs).quotient }

    mutating func count(at time: Timestamp, abandoned: Bool) {
        let day = Self.day(of: time)
        byDay[day, default: Count()].liveAnswers += 1
        lifetime.liveAnswers += 1
        if abandoned {
            byDay[day, default: Count()].abandoned += 1
            lifetime.abandoned += 1
        }
    }

    /// The rolling window ending with `now`'s day.
    public func window(endingAt now: Timestamp) -> Count {
        let today = Self.day(of: now)
        var sum = Count()
        for day in (today - Int64(Self.windowDays) + 1)...today {
            guard let count = byDay[day] else { continue }
            sum.liveAnswers += count.liveAnswers
            sum.abandoned += count.abandoned
        }
        return sum
    }

    public func today(at now: Timestamp) -> Count { byDay[Self.day(of: now)] ?? Count() }

    /// The window's days that had a live answer, oldest first (`YYYY-MM-DD`, UTC): what a wall draws
    /// as daily bars against the cap; a day without one has nothing to draw.
    public func days(endingAt now: Timestamp) -> [(day: String, count: Count)] {
        let today = Self.day(of: now)
        return ((today - Int64(Self.windowDays) + 1)...today).compactMap { day in
            byDay[day].map { (Self.text(day), $0) }
        }
    }

    /// `YYYY-MM-DD` of the window's first and last day.
    public static func windowDays(endingAt now: Timestamp) -> (from: String, to: String) {
        let today = day(of: now)
        return (text(today - Int64(windowDays) + 1), text(today))
    }

    static func text(_ day: Int64) -> String { String(Timestamp(millisecondsSinceEpoch: day * dayMs).rfc3339.prefix(10)) }
}

public extension AbandonmentTally.Count {
    /// Abandoned ÷ live answers; `nil` before the first live answer.
    var rate: Double? { liveAnswers == 0 ? nil : Double(abandoned) / Double(liveAnswers) }
}

// MARK: - Deciding

extension DialerState {
    /// A person answered `call` and will not be connected: the abandonment, then — if it moves the
    /// guard — the guard's change, counted with this call.
    func abandoning(_ call: Call, of group: Batch, answeredBy: AnsweredBy, cause: AbandonCause, at now: Timestamp) -> [DialerEvent] {
        guard let queue = queues[group.queueId] else { return [] }
        let message = queue.safeHarborMessageInForce
        var events: [DialerEvent] = [.callAbandoned(.init(
            batchId: group.id, callId: call.id, contactId: call.contactId, answeredBy: answeredBy, cause: cause,
            safeHarbor: message == nil ? .noSafeHarbor : .requested, message: message))]
        if let change = queue.guardChange(at: now, adding: .init(liveAnswers: 1, abandoned: 1)) {
            events.append(.abandonmentGuardChanged(change))
        }
        return events
    }

    /// An answer that reached us after we had ended its call: a person who answered a call we had
    /// already let go of (winner or cancel) is abandoned; anything else is refused as before.
    func answerAfterEnd(_ call: Call, of group: Batch, answeredBy: AnsweredBy, at now: Timestamp) throws(DomainError) -> [DialerEvent] {
        let cause: AbandonCause? = switch call.endReason {
        case TerminationReason.lostRace.rawValue?: .racedWinner
        case TerminationReason.cancelled.rawValue?: .racedCancel
        default: nil
        }
        guard let cause, call.isPlaced, call.answeredBy == nil, !call.abandoned, group.amdPolicy.accepts(answeredBy)
        else { throw .callEnded(call.id, call.status) }
        return abandoning(call, of: group, answeredBy: answeredBy, cause: cause, at: now)
    }

    /// The carrier says a person answered just as our hang-up ended their call (`recordCutOff`): they were
    /// abandoned with no message possible, and the guard counts them like any other.
    func cutOff(_ call: Call, of group: Batch, answeredBy: AnsweredBy, at now: Timestamp) throws(DomainError) -> [DialerEvent] {
        let ourEnd = [TerminationReason.lostRace.rawValue, TerminationReason.cancelled.rawValue].contains(call.endReason ?? "")
        guard ourEnd, call.isPlaced, !call.abandoned, answeredBy != .machine else { throw .callEnded(call.id, call.status) }
        guard let queue = queues[group.queueId] else { return [] }
        var events: [DialerEvent] = [.callAbandoned(.init(
            batchId: group.id, callId: call.id, contactId: call.contactId, answeredBy: answeredBy, cause: .racedHangup,
            safeHarbor: .cutOff, message: nil))]
        if let change = queue.guardChange(at: now, adding: .init(liveAnswers: 1, abandoned: 1)) {
            events.append(.abandonmentGuardChanged(change))
        }
        return events
    }

    func decideCompliance(_ command: Command) throws(DomainError) -> [DialerEvent] {
        switch command {
        case .setQueueCompliance(let queueId, let compliance):
            let queue = try queue(queueId)
            let violations = compliance.violations
            guard violations.isEmpty else { throw .invalidSettings(violations) }
            guard compliance != queue.compliance else { return [] }
            return [.queueComplianceSet(.init(queueId: queueId, safeHarborMessage: compliance.safeHarborMessage,
                                              abandonWarnPercent: compliance.abandonWarnPercent,
                                              abandonCapPercent: compliance.abandonCapPercent))]
        case .setOrganisationSafeHarbor(let message):
            if let message, let problem = QueueCompliance.problem(withMessage: message) {
                throw .invalidValue(field: "safeHarborMessage", message: problem)
            }
            return message == safeHarborMessage ? [] : [.organisationSafeHarborSet(.init(message: message))]
        case .recordSafeHarborStarted(let batchId, let callId), .recordSafeHarborEnded(let batchId, let callId):
            let group = try group(batchId)
            guard let call = group.call(callId) else { throw .callNotFound(batchId, callId) }
            guard call.abandoned, call.safeHarbor == .requested else {
                throw .invalidTransition("call \(callId) was not asked to play a safe-harbor message")
            }
            if case .recordSafeHarborStarted = command {
                guard call.safeHarborStartedAt == nil else { return [] }
                return [.safeHarborStarted(.init(batchId: batchId, callId: callId))]
            }
            guard call.safeHarborEndedAt == nil else { return [] }
            return [.safeHarborEnded(.init(batchId: batchId, callId: callId))]
        default:
            return []
        }
    }
}

extension Queue {
    /// The guard's change at `now`, counting `adding` (an abandonment being decided) into the window;
    /// `nil` when the level stays.
    public func guardChange(at now: Timestamp, adding extra: AbandonmentTally.Count = .init()) -> AbandonmentGuardChanged? {
        var window = abandonment.window(endingAt: now)
        window.liveAnswers += extra.liveAnswers
        window.abandoned += extra.abandoned
        let level = AbandonmentGuardLevel.next(after: guardLevel, abandoned: window.abandoned, live: window.liveAnswers,
                                               compliance: compliance)
        guard level != guardLevel else { return nil }
        let days = AbandonmentTally.windowDays(endingAt: now)
        return AbandonmentGuardChanged(queueId: id, level: level, previous: guardLevel, maxLines: level.maxLines,
                                       abandoned: window.abandoned, liveAnswers: window.liveAnswers,
                                       windowDays: AbandonmentTally.windowDays, windowFrom: days.from, windowTo: days.to,
                                       warnPercent: compliance.abandonWarnPercent, capPercent: compliance.abandonCapPercent)
    }
}

// MARK: - Folding

extension DialerState {
    mutating func foldCompliance(_ event: DialerEvent, position: Int64, at time: Timestamp) {
        // A batch's events below also move its position (its ETag).
        switch event {
        case .callConnected(let e):
            if let queueId = batches[e.batchId]?.queueId { queues[queueId]?.abandonment.count(at: time, abandoned: false) }
        case .callAbandoned(let e):
            guard let group = batches[e.batchId], let index = group.index(of: e.callId) else { return }
            let contactId = group.calls[index].contactId
            batches[e.batchId]?.position = position
            batches[e.batchId]?.calls[index].abandoned = true
            batches[e.batchId]?.calls[index].abandonCause = e.cause
            batches[e.batchId]?.calls[index].safeHarbor = e.safeHarbor
            if batches[e.batchId]?.calls[index].answeredBy == nil {  // raced our cancel: no call.answered came first
                batches[e.batchId]?.calls[index].answeredBy = e.answeredBy
                batches[e.batchId]?.calls[index].answeredAt = time
            }
            modifyQueue(group.queueId) { queue in
                queue.abandonment.count(at: time, abandoned: true)
                if e.safeHarbor != .requested { queue.abandonment.withoutSafeHarbor += 1 }
                // A person answered (an attempt) and was dropped: never dialled again automatically.
                guard var contact = queue.contacts[contactId] else { return }
                contact.attempts += 1
                contact.isSettled = true
                if contact.liveCall == nil || contact.liveCall == e.callId {
                    contact.outcome = contact.isDoNotCall ? .doNotCall : .terminated
                }
                queue.contacts[contactId] = contact
            }
            sessions[group.sessionId]?.abandoned += 1
        case .safeHarborStarted(let e):
            batches[e.batchId]?.position = position
            if let index = batches[e.batchId]?.index(of: e.callId) { batches[e.batchId]?.calls[index].safeHarborStartedAt = time }
        case .safeHarborEnded(let e):
            batches[e.batchId]?.position = position
            if let index = batches[e.batchId]?.index(of: e.callId) { batches[e.batchId]?.calls[index].safeHarborEndedAt = time }
        case .abandonmentGuardChanged(let e):
            queues[e.queueId]?.guardLevel = e.level
            queues[e.queueId]?.guardChangedBy = e
            queues[e.queueId]?.guardChangedAt = time
        case .queueComplianceSet(let e):
            queues[e.queueId]?.compliance = e.compliance
        case .organisationSafeHarborSet(let e):
            safeHarborMessage = e.message
            for id in queues.keys { queues[id]?.organisationSafeHarborMessage = e.message }
        case .queueCreated(let e):
            queues[e.queueId]?.organisationSafeHarborMessage = safeHarborMessage
        default:
            break
        }
    }
}
