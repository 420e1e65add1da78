import DialerCore
import EventStore
import SwitchboardBasics

/// What a compliance officer is asked for, per queue (the rule's campaign) and per day (UTC): calls
/// dialled, live answers, abandoned calls, the abandonment rate that day and over the 30 days ending
/// that day (16 CFR 310.4(b)(4): at most 3 %). Folded from the log alone.
///
/// Rules not built yet — calling hours, the do-not-call list, safe-harbor messages — have their
/// fields present and `nil`, and `notYetBuilt` names them, so a report never passes them off as zero.
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
        public var callsOutsideCallingHours: Int? = nil
        public var doNotCallPrevented: Int? = nil
        public var abandonedWithSafeHarborWithin2s: Int? = nil

        public var abandonmentRate: Double? { liveAnswers == 0 ? nil : Double(abandoned) / Double(liveAnswers) }
        public var abandonmentRate30: Double? { liveAnswers30 == 0 ? nil : Double(abandoned30) / Double(liveAnswers30) }
    }

    public static let windowDays = 30
    public static let notYetBuilt = ["callsOutsideCallingHours", "doNotCallPrevented", "abandonedWithSafeHarborWithin2s"]

    /// Every queue-day with traffic, by queue then day.
    public var days: [Day]

    /// Folds the log into the report for `queue` (or every queue) and the days `from...to` (inclusive,
    /// UTC days of the given times; the 30-day windows also count the days before `from`).
    public static func build(_ store: some EventStore, queue: QueueID? = nil, from: Timestamp? = nil,
                             to: Timestamp? = nil) async throws -> ComplianceReport {
        var queueOfGroup: [GroupID: QueueID] = [:]
        var counts: [QueueID: [Int64: (dialed: Int, live: Int, abandoned: Int)]] = [:]
        for try await recorded in store.events() {
            let event = try EventCodec.decode(recorded)
            let day = recorded.time.millisecondsSinceEpoch.floorDivided(by: 86_400_000).quotient
            func count(_ group: GroupID, _ change: (inout (dialed: Int, live: Int, abandoned: Int)) -> Void) {
                guard let queueId = queueOfGroup[group], queue == nil || queue == queueId else { return }
                change(&counts[queueId, default: [:]][day, default: (0, 0, 0)])
            }
            switch event {
            case .batchStarted(let e): queueOfGroup[e.groupId] = e.queueId
            case .callDialed(let e): count(e.groupId) { $0.dialed += 1 }
            case .callAnswered(let e) where e.answeredBy == .human: count(e.groupId) { $0.live += 1 }
            case .callTerminated(let e) where e.reason == .abandoned: count(e.groupId) { $0.abandoned += 1 }
            default: break
            }
        }
        let first = from.map { $0.millisecondsSinceEpoch.floorDivided(by: 86_400_000).quotient } ?? .min
        let last = to.map { $0.millisecondsSinceEpoch.floorDivided(by: 86_400_000).quotient } ?? .max
        var days: [Day] = []
        for (queueId, byDay) in counts.sorted(by: { $0.key < $1.key }) {
            for (day, today) in byDay.sorted(by: { $0.key < $1.key }) where day >= first && day <= last {
                var row = Day(queueId: queueId, day: Timestamp(millisecondsSinceEpoch: day * 86_400_000).rfc3339.prefix(10).description,
                              dialed: today.dialed, liveAnswers: today.live, abandoned: today.abandoned)
                for (earlier, counted) in byDay where earlier > day - Int64(windowDays) && earlier <= day {
                    row.dialed30 += counted.dialed
                    row.liveAnswers30 += counted.live
                    row.abandoned30 += counted.abandoned
                }
                days.append(row)
            }
        }
        return ComplianceReport(days: days)
    }
}
