import Foundation  // TimeZone only: the system's tz database (Debian tzdata) — daylight saving by the rules, not fixed offsets
import SwitchboardBasics
import SwitchboardJSON
import Synchronization

/// A daily window of local time, `[start, end)` in minutes after midnight. The law's is 08:00–21:00 at
/// the called person's location (47 CFR 64.1200); a queue may narrow it, never widen it.
public struct CallingWindow: Hashable, Sendable, CustomStringConvertible {
    public var start: Int
    public var end: Int

    public static let legal = CallingWindow(start: 8 * 60, end: 21 * 60)

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// `"09:00"`–`"20:00"`: a window inside the legal one, or nil.
    public init?(start: String, end: String) {
        guard let from = Self.minutes(start), let to = Self.minutes(end), from < to,
            from >= Self.legal.start, to <= Self.legal.end else { return nil }
        self.init(start: from, end: to)
    }

    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 24 * 60 else { return nil }
        return h * 60 + m
    }

    static func text(_ minutes: Int) -> String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }

    public var description: String { Self.text(start) + "–" + Self.text(end) }

    public func contains(minuteOfDay minute: Int) -> Bool { minute >= start && minute < end }
}

extension CallingWindow: JSONConvertible {
    public init(json: JSONValue) throws(JSONError) {
        let object = try JSONObject(json: json)
        try object.rejectUnknownKeys(["start", "end"])
        let start: String = try object.decode("start"), end: String = try object.decode("end")
        guard let window = CallingWindow(start: start, end: end) else {
            throw JSONError("callingHours must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} inside 08:00–21:00, start before end")
        }
        self = window
    }

    public var json: JSONValue { ["start": .string(Self.text(start)), "end": .string(Self.text(end))] }
}

/// When a contact may be called: inside the window in every time zone its number may ring in.
public enum CallingHours {
    /// Zones for NANP numbers whose area code the table does not know: all of the US's, the strictest reading.
    static let unknownNANP = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
                              "America/Anchorage", "Pacific/Honolulu"]

    /// Every zone the contact's phone may ring in: its area code's (several when the code spans zones;
    /// none outside the NANP, where these US hours do not apply). An explicit zone narrows them when it
    /// is one of them (a 907 number known to be in Anchorage, not Adak) and is added to them when it is
    /// not — a 212 number said to be in Tokyo may still ring in New York, so both must be open.
    public static func zones(of contact: Contact) -> [String] { zones(of: contact.phone, explicit: contact.timeZone) }

    public static func zones(of phone: PhoneNumber, explicit zone: String?) -> [String] {
        let byNumber = phone.nanpAreaCode.map { NANPTimeZones.byAreaCode[$0] ?? unknownNANP } ?? []
        guard let zone else { return byNumber }
        return byNumber.contains(zone) ? [zone] : byNumber + [zone]
    }

    /// Whether `name` is a place's zone in the tz database (`Area/Location`, or `UTC`): the legacy
    /// abbreviations and fixed offsets the system also resolves (`EST`, `CET`, `GMT+14`, `Etc/GMT-5`),
    /// and `Factory` (its "unknown" placeholder), name no place whose calling hours could be known.
    public static func isKnownZone(_ name: String) -> Bool {
        guard name == "UTC" || name.contains("/") else { return false }
        for prefix in ["Etc/", "SystemV/", "posix/", "right/"] where name.hasPrefix(prefix) { return name == "Etc/UTC" }
        return zone(name) != nil
    }

    /// The whole hours (0 first, then the nearest, up to ±12) by which a clock reading `now` must be
    /// shifted to be inside `window` in every one of `zones` — how the demo and the tests, on the
    /// simulated carrier, find the US in its calling hours whenever they run. Nil when no shift does.
    public static func shiftHours(into zones: [String], _ window: CallingWindow, at now: Timestamp) -> Int? {
        ([0] + (1...12).flatMap { [$0, -$0] }).first { allows(zones, window, at: now.adding(milliseconds: Int64($0) * 3_600_000)) }
    }

    /// Every zone of the 50 states' area codes (those of a number whose area code is unknown).
    public static var unitedStates: [String] { unknownNANP }

    private static let cache = Mutex<[String: TimeZone]>([:])

    private static func zone(_ name: String) -> TimeZone? {
        if let hit = cache.withLock({ $0[name] }) { return hit }
        guard let made = TimeZone(identifier: name) else { return nil }
        cache.withLock { $0[name] = made }
        return made
    }

    /// Minutes after local midnight in `zone` at `time`.
    static func minuteOfDay(_ time: Timestamp, in name: String) -> Int? {
        guard let zone = zone(name) else { return nil }
        let seconds = time.millisecondsSinceEpoch / 1000
        let local = seconds + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
        return Int((local % 86_400 + 86_400) % 86_400 / 60)
    }

    /// Whether `time` is inside `window` in every zone (an unknown zone name never allows).
    ///
    /// `wallClockBehindMs`: after the system clock stepped back, event times run on ahead of it (they
    /// never go back) — judged on the event time alone, the morning edge would open early by the
    /// step. While it is behind, the time must be inside the window on the wall clock's reading too.
    public static func allows(_ zones: [String], _ window: CallingWindow, at time: Timestamp, wallClockBehindMs: Int64 = 0) -> Bool {
        func inside(_ time: Timestamp) -> Bool {
            zones.allSatisfy { name in minuteOfDay(time, in: name).map(window.contains(minuteOfDay:)) ?? false }
        }
        return inside(time) && (wallClockBehindMs <= 0 || inside(time.adding(milliseconds: -wallClockBehindMs)))
    }

    /// The first time at or after `now` that `allows` holds, looking a week ahead. Zones are whole
    /// minutes off UTC (Kathmandu +05:45, Chatham +12:45) and a queue's window may open at any minute
    /// (09:07): the answer changes only at whole minutes. Found in quarter hours, then to the minute
    /// within the quarter that opened (an opening shorter than a quarter hour may be found late,
    /// never early).
    public static func nextOpening(_ zones: [String], _ window: CallingWindow, after now: Timestamp,
                                   wallClockBehindMs behind: Int64 = 0) -> Timestamp? {
        func allows(_ zones: [String], _ window: CallingWindow, at time: Timestamp) -> Bool {
            CallingHours.allows(zones, window, at: time, wallClockBehindMs: behind)
        }
        if allows(zones, window, at: now) { return now }
        let minute: Int64 = 60_000, quarter = 15 * minute
        var previous = now
        var time = Timestamp(millisecondsSinceEpoch: (now.millisecondsSinceEpoch / quarter + 1) * quarter)
        for _ in 0..<(7 * 96) {
            if allows(zones, window, at: time) {
                var candidate = Timestamp(millisecondsSinceEpoch: (previous.millisecondsSinceEpoch / minute + 1) * minute)
                while candidate < time, !allows(zones, window, at: candidate) { candidate = candidate.adding(milliseconds: minute) }
                return candidate
            }
            previous = time
            time = time.adding(milliseconds: quarter)
        }
        return nil
    }
}

extension Queue {
    /// When the first contact that waits only for its calling hours may be called (nil: none waits for them).
    public func nextCallingHours(after now: Timestamp, wallClockBehindMs: Int64 = 0) -> Timestamp? {
        var earliest: Timestamp?
        var seen: [[String]: Timestamp?] = [:]  // one answer per set of zones
        for contact in contacts.values where contact.isDialable(maxAttempts: maxAttempts, at: now) {
            let zones = CallingHours.zones(of: contact)
            let opening = seen[zones] ?? CallingHours.nextOpening(zones, callingWindow, after: now, wallClockBehindMs: wallClockBehindMs)
            seen[zones] = opening
            if let opening, opening > now, earliest.map({ opening < $0 }) ?? true { earliest = opening }
        }
        return earliest
    }

    /// Contacts that could be dialled now, split by whether their calling hours are open: one pass,
    /// each set of zones looked up once (queue reads ask for this on every overview).
    public func callingHoursCounts(at now: Timestamp, wallClockBehindMs: Int64 = 0) -> (open: Int, waiting: Int) {
        var open = 0, waiting = 0
        var seen: [[String]: Bool] = [:]
        for contact in contacts.values where contact.isDialable(maxAttempts: maxAttempts, at: now) {
            let zones = CallingHours.zones(of: contact)
            let allowed = seen[zones] ?? CallingHours.allows(zones, callingWindow, at: now, wallClockBehindMs: wallClockBehindMs)
            seen[zones] = allowed
            if allowed { open += 1 } else { waiting += 1 }
        }
        return (open, waiting)
    }
}

/// Everyone left to dial in a queue waits for their calling hours: the queue waits until `until`, the
/// earliest opening (recorded once per wait, by the first session to find it so).
public struct QueueWaitingForHours: Hashable, Sendable {
    public var queueId: QueueID
    public var sessionId: SessionID
    public var until: Timestamp
    /// Contacts skipped for their hours (dialable but for them).
    public var contacts: Int
    public init(queueId: QueueID, sessionId: SessionID, until: Timestamp, contacts: Int) {
        self.queueId = queueId; self.sessionId = sessionId; self.until = until; self.contacts = contacts
    }
}

extension QueueWaitingForHours: DialerEventPayload {
    public static let type = EventType("queue.waiting-for-hours")
    public var subject: EventSubject { .queue(queueId, session: sessionId) }
    public var summary: String { "queue waits until \(until): \(contacts) contacts outside their calling hours" }
}

extension QueueWaitingForHours: JSONShaped {
    public static let shape = JSONShape(
        QueueWaitingForHours.init(queueId:sessionId:until:contacts:),
        JSONField("queueId", \QueueWaitingForHours.queueId),
        JSONField("sessionId", \QueueWaitingForHours.sessionId),
        JSONField("until", \QueueWaitingForHours.until),
        JSONField("contacts", \QueueWaitingForHours.contacts)
    )
}
