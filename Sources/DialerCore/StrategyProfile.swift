import SwitchboardJSON

/// Which answering-machine-detection results may be connected to the agent.
public enum AMDPolicy: String, Sendable, CaseIterable, JSONConvertible {
    /// Only answers classified as a person are connected.
    case humanOnly = "human-only"
    /// Unclassified answers are connected too: less dead air, a few more machines reach the agent.
    case humanOrUnknown = "human-or-unknown"

    public func accepts(_ answeredBy: AnsweredBy) -> Bool {
        switch (self, answeredBy) {
        case (_, .human): true
        case (.humanOrUnknown, .unknown): true
        default: false
        }
    }
}

/// Who (or what) picked up, as the carrier's answering-machine detection classified it.
public enum AnsweredBy: String, Sendable, CaseIterable, JSONConvertible {
    case human, machine, unknown
}

/// A named bundle of fanout, stagger and AMD policy.
public struct StrategyProfile: Hashable, Sendable {
    public enum Name: String, Sendable, CaseIterable, JSONConvertible {
        case balanced, conservative, aggressive
    }

    public var name: Name
    public var fanout: Int
    public var staggerMs: Int64
    public var amdPolicy: AMDPolicy

    public static let balanced = StrategyProfile(name: .balanced, fanout: 3, staggerMs: 500, amdPolicy: .humanOrUnknown)
    public static let conservative = StrategyProfile(name: .conservative, fanout: 2, staggerMs: 800, amdPolicy: .humanOnly)
    public static let aggressive = StrategyProfile(name: .aggressive, fanout: 5, staggerMs: 300, amdPolicy: .humanOrUnknown)

    public static func named(_ name: Name) -> StrategyProfile {
        switch name {
        case .balanced: .balanced
        case .conservative: .conservative
        case .aggressive: .aggressive
        }
    }
}

/// What a session asked for: a fixed profile, or automatic selection by context.
public enum ProfileChoice: Hashable, Sendable, JSONConvertible {
    case auto
    case fixed(StrategyProfile.Name)

    public init(json: JSONValue) throws(JSONError) {
        let text = try String(json: json)
        if text == "auto" {
            self = .auto
        } else if let name = StrategyProfile.Name(rawValue: text) {
            self = .fixed(name)
        } else {
            throw JSONError("unknown profile \"\(text)\" (auto, balanced, conservative or aggressive)")
        }
    }

    public var json: JSONValue {
        switch self {
        case .auto: "auto"
        case .fixed(let name): .string(name.rawValue)
        }
    }
}

/// Why a profile was chosen; recorded in `profile.selected` so an auditor can follow the decision.
public enum ProfileReason: String, Sendable, CaseIterable, JSONConvertible {
    case explicit
    case vipSegment = "vip-segment"
    case vipQueueName = "vip-queue-name"
    case lowAnswerRate = "low-answer-rate"
    case `default`
    /// The queue's abandonment rate reached its warning: `aggressive` (whichever chose it) gave way to `balanced`.
    case abandonmentGuard = "abandonment-guard"
}

/// What the registry looks at to pick a profile.
public struct ProfileContext: Hashable, Sendable {
    public var choice: ProfileChoice
    public var queueName: String
    public var queueSegment: String?
    /// The segment of the contacts the batch will dial, when they share a VIP segment.
    public var batchIsVIP: Bool
    public var dialedCalls: Int
    public var humanAnswers: Int

    public init(choice: ProfileChoice, queueName: String, queueSegment: String?, batchIsVIP: Bool = false,
                dialedCalls: Int, humanAnswers: Int) {
        self.choice = choice
        self.queueName = queueName
        self.queueSegment = queueSegment
        self.batchIsVIP = batchIsVIP
        self.dialedCalls = dialedCalls
        self.humanAnswers = humanAnswers
    }
}

/// Picks fanout, stagger and AMD policy by context.
public enum StrategyProfileRegistry {
    /// Below this answer rate a queue is worked aggressively…
    public static let lowAnswerRateThreshold = (numerator: 12, denominator: 100)
    /// …but only once it has this many dialled calls, so a new queue is not judged on noise.
    public static let minimumDialedForAnswerRate = 25

    public static func isVIP(_ text: String?) -> Bool {
        guard let text else { return false }
        return text.lowercased().contains("vip")
    }

    public static func select(for context: ProfileContext) -> (profile: StrategyProfile, reason: ProfileReason) {
        if case .fixed(let name) = context.choice { return (.named(name), .explicit) }
        if isVIP(context.queueSegment) || context.batchIsVIP { return (.conservative, .vipSegment) }
        if isVIP(context.queueName) { return (.conservative, .vipQueueName) }
        if context.dialedCalls >= minimumDialedForAnswerRate,
            context.humanAnswers * lowAnswerRateThreshold.denominator
                < context.dialedCalls * lowAnswerRateThreshold.numerator
        {
            return (.aggressive, .lowAnswerRate)
        }
        return (.balanced, .default)
    }
}
