import SwitchboardJSON
import SwitchboardBasics

// The organisation's do-not-call list (FCC 47 CFR 64.1200). A listed number is never dialled: its
// contacts, in every queue, are settled with the outcome `do-not-call` the moment it is listed (or
// added), and every batch is formed without listed numbers.

/// How a number came onto the list.
public enum DoNotCallSource: String, Sendable, CaseIterable, JSONConvertible {
    /// `POST /v1/dnc`.
    case request
    /// The agent's `do-not-call` disposition.
    case disposition
    /// `switchboard dnc import`.
    case `import`
}

public struct DoNotCallAdded: Hashable, Sendable {
    public var phones: [PhoneNumber]
    public var source: DoNotCallSource
    public init(phones: [PhoneNumber], source: DoNotCallSource) { self.phones = phones; self.source = source }
}

extension DoNotCallAdded: DialerEventPayload {
    public static let type = EventType("dnc.added")
    public var subject: EventSubject { EventSubject(stream: .organisation) }
}

public struct DoNotCallRemoved: Hashable, Sendable {
    public var phone: PhoneNumber
    public init(phone: PhoneNumber) { self.phone = phone }
}

extension DoNotCallRemoved: DialerEventPayload {
    public static let type = EventType("dnc.removed")
    public var subject: EventSubject { EventSubject(stream: .organisation) }
}

extension DoNotCallAdded: JSONShaped {
    public static let shape = JSONShape(
        DoNotCallAdded.init(phones:source:),
        JSONField("phones", \DoNotCallAdded.phones),
        JSONField("source", \DoNotCallAdded.source)
    )
}

extension DoNotCallRemoved: JSONShaped {
    public static let shape = JSONShape(DoNotCallRemoved.init(phone:), JSONField("phone", \DoNotCallRemoved.phone))
}

extension DialerState {
    /// Most numbers one command lists: what a 64 KiB request body holds with room to spare (an import is
    /// split into commands of this size). `openapi.yaml` and the `dnc.added` schema say the same; a test
    /// holds them to it.
    public static let maxDoNotCallPerCommand = 3000

    func decideDoNotCall(_ command: Command) throws(DomainError) -> [DialerEvent] {
        switch command {
        case .addDoNotCall(let phones, let source):
            guard !phones.isEmpty, phones.count <= Self.maxDoNotCallPerCommand else {
                throw .invalidValue(field: "phones", message: "must name 1 to \(Self.maxDoNotCallPerCommand) numbers")
            }
            var new: [PhoneNumber] = []
            var seen = Set<PhoneNumber>()
            for phone in phones where !doNotCall.contains(phone) && seen.insert(phone).inserted { new.append(phone) }
            return new.isEmpty ? [] : [.doNotCallAdded(.init(phones: new, source: source))]
        case .removeDoNotCall(let phone):
            guard doNotCall.contains(phone) else { throw .notOnDoNotCallList(phone) }
            return [.doNotCallRemoved(.init(phone: phone))]
        default:
            return []
        }
    }

    mutating func foldDoNotCall(_ event: DialerEvent) {
        switch event {
        case .doNotCallAdded(let e):
            doNotCall.formUnion(e.phones)
            markDoNotCall(Set(e.phones), listed: true)
        case .doNotCallRemoved(let e):
            doNotCall.remove(e.phone)
            markDoNotCall([e.phone], listed: false)
        case .contactsAdded(let e) where !doNotCall.isEmpty:
            let listed = Set(e.contacts.map(\.phone)).intersection(doNotCall)
            if !listed.isEmpty { markDoNotCall(listed, in: e.queueId, listed: true) }
        default:
            break
        }
    }

    /// Settles (or, taken off the list, releases) every contact at these numbers. A contact on a live
    /// call keeps it; its outcome says `do-not-call` once it ends, and it is never dialled again.
    /// Found through `contactsByPhone`: the cost is the contacts at these numbers, not every contact
    /// of every list the log ever held.
    private mutating func markDoNotCall(_ phones: Set<PhoneNumber>, in only: QueueID? = nil, listed: Bool) {
        for phone in phones {
            for address in contactsByPhone[phone] ?? [] where only.map({ $0 == address.queueId }) ?? true {
                guard var queue = queues.removeValue(forKey: address.queueId) else { continue }
                defer { queues[address.queueId] = queue }
                guard let contact = queue.contacts[address.contactId] else { continue }
                let id = address.contactId
                if listed {
                    queue.contacts[id]?.isDoNotCall = true
                    queue.contacts[id]?.isSettled = true
                    if contact.liveCall == nil { queue.contacts[id]?.outcome = .doNotCall }
                } else if contact.isDoNotCall {
                    queue.contacts[id]?.isDoNotCall = false
                    if contact.outcome == .doNotCall {
                        queue.contacts[id]?.outcome = .pending
                        queue.contacts[id]?.isSettled = false
                        queue.isCompleted = false
                    }
                }
            }
        }
    }
}

/// Where a contact is: its queue and its id there (`DialerState.contactsByPhone`).
public struct ContactAddress: Hashable, Sendable {
    public var queueId: QueueID
    public var contactId: ContactID
}
