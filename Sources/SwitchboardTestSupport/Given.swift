import DialerCore
import SwitchboardJSON
import SwitchboardBasics

/// Given-events / when-command / then-events helpers for the decider.
public struct Given {
    public var state = DialerState()
    public var position: Int64 = 0
    public var time = Timestamp(millisecondsSinceEpoch: 1_767_625_200_000)
    /// How far the system clock is behind `time` (a step back on a real clock); 0 on virtual time.
    public var wallClockBehindMs: Int64 = 0

    public init(_ events: [DialerEvent] = []) { apply(events) }

    /// Starting at `time` (calling hours depend on it).
    public init(_ events: [DialerEvent] = [], at time: Timestamp) {
        self.time = time
        apply(events)
    }

    public mutating func apply(_ events: [DialerEvent]) {
        for event in events {
            position += 1
            state.apply(event, position: position, at: time)
        }
    }

    /// Decides `command`, folds the resulting events in, and returns them.
    @discardableResult
    public mutating func when(_ command: Command) throws(DomainError) -> [DialerEvent] {
        let events = try state.decide(command, at: time, wallClockBehindMs: wallClockBehindMs)
        apply(events)
        return events
    }

    public func refusal(_ command: Command) -> DomainError? {
        do {
            _ = try state.decide(command, at: time, wallClockBehindMs: wallClockBehindMs)
            return nil
        } catch {
            return error
        }
    }

    public mutating func advance(_ ms: Int64) { time = time.adding(milliseconds: ms) }
}

public enum Fixture {
    /// The caller-ID pool every test uses (local presence picks from it).
    public static let callerIds = ["+15125550100", "+17135550100", "+18005550100"].map { PhoneNumber($0)! }

    /// A contact; without a number, one in area code 212 made from the id (a queue takes each number once).
    public static func contact(_ id: String, _ phone: String? = nil, segment: String? = nil) -> NewContact {
        NewContact(contactId: ContactID(id), phone: PhoneNumber(phone ?? number(for: id))!, segment: segment)
    }

    /// `+1212555NNNN`, NNNN from the id (FNV-1a): the same for the same id in every run.
    public static func number(for id: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return "+1212555" + String(1000 + hash % 9000)
    }

    public static func contacts(_ count: Int, prefix: String = "c") -> [NewContact] {
        (1...count).map { index in
            let digits = String(index)
            return contact("\(prefix)\(index)", "+1212555" + String(repeating: "0", count: 4 - digits.count) + digits)
        }
    }

    /// The safe-harbor message fixtures' queues play: without one a queue dials a line at a time.
    public static let safeHarborMessage = "Sorry we missed you. This call was from Leads, 512-555-0100."
    /// The whole hours a test on the real clock shifts its clock by (`SystemClock.Sources.shifted`) so
    /// that it is well inside the calling hours (09:00–18:00) in every US zone, whatever the hour it runs.
    public static func callingHoursShift(at now: Timestamp) -> Int {
        CallingHours.shiftHours(into: CallingHours.unitedStates, CallingWindow(start: 9 * 60, end: 18 * 60), at: now) ?? 0
    }

    /// The standard thresholds with that message.
    public static let compliance = QueueCompliance(safeHarborMessage: safeHarborMessage,
                                                   abandonWarnPercent: QueueCompliance.defaultWarn,
                                                   abandonCapPercent: QueueCompliance.legalCap)

    /// A queue (retried contacts wait `retryDelayMs`: none unless a test says so), with a safe-harbor
    /// message unless a test passes `nil`.
    public static func queueCreated(_ id: QueueID = "q", name: String = "Leads", segment: String? = nil,
                             maxAttempts: Int = 3, retryDelayMs: Int64 = 0,
                             safeHarborMessage: String? = Fixture.safeHarborMessage,
                             contacts: [NewContact]) -> [DialerEvent] {
        [.queueCreated(.init(queueId: id, name: name, segment: segment, maxAttempts: maxAttempts, retryDelayMs: retryDelayMs,
                             safeHarborMessage: safeHarborMessage)),
         .contactsAdded(.init(queueId: id, contacts: contacts))]
    }

    public static func sessionStarted(_ id: SessionID = "s", agent: AgentID = "agent-1", queue: QueueID = "q",
                               mode: CallingMode = .parallel, profile: ProfileChoice = .auto,
                               settings: SessionSettings = .backToBack) -> DialerEvent {
        .sessionStarted(.init(sessionId: id, agentId: agent, queueId: queue, mode: mode, profile: profile,
                              settings: settings, callerIds: callerIds))
    }

    /// A queue of `contacts` with one active session on it.
    public static func workingQueue(contacts: [NewContact] = contacts(6), name: String = "Leads", segment: String? = nil,
                             mode: CallingMode = .parallel, profile: ProfileChoice = .auto,
                             settings: SessionSettings = .backToBack, maxAttempts: Int = 3, retryDelayMs: Int64 = 0,
                             safeHarborMessage: String? = Fixture.safeHarborMessage) -> Given {
        Given(queueCreated(name: name, segment: segment, maxAttempts: maxAttempts, retryDelayMs: retryDelayMs,
                           safeHarborMessage: safeHarborMessage, contacts: contacts)
              + [sessionStarted(mode: mode, profile: profile, settings: settings)])
    }

    /// Starts batch `group` and places all of its calls.
    public static func dialAll(_ given: inout Given, group: BatchID = "g1", session: SessionID = "s") throws(DomainError) {
        try given.when(.startBatch(sessionId: session, batchId: group))
        for call in given.state.batches[group]?.calls ?? [] {
            try given.when(.placeCall(batchId: group, callId: call.id))
        }
    }
}

extension DialerEvent {
    public var callTerminationReason: TerminationReason? {
        if case .callTerminated(let e) = self { e.reason } else { nil }
    }
}
