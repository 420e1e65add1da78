import DialerCore
import EventStore
import WritePath
import SwitchboardBasics

/// What a compliance officer is asked for, per queue (the rule's campaign) and per day (UTC): calls
/// dialled, live answers, abandoned calls, the abandonment rate that day and over the 30 days ending
/// that day (16 CFR 310.4(b)(4): at most 3 %), and the evidence for the other rules — calls placed
/// outside the called person's hours (checked again here, expected 0), dials the do-not-call list
/// prevented, and abandoned calls that heard the safe-harbor message within 2 s or heard none.
/// Folded from the log alone, through the same projections the dialer decides on.
public struct ComplianceReport: Sendable, Hashable {
    public struct Day: Sendable, Hashable {
        public var queueId: QueueID
        /// `YYYY-MM-DD`, UTC.
        public var day: String
        public var dialed = 0
        public var liveAnswers = 0
        public var abandoned = 0
        /// The same three over the 30 days ending with this one.
        public var dialed30 = 0
        public var liveAnswers30 = 0
        public var abandoned30 = 0
        /// Calls placed when the contact's local time was outside the queue's calling hours.
        public var callsOutsideCallingHours = 0
        /// Contacts still to be dialled that the do-not-call list settled (listed, or added already listed).
        public var doNotCallPrevented = 0
        /// Abandoned calls whose safe-harbor message began within 2 s of the answer.
        public var abandonedWithSafeHarborWithin2s = 0
        /// Abandoned calls that heard no message (neither the queue nor the organisation had one).
        public var abandonedWithoutSafeHarbor = 0

        public var abandonmentRate: Double? { liveAnswers == 0 ? nil : Double(abandoned) / Double(liveAnswers) }
        public var abandonmentRate30: Double? { liveAnswers30 == 0 ? nil : Double(abandoned30) / Double(liveAnswers30) }
    }

    public static let windowDays = AbandonmentTally.windowDays
    /// The safe-harbor message must begin within this long of the answer.
    public static let safeHarborWithinMs: Int64 = 2000

    /// Every queue-day with traffic, by queue then day.
    public var days: [Day]

    /// Folds the log into the report for `queue` (or every queue) and the days `from...to` (inclusive,
    /// UTC days of the given times; the 30-day windows also count the days before `from`). The
    /// server reads its live `ComplianceTally` instead; this is the same count from the log alone.
    public static func build(_ store: some EventStore, queue: QueueID? = nil, from: Timestamp? = nil,
                             to: Timestamp? = nil) async throws -> ComplianceReport {
        var builder = Builder()
        for try await recorded in store.events() { try builder.add(recorded) }
        return builder.tally.report(queue: queue, from: from, to: to)
    }

    /// Folds events one at a time into a state of its own (a store's, or a simulation's in memory).
    public struct Builder: Sendable {
        var state = DialerState()
        public private(set) var tally = ComplianceTally()

        public init() {}

        public mutating func add(_ recorded: RecordedEvent) throws {
            let event = try EventCodec.decode(recorded)
            tally.count(event, at: recorded.time, found: state)
            state.apply(event, position: recorded.position, at: recorded.time)
        }

        public func report(queue: QueueID? = nil, from: Timestamp? = nil, to: Timestamp? = nil) -> ComplianceReport {
            tally.report(queue: queue, from: from, to: to)
        }
    }
}

/// The compliance report's counts per queue and day, kept as the log is followed (the projection
/// host's read model): each event counted with the state it found, before it is folded. Small — a
/// row per queue and day — so the report is read, not folded from the log per request.
public struct ComplianceTally: Sendable, Hashable {
    var counts: [QueueID: [Int64: ComplianceReport.Day]] = [:]

    public init() {}

    /// Counts `event`, logged at `time`, as it found `state` (the state before it is folded).
    public mutating func count(_ event: DialerEvent, at time: Timestamp, found state: DialerState) {
        let day = AbandonmentTally.day(of: time)
        func count(_ queueId: QueueID?, _ change: (inout ComplianceReport.Day) -> Void) {
            guard let queueId else { return }
            change(&counts[queueId, default: [:]][day, default: ComplianceReport.Day(queueId: queueId, day: "")])
        }
        func queueOf(_ group: BatchID) -> QueueID? { state.batches[group]?.queueId }
        switch event {
        case .callDialed(let e):
            count(queueOf(e.batchId)) { row in
                row.dialed += 1
                // Checked again here, whatever decided the dial: expected 0.
                if let group = state.batches[e.batchId], let queue = state.queues[group.queueId],
                    let contact = queue.contacts[e.contactId],
                    !CallingHours.allows(CallingHours.zones(of: contact), queue.callingWindow, at: time)
                {
                    row.callsOutsideCallingHours += 1
                }
            }
        case .callConnected(let e):
            count(queueOf(e.batchId)) { $0.liveAnswers += 1 }
        case .callAbandoned(let e):
            count(queueOf(e.batchId)) { row in
                row.liveAnswers += 1
                row.abandoned += 1
                if e.safeHarbor != .requested { row.abandonedWithoutSafeHarbor += 1 }
            }
        case .safeHarborStarted(let e):
            if let call = state.batches[e.batchId]?.call(e.callId), let answeredAt = call.answeredAt,
                time.milliseconds(since: answeredAt) <= ComplianceReport.safeHarborWithinMs
            {
                count(queueOf(e.batchId)) { $0.abandonedWithSafeHarborWithin2s += 1 }
            }
        case .doNotCallAdded(let e):
            // The contacts at these numbers still to be dialled, per queue (through the state's index).
            var prevented: [QueueID: Int] = [:]
            for phone in Set(e.phones) {
                for address in state.contactsByPhone[phone] ?? [] {
                    guard let queue = state.queues[address.queueId], let contact = queue.contacts[address.contactId],
                        contact.isWaiting(maxAttempts: queue.maxAttempts)
                    else { continue }
                    prevented[address.queueId, default: 0] += 1
                }
            }
            for (queueId, number) in prevented { count(queueId) { $0.doNotCallPrevented += number } }
        case .contactsAdded(let e) where !state.doNotCall.isEmpty:
            let prevented = e.contacts.count { state.doNotCall.contains($0.phone) }
            if prevented > 0 { count(e.queueId) { $0.doNotCallPrevented += prevented } }
        default:
            break
        }
    }

    /// The report for `queue` (or every queue) and the days `from...to` (inclusive, UTC days; the
    /// 30-day windows also count the days before `from`).
    public func report(queue: QueueID? = nil, from: Timestamp? = nil, to: Timestamp? = nil) -> ComplianceReport {
        let first = from.map(AbandonmentTally.day(of:)) ?? .min
        let last = to.map(AbandonmentTally.day(of:)) ?? .max
        let windowDays = Int64(ComplianceReport.windowDays)
        var days: [ComplianceReport.Day] = []
        for (queueId, byDay) in counts.sorted(by: { $0.key < $1.key }) where queue == nil || queue == queueId {
            for (day, today) in byDay.sorted(by: { $0.key < $1.key }) where day >= first && day <= last {
                var row = today
                row.day = String(Timestamp(millisecondsSinceEpoch: day * 86_400_000).rfc3339.prefix(10))
                for (earlier, counted) in byDay where earlier > day - windowDays && earlier <= day {
                    row.dialed30 += counted.dialed
                    row.liveAnswers30 += counted.liveAnswers
                    row.abandoned30 += counted.abandoned
                }
                days.append(row)
            }
        }
        return ComplianceReport(days: days)
    }
}
