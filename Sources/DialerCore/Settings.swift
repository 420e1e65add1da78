import SwitchboardJSON

/// How an agent's calls are placed: one contact at a time, or a batch in parallel.
public enum CallingMode: String, Sendable, CaseIterable, JSONConvertible {
    case single
    case parallel
}

/// A session's dialling settings. `maxLines` and `staggerMs` are optional overrides of the strategy
/// profile's fanout and stagger; `nil` means "use the profile's value".
public struct SessionSettings: Hashable, Sendable {
    public static let maxLinesRange = 2...5
    public static let staggerRange: ClosedRange<Int64> = 0...10_000
    public static let cooldownRange: ClosedRange<Int64> = 0...600_000
    /// Never below 15 s: the US Telemarketing Sales Rule wants at least 15 s (or 4 rings) of ringing.
    public static let ringTimeoutRange: ClosedRange<Int64> = 15_000...120_000

    public static let defaultCooldownMs: Int64 = 2000
    public static let defaultRingTimeoutMs: Int64 = 30_000
    /// 15 s after each conversation to record it (a disposition starts the next batch at once): long
    /// enough for a key and a line of notes, short enough that an agent who skips it loses little.
    /// With 0 the next batch dialled in the same millisecond the call ended and no disposition was
    /// ever asked for (issue 21).
    public static let defaultWrapUpMs: Int64 = 15_000

    public var maxLines: Int?
    public var staggerMs: Int64?
    public var cooldownMs: Int64
    public var ringTimeoutMs: Int64
    /// After a conversation, how long the agent has to record what happened before the next batch
    /// (0: the next batch at once).
    public var wrapUpMs: Int64
    /// After a conversation, the next batch waits for the agent's disposition (whatever `wrapUpMs` says).
    public var requireDisposition: Bool

    public static let wrapUpRange: ClosedRange<Int64> = 0...600_000

    public init(maxLines: Int? = nil, staggerMs: Int64? = nil,
                cooldownMs: Int64 = SessionSettings.defaultCooldownMs,
                ringTimeoutMs: Int64 = SessionSettings.defaultRingTimeoutMs,
                wrapUpMs: Int64 = SessionSettings.defaultWrapUpMs, requireDisposition: Bool = false) {
        self.maxLines = maxLines
        self.staggerMs = staggerMs
        self.cooldownMs = cooldownMs
        self.ringTimeoutMs = ringTimeoutMs
        self.wrapUpMs = wrapUpMs
        self.requireDisposition = requireDisposition
    }

    /// Whether a conversation is followed by a wrap-up.
    public var hasWrapUp: Bool { wrapUpMs > 0 || requireDisposition }

    public static let `default` = SessionSettings()

    /// Every rule the settings break, so a client can fix them all at once.
    public var violations: [SettingsViolation] {
        var found: [SettingsViolation] = []
        if let maxLines, !Self.maxLinesRange.contains(maxLines) {
            found.append(.init(field: "maxLines", message: "must be between 2 and 5, got \(maxLines)"))
        }
        if let staggerMs, !Self.staggerRange.contains(staggerMs) {
            found.append(.init(field: "staggerMs", message: "must be between 0 and 10000, got \(staggerMs)"))
        }
        if !Self.cooldownRange.contains(cooldownMs) {
            found.append(.init(field: "cooldownMs", message: "must be between 0 and 600000, got \(cooldownMs)"))
        }
        if !Self.ringTimeoutRange.contains(ringTimeoutMs) {
            found.append(.init(field: "ringTimeoutMs", message: "must be between 15000 and 120000, got \(ringTimeoutMs)"))
        }
        if !Self.wrapUpRange.contains(wrapUpMs) {
            found.append(.init(field: "wrapUpMs", message: "must be between 0 and 600000, got \(wrapUpMs)"))
        }
        return found
    }

    /// These settings with the fields present in `patch` replaced.
    public func applying(_ patch: SettingsPatch) -> SessionSettings {
        var result = self
        if let maxLines = patch.maxLines { result.maxLines = maxLines }
        if let staggerMs = patch.staggerMs { result.staggerMs = staggerMs }
        if let cooldownMs = patch.cooldownMs { result.cooldownMs = cooldownMs }
        if let ringTimeoutMs = patch.ringTimeoutMs { result.ringTimeoutMs = ringTimeoutMs }
        if let wrapUpMs = patch.wrapUpMs { result.wrapUpMs = wrapUpMs }
        if let requireDisposition = patch.requireDisposition { result.requireDisposition = requireDisposition }
        return result
    }
}

/// A partial settings change, as sent by a client (`PATCH /v1/sessions/{id}`).
public struct SettingsPatch: Hashable, Sendable {
    public var maxLines: Int?
    public var staggerMs: Int64?
    public var cooldownMs: Int64?
    public var ringTimeoutMs: Int64?
    public var wrapUpMs: Int64?
    public var requireDisposition: Bool?

    public init(maxLines: Int? = nil, staggerMs: Int64? = nil, cooldownMs: Int64? = nil, ringTimeoutMs: Int64? = nil,
                wrapUpMs: Int64? = nil, requireDisposition: Bool? = nil) {
        self.maxLines = maxLines
        self.staggerMs = staggerMs
        self.cooldownMs = cooldownMs
        self.ringTimeoutMs = ringTimeoutMs
        self.wrapUpMs = wrapUpMs
        self.requireDisposition = requireDisposition
    }
}

/// One broken settings rule, named by its field.
public struct SettingsViolation: Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field) \(message)" }
}

extension SessionSettings: JSONShaped {
    /// As stored in `session.started` / `session.settings-changed`: unset limits are `null` (the profile's).
    public static let shape = JSONShape(
        SessionSettings.init(maxLines:staggerMs:cooldownMs:ringTimeoutMs:wrapUpMs:requireDisposition:),
        JSONField("maxLines", \SessionSettings.maxLines),
        JSONField("staggerMs", \SessionSettings.staggerMs),
        JSONField("cooldownMs", \SessionSettings.cooldownMs),
        JSONField("ringTimeoutMs", \SessionSettings.ringTimeoutMs),
        // Added with wrap-up: absent in older logs.
        JSONField("wrapUpMs", \SessionSettings.wrapUpMs, absent: 0),
        JSONField("requireDisposition", \SessionSettings.requireDisposition, absent: false)
    )
}

extension SettingsPatch: JSONShaped {
    /// A change of some settings: only the keys given, and no others.
    public static let shape = JSONShape(
        SettingsPatch.init(maxLines:staggerMs:cooldownMs:ringTimeoutMs:wrapUpMs:requireDisposition:),
        JSONField<SettingsPatch, Int?>.omittedWhenAbsent("maxLines", \SettingsPatch.maxLines),
        JSONField<SettingsPatch, Int64?>.omittedWhenAbsent("staggerMs", \SettingsPatch.staggerMs),
        JSONField<SettingsPatch, Int64?>.omittedWhenAbsent("cooldownMs", \SettingsPatch.cooldownMs),
        JSONField<SettingsPatch, Int64?>.omittedWhenAbsent("ringTimeoutMs", \SettingsPatch.ringTimeoutMs),
        JSONField<SettingsPatch, Int64?>.omittedWhenAbsent("wrapUpMs", \SettingsPatch.wrapUpMs),
        JSONField<SettingsPatch, Bool?>.omittedWhenAbsent("requireDisposition", \SettingsPatch.requireDisposition)
    )

    public init(json: JSONValue) throws(JSONError) {
        let object = try JSONObject(json: json)
        try object.rejectUnknownKeys(Set(Self.shape.keys))
        self = try Self.shape.decode(object)
    }
}
