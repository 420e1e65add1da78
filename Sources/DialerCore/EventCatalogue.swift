import SwitchboardJSON

/// The data of one stored event type, conformed beside each payload's declaration: its stored name,
/// what it is about, what it says. With its `JSONShape` (the stored fields) that is all the log needs
/// of a type — adding an event is its payload, its case in `DialerEvent`, its line in `EventCatalogue`,
/// its fold and its schema in `EventSchemas/`.
public protocol DialerEventPayload: JSONShaped, Hashable, Sendable {
    /// The stable stored name (`call.dialed`): free of Swift names, changed only with a new version.
    static var type: EventType { get }
    /// What the event names itself (a call event names only its batch; `DialerState.subject(of:)`
    /// completes it from the projections).
    var subject: EventSubject { get }
    /// What the event says, in a few words (`switchboard replay`); empty when the type says it all.
    var summary: String { get }
}

extension DialerEventPayload {
    public var summary: String { "" }
    /// The payload as stored (its shape's fields).
    var storedData: JSONObject { Self.shape.encode(self) }
}

/// The stable stored name of an event type, declared by its payload (`CallDialed.type`).
public struct EventType: RawRepresentable, Hashable, Sendable, JSONConvertible, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { rawValue = name }
    public var description: String { rawValue }

    /// The current schema version of each type. Older versions would be upcast on read.
    public var version: Int { 1 }

    /// Every type the log may hold, in the catalogue's order.
    public static var allCases: [EventType] { EventCatalogue.entries.map(\.type) }

    /// The events that end a call (each leaves it in an ended `CallStatus`); the audit player draws a
    /// lane's end at them.
    public var endsACall: Bool { Self.callEnding.contains(self) }
    static let callEnding: Set<EventType> = [CallTerminated.type, CallVoicemail.type, CallNoAnswer.type, CallFailed.type, CallCompleted.type]
}

extension DialerEvent {
    /// The one switch over the cases: each case's payload. Everything else about an event — its stored
    /// name, its data, its subject, its summary — is the payload's.
    public var payload: any DialerEventPayload {
        switch self {
        case .queueCreated(let e): e
        case .contactsAdded(let e): e
        case .queuePaused(let e): e
        case .queueResumed(let e): e
        case .queueCompleted(let e): e
        case .queueStopped(let e): e
        case .queueErrored(let e): e
        case .sessionStarted(let e): e
        case .sessionModeChanged(let e): e
        case .sessionSettingsChanged(let e): e
        case .sessionEnded(let e): e
        case .sessionPaused(let e): e
        case .sessionResumed(let e): e
        case .sessionAgentConnected(let e): e
        case .sessionAgentDisconnected(let e): e
        case .profileSelected(let e): e
        case .batchStarted(let e): e
        case .callDialed(let e): e
        case .callRinging(let e): e
        case .callCarrierAssigned(let e): e
        case .callAnswered(let e): e
        case .callConnected(let e): e
        case .callTerminated(let e): e
        case .callVoicemail(let e): e
        case .callNoAnswer(let e): e
        case .callFailed(let e): e
        case .callCompleted(let e): e
        case .batchCompleted(let e): e
        case .batchCancelled(let e): e
        case .callDispositioned(let e): e
        case .tokenIssued(let e): e
        case .tokenRevoked(let e): e
        case .callerIdsAdded(let e): e
        case .callerIdRemoved(let e): e
        case .queueCallerIdsSet(let e): e
        case .agentAssigned(let e): e
        case .agentUnassigned(let e): e
        case .doNotCallAdded(let e): e
        case .doNotCallRemoved(let e): e
        case .callAbandoned(let e): e
        case .safeHarborStarted(let e): e
        case .safeHarborEnded(let e): e
        case .abandonmentGuardChanged(let e): e
        case .queueComplianceSet(let e): e
        case .organisationSafeHarborSet(let e): e
        case .queueWaitingForHours(let e): e
        }
    }

    public var type: EventType { Swift.type(of: payload).type }

    /// The event's `data` as stored (its payload's `shape`).
    public var data: JSONObject { payload.storedData }

    /// The `data` bytes exactly as they are stored.
    public var encodedData: [UInt8] { JSONWriter.encode(.object(data)) }

    /// What the event names itself.
    public var subject: EventSubject { payload.subject }

    /// The name of the stream the event is stored in.
    public var stream: String { subject.stream.name }

    /// Decodes a stored event. Unknown types and versions are errors, never silently skipped.
    public init(type typeName: String, version: Int, data bytes: [UInt8]) throws(JSONError) {
        guard let entry = EventCatalogue.byName[typeName] else { throw JSONError("unknown event type \"\(typeName)\"") }
        guard version == entry.type.version else { throw JSONError("unsupported version \(version) of \(typeName)") }
        self = try entry.decode(try JSONObject(json: try JSONParser.parse(bytes)))
    }

    public init(type: EventType, data: JSONObject) throws(JSONError) {
        guard let entry = EventCatalogue.byName[type.rawValue] else { throw JSONError("unknown event type \"\(type)\"") }
        self = try entry.decode(data)
    }
}

/// Every event type once: its payload and the case that carries it. The decoding table is built from
/// this list (replay reads a type name per event: one hash lookup, then that type's shape).
enum EventCatalogue {
    struct Entry: Sendable {
        let type: EventType
        let decode: @Sendable (JSONObject) throws(JSONError) -> DialerEvent
    }

    static func entry<Payload: DialerEventPayload>(_: Payload.Type, _ event: @escaping @Sendable (Payload) -> DialerEvent) -> Entry {
        Entry(type: Payload.type) { (object: JSONObject) throws(JSONError) -> DialerEvent in event(try Payload.shape.decode(object)) }
    }

    static let entries: [Entry] = [
        entry(QueueCreated.self, DialerEvent.queueCreated),
        entry(ContactsAdded.self, DialerEvent.contactsAdded),
        entry(QueuePaused.self, DialerEvent.queuePaused),
        entry(QueueResumed.self, DialerEvent.queueResumed),
        entry(QueueCompleted.self, DialerEvent.queueCompleted),
        entry(QueueStopped.self, DialerEvent.queueStopped),
        entry(QueueErrored.self, DialerEvent.queueErrored),
        entry(SessionStarted.self, DialerEvent.sessionStarted),
        entry(SessionModeChanged.self, DialerEvent.sessionModeChanged),
        entry(SessionSettingsChanged.self, DialerEvent.sessionSettingsChanged),
        entry(SessionEnded.self, DialerEvent.sessionEnded),
        entry(SessionPaused.self, DialerEvent.sessionPaused),
        entry(SessionResumed.self, DialerEvent.sessionResumed),
        entry(SessionAgentConnected.self, DialerEvent.sessionAgentConnected),
        entry(SessionAgentDisconnected.self, DialerEvent.sessionAgentDisconnected),
        entry(ProfileSelected.self, DialerEvent.profileSelected),
        entry(BatchStarted.self, DialerEvent.batchStarted),
        entry(CallDialed.self, DialerEvent.callDialed),
        entry(CallRinging.self, DialerEvent.callRinging),
        entry(CallCarrierAssigned.self, DialerEvent.callCarrierAssigned),
        entry(CallAnswered.self, DialerEvent.callAnswered),
        entry(CallConnected.self, DialerEvent.callConnected),
        entry(CallTerminated.self, DialerEvent.callTerminated),
        entry(CallVoicemail.self, DialerEvent.callVoicemail),
        entry(CallNoAnswer.self, DialerEvent.callNoAnswer),
        entry(CallFailed.self, DialerEvent.callFailed),
        entry(CallCompleted.self, DialerEvent.callCompleted),
        entry(BatchCompleted.self, DialerEvent.batchCompleted),
        entry(BatchCancelled.self, DialerEvent.batchCancelled),
        entry(CallDispositioned.self, DialerEvent.callDispositioned),
        entry(TokenIssued.self, DialerEvent.tokenIssued),
        entry(TokenRevoked.self, DialerEvent.tokenRevoked),
        entry(CallerIdsAdded.self, DialerEvent.callerIdsAdded),
        entry(CallerIdRemoved.self, DialerEvent.callerIdRemoved),
        entry(QueueCallerIdsSet.self, DialerEvent.queueCallerIdsSet),
        entry(QueueAgentAssigned.self, DialerEvent.agentAssigned),
        entry(QueueAgentUnassigned.self, DialerEvent.agentUnassigned),
        entry(DoNotCallAdded.self, DialerEvent.doNotCallAdded),
        entry(DoNotCallRemoved.self, DialerEvent.doNotCallRemoved),
        entry(CallAbandoned.self, DialerEvent.callAbandoned),
        entry(SafeHarborStarted.self, DialerEvent.safeHarborStarted),
        entry(SafeHarborEnded.self, DialerEvent.safeHarborEnded),
        entry(AbandonmentGuardChanged.self, DialerEvent.abandonmentGuardChanged),
        entry(QueueComplianceSet.self, DialerEvent.queueComplianceSet),
        entry(OrganisationSafeHarborSet.self, DialerEvent.organisationSafeHarborSet),
        entry(QueueWaitingForHours.self, DialerEvent.queueWaitingForHours),
    ]

    static let byName: [String: Entry] = Dictionary(uniqueKeysWithValues: entries.map { ($0.type.rawValue, $0) })
}
