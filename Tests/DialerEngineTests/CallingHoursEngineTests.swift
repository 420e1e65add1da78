import DialerCore
import DialerEngine
import EventStore
import SwitchboardBasics
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

/// The engine on virtual time across a day: each contact is dialled only inside 08:00–21:00 of its own
/// zone, the engine wakes when the next window opens, and a retry that falls due at night waits for
/// the morning.
@Suite("Calling hours on the engine's clock", .timeLimit(.minutes(1)))
struct CallingHoursEngineTests {
    typealias H = EngineHarness

    /// Winter offsets of the zones used here (January: no daylight saving), independent of the code under test.
    static let offsetHours = ["212": -5, "512": -6, "310": -8, "808": -10]

    @Test func aQueueOfFourZonesStartingAt1230UTCDialsEachOnlyInsideItsOwnHours() async throws {
        let startAt: Int64 = -9_000_000  // 12:30Z, two and a half hours before the harness's 15:00Z
        let h = try await H(startAt: startAt)
        defer { h.cleanUp() }
        h.at(startAt, .createQueue(queueId: "q", name: "Four zones", segment: nil, maxAttempts: 3, contacts: [
            H.contact("ny", "+12125551001", ringMs: 1000, answer: "machine"),
            H.contact("chi", "+15125551002", ringMs: 1000, answer: "machine"),
            H.contact("chi-retry", "+15125551005", ringMs: 1000, fail: "congestion"),
            H.contact("la", "+13105551003", ringMs: 1000, answer: "machine"),
            H.contact("hnl", "+18085551004", ringMs: 1000, answer: "machine"),
        ], retryDelayMs: 7 * 3_600_000))
        h.at(startAt, .startSession(sessionId: "s", agentId: "agent-1", queueId: "q", mode: .parallel, profile: .auto,
                                    settings: .default, callerIds: H.callerIds))
        try await h.run(until: 86_400_000)

        var dials: [(contact: String, time: Timestamp, area: String)] = []
        for try await event in h.store.events() where event.type == "call.dialed" {
            let data = try JSONParser.parse(event.data)
            let to = data["to"]?.stringValue ?? ""
            dials.append((data["contactId"]?.stringValue ?? "", event.time, String(to.dropFirst(2).prefix(3))))
        }
        // Every call inside 08:00–21:00 local.
        for dial in dials {
            let offset = Int64(try #require(Self.offsetHours[dial.area])) * 3_600_000
            let localMinute = ((dial.time.millisecondsSinceEpoch + offset) % 86_400_000 + 86_400_000) % 86_400_000 / 60_000
            #expect((8 * 60..<21 * 60).contains(localMinute), "\(dial.contact) dialled at \(dial.time.rfc3339)")
        }
        // Each one as soon as its window opened (the engine wakes then), not before.
        func first(_ contact: String) -> Timestamp? { dials.first { $0.contact == contact }?.time }
        for (contact, opening) in [("ny", "2026-01-05T13:00:00Z"), ("chi", "2026-01-05T14:00:00Z"),
                                   ("la", "2026-01-05T16:00:00Z"), ("hnl", "2026-01-05T18:00:00Z")] {
            let dialled = try #require(first(contact), "\(contact) was never dialled")
            let open = Timestamp(rfc3339: opening)!
            #expect(dialled >= open && dialled.milliseconds(since: open) < 10_000, "\(contact) at \(dialled.rfc3339)")
        }
        // Its second retry falls due at 04:00Z (22:00 in Chicago): it waits for 08:00 the next morning.
        let retries = dials.filter { $0.contact == "chi-retry" }.map(\.time)
        #expect(retries.count == 3)
        if retries.count == 3 {
            let morning = Timestamp(rfc3339: "2026-01-06T14:00:00Z")!
            #expect(retries[2] >= morning && retries[2].milliseconds(since: morning) < 10_000, "\(retries[2].rfc3339)")
        }
    }
}
