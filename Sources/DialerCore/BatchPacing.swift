import SwitchboardBasics
import SwitchboardJSON

// The pacing of a queue's next batch — its profile, lines and stagger — decided in one place: the
// engine starts every batch with it, and the API, the console and the wall show what it answers, so
// what a queue says it will dial is what it dials.

/// Why a batch dials fewer lines than its session and profile ask for: a rule, not a choice.
public enum LineLimit: String, Sendable, CaseIterable, JSONConvertible {
    /// A VIP (conservative) batch never uses more than that profile's lines.
    case vip
    /// The queue's 30-day abandonment reached its warning: at most two lines.
    case abandonmentWarning = "abandonment-warning"
    /// It reached the cap: one line at a time until it is back under the warning.
    case abandonmentCapped = "abandonment-capped"
    /// Neither the queue nor the organisation has a safe-harbor message: one line at a time, so nobody
    /// is abandoned without the message the rule requires.
    case noSafeHarborMessage = "no-safe-harbor-message"

    /// The most lines the limit allows.
    public var maxLines: Int {
        switch self {
        case .vip: StrategyProfile.conservative.fanout
        case .abandonmentWarning: AbandonmentGuardLevel.warning.maxLines ?? 2
        case .abandonmentCapped, .noSafeHarborMessage: 1
        }
    }

    /// The limit in words, for the guard's `why` and the pages.
    public var why: String {
        switch self {
        case .vip: "VIP contacts: at most \(maxLines) lines"
        case .abandonmentWarning: "30-day abandonment at or above the warning: at most \(maxLines) lines, never aggressive"
        case .abandonmentCapped: "30-day abandonment reached the cap: one line at a time until under the warning"
        case .noSafeHarborMessage:
            "no safe-harbor message (the queue's or the organisation's): one line at a time, so nobody is abandoned without it"
        }
    }
}

/// What a queue's next batch dials.
public struct BatchPacing: Hashable, Sendable {
    public var profile: StrategyProfile
    public var reason: ProfileReason
    /// The lines the batch may dial (it dials fewer when fewer contacts are dialable).
    public var lines: Int
    public var staggerMs: Int64
    /// The rule that holds `lines` below what the session and profile ask for (`nil`: none does).
    public var limitedBy: LineLimit?
}

extension Queue {
    /// The guard's level a batch starting at `now` would see: the recorded one, unless the 30-day window
    /// has rolled or connects have brought the rate down since (the batch then records the change).
    public func guardLevel(at now: Timestamp) -> AbandonmentGuardLevel { guardChange(at: now)?.level ?? guardLevel }

    /// The compliance limit on this queue's lines at `guardLevel`, before any session asks: the 3 % guard,
    /// or one line while no safe-harbor message is in force. The stricter wins; the guard on a tie.
    public func complianceLineLimit(at guardLevel: AbandonmentGuardLevel) -> LineLimit? {
        switch guardLevel {
        case .capped: .abandonmentCapped
        case _ where safeHarborMessageInForce == nil: .noSafeHarborMessage
        case .warning: .abandonmentWarning
        case .normal: nil
        }
    }

    /// The pacing of the next batch a session with `choice`, `mode` and `settings` starts on this queue
    /// while its guard is at `guardLevel`; `batchIsVIP` when the batch dials VIP contacts of an ordinary queue.
    public func nextBatchPacing(choice: ProfileChoice, mode: CallingMode, settings: SessionSettings,
                                batchIsVIP: Bool = false, guardLevel: AbandonmentGuardLevel) -> BatchPacing {
        var (profile, reason) = StrategyProfileRegistry.select(for: ProfileContext(
            choice: choice, queueName: name, queueSegment: segment, batchIsVIP: batchIsVIP,
            dialedCalls: fairDials, humanAnswers: humanAnswers))
        if guardLevel >= .warning, profile.name == .aggressive { (profile, reason) = (.balanced, .abandonmentGuard) }
        let staggerMs = settings.staggerMs ?? profile.staggerMs
        guard mode == .parallel else {
            return BatchPacing(profile: profile, reason: reason, lines: 1, staggerMs: staggerMs, limitedBy: nil)
        }
        var lines = settings.maxLines ?? profile.fanout
        var limitedBy: LineLimit?
        let limits = [complianceLineLimit(at: guardLevel), profile.name == .conservative ? .vip : nil].compactMap { $0 }
        for limit in limits where limit.maxLines < lines {
            lines = limit.maxLines
            limitedBy = limit
        }
        return BatchPacing(profile: profile, reason: reason, lines: lines, staggerMs: staggerMs, limitedBy: limitedBy)
    }
}
