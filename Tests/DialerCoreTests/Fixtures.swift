import DialerCore
import SwitchboardJSON
import Testing
import SwitchboardBasics

/// Given-events / when-command / then-events helpers for the decider.
struct Given {
    var state = DialerState()
    var position: Int64 = 0
    var time = Timestamp(millisecondsSinceEpoch: 1_767_625_200_000)

    init(_ events: [DialerEvent] = []) { apply(events) }

    mutating func apply(_ events: [DialerEvent]) {
        for event in events {
            position += 1
            state.apply(event, position: position, at: time)
        }
    }

    /// Decides `command`, folds the resulting events in, and returns them.
    @discardableResult
    mutating func when(_ command: Command) throws(DomainError) -> [DialerEvent] {
        let events = try state.decide(command)
        apply(events)
        return events
    }

    func refusal(_ command: Command) -> DomainError? {
        do {
            _ = try state.decide(command)
            return nil
        } catch {
            return error
        }
    }

    mutating func advance(_ ms: Int64) { time = time.adding(milliseconds: ms) }
}

enum Fixture {
    static let pool = ["+15125550100", "+17135550100", "+18005550100"].map { PhoneNumber($0)! }

    static func contact(_ id: String, _ phone: String = "+12125550000", segment: String? = nil) -> NewContact {
        NewContact(contactId: ContactID(id), phone: PhoneNumber(phone)!, segment: segment)
    }

    static func contacts(_ count: Int, prefix: String = "c") -> [NewContact] {
        (1...count).map { index in
            let digits = String(index)
            return contact("\(prefix)\(index)", "+1212555" + String(repeating: "0", count: 4 - digits.count) + digits)
        }
    }

    static func queueCreated(_ id: QueueID = "q", name: String = "Leads", segment: String? = nil,
                             maxAttempts: Int = 3, contacts: [NewContact]) -> [DialerEvent] {
        [.queueCreated(.init(queueId: id, name: name, segment: segment, maxAttempts: maxAttempts)),
         .contactsAdded(.init(queueId: id, contacts: contacts))]
    }

    static func sessionStarted(_ id: SessionID = "s", agent: AgentID = "agent-1", queue: QueueID = "q",
                               mode: CallingMode = .parallel, profile: ProfileChoice = .auto,
                               settings: SessionSettings = .default) -> DialerEvent {
        .sessionStarted(.init(sessionId: id, agentId: agent, queueId: queue, mode: mode, profile: profile,
                              settings: settings, callerIds: pool))
    }

    /// A queue of `contacts` with one active session on it.
    static func workingQueue(contacts: [NewContact] = contacts(6), name: String = "Leads", segment: String? = nil,
                             mode: CallingMode = .parallel, profile: ProfileChoice = .auto,
                             settings: SessionSettings = .default, maxAttempts: Int = 3) -> Given {
        Given(queueCreated(name: name, segment: segment, maxAttempts: maxAttempts, contacts: contacts)
              + [sessionStarted(mode: mode, profile: profile, settings: settings)])
    }

    /// Starts batch `group` and places all of its calls.
    static func dialAll(_ given: inout Given, group: GroupID = "g1", session: SessionID = "s") throws(DomainError) {
        try given.when(.startBatch(sessionId: session, groupId: group))
        for call in given.state.groups[group]?.calls ?? [] {
            try given.when(.placeCall(groupId: group, callId: call.id))
        }
    }
}

extension DialerEvent {
    var callTerminationReason: TerminationReason? {
        if case .callTerminated(let e) = self { e.reason } else { nil }
    }
}
