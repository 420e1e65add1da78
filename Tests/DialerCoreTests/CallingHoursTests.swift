import DialerCore
import SwitchboardBasics
import SwitchboardTestSupport
import Testing

/// 08:00–21:00 where the called person is (47 CFR 64.1200), from the tz database's rules.
@Suite("Calling hours")
struct CallingHoursTests {
    func time(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    @Test func eachZoneOpensAtEightAndClosesAtNineLocal() {
        let start = time("2026-01-05T12:30:00Z")  // winter: EST −5, CST −6, PST −8, HST −10
        #expect(CallingHours.nextOpening(["America/New_York"], .legal, after: start) == time("2026-01-05T13:00:00Z"))
        #expect(CallingHours.nextOpening(["America/Chicago"], .legal, after: start) == time("2026-01-05T14:00:00Z"))
        #expect(CallingHours.nextOpening(["America/Los_Angeles"], .legal, after: start) == time("2026-01-05T16:00:00Z"))
        #expect(CallingHours.nextOpening(["Pacific/Honolulu"], .legal, after: start) == time("2026-01-05T18:00:00Z"))
        #expect(CallingHours.allows(["America/New_York"], .legal, at: time("2026-01-06T01:59:00Z")))
        #expect(!CallingHours.allows(["America/New_York"], .legal, at: time("2026-01-06T02:00:00Z")), "21:00 in New York")
    }

    @Test func daylightSavingMovesTheWindowByTheZonesRules() {
        // The US springs forward on 8 March 2026: 08:00 in New York is 13:00Z the day before, 12:00Z that day.
        #expect(CallingHours.nextOpening(["America/New_York"], .legal, after: time("2026-03-07T05:00:00Z"))
                == time("2026-03-07T13:00:00Z"))
        #expect(CallingHours.nextOpening(["America/New_York"], .legal, after: time("2026-03-08T05:00:00Z"))
                == time("2026-03-08T12:00:00Z"))
        // Arizona keeps standard time all year.
        #expect(CallingHours.nextOpening(["America/Phoenix"], .legal, after: time("2026-03-08T05:00:00Z"))
                == time("2026-03-08T15:00:00Z"))
    }

    @Test func anAreaCodeThatSpansZonesMustBeInsideTheWindowInEachOfThem() throws {
        let alaska = Contact(NewContact(contactId: "a", phone: try #require(PhoneNumber("+19075551234"))))
        let zones = CallingHours.zones(of: alaska)
        #expect(zones == ["America/Adak", "America/Anchorage"])
        // Adak (−10) reaches 08:00 an hour after Anchorage (−9); Anchorage reaches 21:00 an hour before Adak.
        #expect(!CallingHours.allows(zones, .legal, at: time("2026-01-05T17:30:00Z")))
        #expect(CallingHours.allows(zones, .legal, at: time("2026-01-05T18:00:00Z")))
        #expect(CallingHours.allows(zones, .legal, at: time("2026-01-06T05:30:00Z")))
        #expect(!CallingHours.allows(zones, .legal, at: time("2026-01-06T06:00:00Z")))
        // A toll-free number may ring anywhere from Guam to Newfoundland: only the short stretch when it is
        // past 08:00 in Guam and before 21:00 in St. John's is inside everyone's window.
        let tollFree = CallingHours.zones(of: Contact(NewContact(contactId: "t", phone: try #require(PhoneNumber("+18005551234")))))
        #expect(tollFree.count > 20)
        #expect(CallingHours.nextOpening(tollFree, .legal, after: time("2026-01-05T12:00:00Z")) == time("2026-01-05T22:00:00Z"))
        #expect(CallingHours.allows(tollFree, .legal, at: time("2026-01-05T23:30:00Z")))
        #expect(!CallingHours.allows(tollFree, .legal, at: time("2026-01-06T00:30:00Z")), "21:00 in St. John's")
    }

    @Test func anExplicitZoneNarrowsTheAreaCodesZonesAndNeverReplacesThem() throws {
        var contact = Contact(NewContact(contactId: "c", phone: try #require(PhoneNumber("+12125551234"))))
        #expect(CallingHours.zones(of: contact) == ["America/New_York"])
        // The probe's case (D16): a 212 number said to be in Tokyo was dialled at 05:00 New York time.
        contact.timeZone = "Asia/Tokyo"
        #expect(CallingHours.zones(of: contact) == ["America/New_York", "Asia/Tokyo"])
        #expect(!CallingHours.allows(CallingHours.zones(of: contact), .legal, at: time("2026-12-03T10:00:00Z")),
                "19:00 in Tokyo is 05:00 in New York")
        var alaska = Contact(NewContact(contactId: "a", phone: try #require(PhoneNumber("+19075551234"))))
        alaska.timeZone = "America/Anchorage"
        #expect(CallingHours.zones(of: alaska) == ["America/Anchorage"], "one of the code's zones narrows them")
        var abroad = Contact(NewContact(contactId: "b", phone: try #require(PhoneNumber("+493012345678"))))
        #expect(CallingHours.zones(of: abroad) == [])
        abroad.timeZone = "Europe/Berlin"
        #expect(CallingHours.zones(of: abroad) == ["Europe/Berlin"])
    }

    @Test func aQueueMayNarrowTheWindowButNeverWidenIt() throws {
        #expect(CallingWindow(start: "09:00", end: "20:00") == CallingWindow(start: 540, end: 1200))
        #expect(CallingWindow(start: "07:30", end: "20:00") == nil)
        #expect(CallingWindow(start: "09:00", end: "21:30") == nil)
        #expect(CallingWindow(start: "12:00", end: "11:00") == nil)
        #expect(CallingWindow(start: "9:00", end: "20:00") == nil)
    }

    @Test func aContactOutsideItsHoursIsSkippedNotFailedAndTheQueueWaits() throws {
        // 12:30Z: New York is open at 13:00Z, Los Angeles at 16:00Z.
        var given = Given([], at: time("2026-01-05T13:30:00Z"))
        try given.when(.createQueue(queueId: "q", name: "Coast to coast", segment: nil, maxAttempts: 3, contacts: [
            NewContact(contactId: "la", phone: try #require(PhoneNumber("+13105551234"))),
            NewContact(contactId: "ny", phone: try #require(PhoneNumber("+12125551234"))),
        ]))
        try given.when(.startSession(sessionId: "s", agentId: "a", queueId: "q", mode: .parallel, profile: .auto,
                                     settings: .default, callerIds: Fixture.callerIds))
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(given.state.batches["g1"]?.calls.map(\.contactId) == ["ny"])
        try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .machine))
        // Changed (issue 12): the wait is recorded (once; the skip shows in the log), then refused until it opens.
        #expect(try given.when(.startBatch(sessionId: "s", batchId: "g2")) == [.queueWaitingForHours(.init(
            queueId: "q", sessionId: "s", until: time("2026-01-05T16:00:00Z"), contacts: 1))])
        #expect(given.refusal(.startBatch(sessionId: "s", batchId: "g2")) == .waitingForCallingHours("q", until: time("2026-01-05T16:00:00Z")))
        #expect(given.state.queues["q"]?.contacts["la"]?.outcome == .pending && given.state.queues["q"]?.contacts["la"]?.attempts == 0)
        // Narrower hours: the same queue with 09:00–20:00 waits until 17:00Z for Los Angeles.
        var narrow = Given([], at: time("2026-01-05T13:30:00Z"))
        try narrow.when(.createQueue(queueId: "q", name: "Narrow", segment: nil, maxAttempts: 3,
                                     contacts: [NewContact(contactId: "la", phone: try #require(PhoneNumber("+13105551234")))],
                                     callingHours: CallingWindow(start: "09:00", end: "20:00")))
        try narrow.when(.startSession(sessionId: "s", agentId: "a", queueId: "q", mode: .parallel, profile: .auto,
                                      settings: .default, callerIds: Fixture.callerIds))
        let waits = try narrow.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(waits.first.flatMap { if case .queueWaitingForHours(let e) = $0 { e.until } else { nil } } == time("2026-01-05T17:00:00Z"))
    }

    /// Five New York contacts, five lines 800 ms apart (issue 20, D2: a batch formed at 20:59:59 dialled
    /// three of its lines after 21:00).
    func eveningQueue(at time: Timestamp) throws -> Given {
        var given = Given([], at: time)
        try given.when(.createQueue(queueId: "q", name: "Evening", segment: nil, maxAttempts: 3, contacts: try (1...5).map {
            NewContact(contactId: ContactID("ny\($0)"), phone: try #require(PhoneNumber("+1212555100\($0)")))
        }, compliance: Fixture.compliance))
        try given.when(.startSession(sessionId: "s", agentId: "a", queueId: "q", mode: .parallel, profile: .auto,
                                     settings: SessionSettings(maxLines: 5, staggerMs: 800, wrapUpMs: 0), callerIds: Fixture.callerIds))
        return given
    }

    @Test func aBatchFormsOnlyTheLinesItsStaggerPlacesInsideTheWindow() throws {
        // 20:59:50 in New York (winter, −5): the fifth line, 3.2 s on, is still inside.
        var early = try eveningQueue(at: time("2026-01-06T01:59:50Z"))
        try early.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(early.state.batches["g1"]?.calls.count == 5)
        // 20:59:59: the second line would be placed at 20:59:59.8 but the fifth at 21:00:02.2 — one line, now.
        var late = try eveningQueue(at: time("2026-01-06T01:59:59Z"))
        try late.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(late.state.batches["g1"]?.calls.map(\.offsetMs) == [0])
    }

    @Test func aLineWhoseStaggerComesAfterNineIsNeverPlaced() throws {
        // Formed inside the window; its fifth line is due at 20:59:58.2 but the engine gets to it at 21:00:00.5.
        var given = try eveningQueue(at: time("2026-01-06T01:59:55Z"))
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        given.advance(5_500)
        #expect(try given.when(.placeCall(batchId: "g1", callId: "g1-5"))
                == [.callTerminated(.init(batchId: "g1", callId: "g1-5", reason: .outsideCallingHours))])
        let contact = try #require(given.state.queues["q"]?.contacts["ny5"])
        #expect(contact.outcome == .pending && contact.attempts == 0 && contact.dials == 0, "untried: it waits for the morning")
        // The placed line rings on; when the unplaced ones are all refused and it ends, the batch ends.
        for line in 2...4 { try given.when(.placeCall(batchId: "g1", callId: CallID("g1-\(line)"))) }
        let ended = try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
        #expect(ended.contains { if case .batchCompleted = $0 { true } else { false } })
    }

    /// Issue 20, D5: after the system clock stepped back, event times run on ahead of it (they never go
    /// back): judged on them alone, the morning edge opened early by the step. Both readings must be inside.
    @Test func afterTheClockSteppedBackTheMorningOpensOnTheLaterOfBothReadings() throws {
        // 08:00:30 in New York by the event time, 07:00:30 by the wall clock an hour behind it.
        var stepped = try eveningQueue(at: time("2026-01-05T13:00:30Z"))
        stepped.wallClockBehindMs = 3_600_000
        #expect(try stepped.when(.startBatch(sessionId: "s", batchId: "g1"))
                == [.queueWaitingForHours(.init(queueId: "q", sessionId: "s", until: time("2026-01-05T14:00:00Z"), contacts: 5))],
                "08:00 on the wall clock is 09:00 by the event time")
        var steady = try eveningQueue(at: time("2026-01-05T13:00:30Z"))
        try steady.when(.startBatch(sessionId: "s", batchId: "g1"))
        try steady.when(.placeCall(batchId: "g1", callId: "g1-1"))
        // The step comes between the batch forming and its second line.
        steady.wallClockBehindMs = 3_600_000
        steady.advance(800)
        #expect(try steady.when(.placeCall(batchId: "g1", callId: "g1-2"))
                == [.callTerminated(.init(batchId: "g1", callId: "g1-2", reason: .outsideCallingHours))])
        #expect(CallingHours.allows(["America/New_York"], .legal, at: time("2026-01-05T14:00:00Z"), wallClockBehindMs: 3_600_000))
    }

    @Test func aNumberListedAfterItsBatchFormedIsNeverRung() throws {
        var given = try eveningQueue(at: time("2026-01-05T20:00:00Z"))
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        try given.when(.addDoNotCall([try #require(PhoneNumber("+12125551002"))], source: .request))
        #expect(try given.when(.placeCall(batchId: "g1", callId: "g1-2"))
                == [.callTerminated(.init(batchId: "g1", callId: "g1-2", reason: .doNotCall))])
        #expect(given.state.queues["q"]?.contacts["ny2"]?.outcome == .doNotCall)
    }

    /// Issue 20, D16: quarter-hour zones and a window opening at any minute opened up to 15 min late.
    @Test func zonesOffByQuartersAndWindowsOpeningOffTheHalfHourOpenOnTime() throws {
        // 08:00 in Kathmandu (+05:45) is 02:15Z; in Chatham (+13:45 in January, DST) 18:15Z the day before.
        #expect(CallingHours.nextOpening(["Asia/Kathmandu"], .legal, after: time("2026-01-05T00:00:00Z")) == time("2026-01-05T02:15:00Z"))
        #expect(CallingHours.nextOpening(["Pacific/Chatham"], .legal, after: time("2026-01-05T12:00:00Z")) == time("2026-01-05T18:15:00Z"))
        // A queue window from 09:07 in New York (−5): 14:07Z.
        let narrow = try #require(CallingWindow(start: "09:07", end: "20:00"))
        #expect(CallingHours.nextOpening(["America/New_York"], narrow, after: time("2026-01-05T12:00:00Z")) == time("2026-01-05T14:07:00Z"))
    }

    @Test func onlyAPlacesZoneIsAZone() {
        for zone in ["America/New_York", "Asia/Kathmandu", "US/Eastern", "UTC", "Etc/UTC"] {
            #expect(CallingHours.isKnownZone(zone), "\(zone)")
        }
        for zone in ["Factory", "GMT+14", "GMT+0530", "EST", "CET", "EST5EDT", "Etc/GMT-5", "localtime", "posixrules",
                     "right/UTC", "America/Nowhere", "", "America/New_York "] {
            #expect(!CallingHours.isKnownZone(zone), "\(zone)")
        }
    }
}

