import SwitchboardJSON

extension DialerEvent {
    public var type: EventType {
        switch self {
        case .queueCreated: .queueCreated
        case .contactsAdded: .contactsAdded
        case .queuePaused: .queuePaused
        case .queueResumed: .queueResumed
        case .queueCompleted: .queueCompleted
        case .queueStopped: .queueStopped
        case .queueErrored: .queueErrored
        case .sessionStarted: .sessionStarted
        case .sessionModeChanged: .sessionModeChanged
        case .sessionSettingsChanged: .sessionSettingsChanged
        case .sessionEnded: .sessionEnded
        case .sessionPaused: .sessionPaused
        case .sessionResumed: .sessionResumed
        case .profileSelected: .profileSelected
        case .batchStarted: .batchStarted
        case .callDialed: .callDialed
        case .callRinging: .callRinging
        case .callAnswered: .callAnswered
        case .callConnected: .callConnected
        case .callTerminated: .callTerminated
        case .callVoicemail: .callVoicemail
        case .callNoAnswer: .callNoAnswer
        case .callFailed: .callFailed
        case .callCompleted: .callCompleted
        case .batchCompleted: .batchCompleted
        case .batchCancelled: .batchCancelled
        case .callDispositioned: .callDispositioned
        case .tokenIssued: .tokenIssued
        case .tokenRevoked: .tokenRevoked
        case .callerIdsAdded: .callerIdsAdded
        case .callerIdRemoved: .callerIdRemoved
        case .queueCallerIdsSet: .queueCallerIdsSet
        case .agentAssigned: .agentAssigned
        case .agentUnassigned: .agentUnassigned
        case .doNotCallAdded: .doNotCallAdded
        case .doNotCallRemoved: .doNotCallRemoved
        case .callAbandoned: .callAbandoned
        case .safeHarborStarted: .safeHarborStarted
        case .safeHarborEnded: .safeHarborEnded
        case .abandonmentGuardChanged: .abandonmentGuardChanged
        case .queueComplianceSet: .queueComplianceSet
        case .organisationSafeHarborSet: .organisationSafeHarborSet
        case .queueWaitingForHours: .queueWaitingForHours
        }
    }

    /// The event's `data` as stored (each payload's `shape`).
    public var data: JSONObject {
        switch self {
        case .queueCreated(let e): QueueCreated.shape.encode(e)
        case .contactsAdded(let e): ContactsAdded.shape.encode(e)
        case .queuePaused(let e): QueuePaused.shape.encode(e)
        case .queueResumed(let e): QueueResumed.shape.encode(e)
        case .queueCompleted(let e): QueueCompleted.shape.encode(e)
        case .queueStopped(let e): QueueStopped.shape.encode(e)
        case .queueErrored(let e): QueueErrored.shape.encode(e)
        case .sessionStarted(let e): SessionStarted.shape.encode(e)
        case .sessionModeChanged(let e): SessionModeChanged.shape.encode(e)
        case .sessionSettingsChanged(let e): SessionSettingsChanged.shape.encode(e)
        case .sessionEnded(let e): SessionEnded.shape.encode(e)
        case .sessionPaused(let e): SessionPaused.shape.encode(e)
        case .sessionResumed(let e): SessionResumed.shape.encode(e)
        case .profileSelected(let e): ProfileSelected.shape.encode(e)
        case .batchStarted(let e): BatchStarted.shape.encode(e)
        case .callDialed(let e): CallDialed.shape.encode(e)
        case .callRinging(let e): CallRinging.shape.encode(e)
        case .callAnswered(let e): CallAnswered.shape.encode(e)
        case .callConnected(let e): CallConnected.shape.encode(e)
        case .callTerminated(let e): CallTerminated.shape.encode(e)
        case .callVoicemail(let e): CallVoicemail.shape.encode(e)
        case .callNoAnswer(let e): CallNoAnswer.shape.encode(e)
        case .callFailed(let e): CallFailed.shape.encode(e)
        case .callCompleted(let e): CallCompleted.shape.encode(e)
        case .batchCompleted(let e): BatchCompleted.shape.encode(e)
        case .batchCancelled(let e): BatchCancelled.shape.encode(e)
        case .callDispositioned(let e): CallDispositioned.shape.encode(e)
        case .tokenIssued(let e): TokenIssued.shape.encode(e)
        case .tokenRevoked(let e): TokenRevoked.shape.encode(e)
        case .callerIdsAdded(let e): CallerIdsAdded.shape.encode(e)
        case .callerIdRemoved(let e): CallerIdRemoved.shape.encode(e)
        case .queueCallerIdsSet(let e): QueueCallerIdsSet.shape.encode(e)
        case .agentAssigned(let e), .agentUnassigned(let e): QueueAgentAssignment.shape.encode(e)
        case .doNotCallAdded(let e): DoNotCallAdded.shape.encode(e)
        case .doNotCallRemoved(let e): DoNotCallRemoved.shape.encode(e)
        case .callAbandoned(let e): CallAbandoned.shape.encode(e)
        case .safeHarborStarted(let e): SafeHarborPlayback.shape.encode(e)
        case .safeHarborEnded(let e): SafeHarborPlayback.shape.encode(e)
        case .abandonmentGuardChanged(let e): AbandonmentGuardChanged.shape.encode(e)
        case .queueComplianceSet(let e): QueueComplianceSet.shape.encode(e)
        case .organisationSafeHarborSet(let e): OrganisationSafeHarborSet.shape.encode(e)
        case .queueWaitingForHours(let e): QueueWaitingForHours.shape.encode(e)
        }
    }

    /// The `data` bytes exactly as they are stored.
    public var encodedData: [UInt8] { JSONWriter.encode(.object(data)) }

    /// Decodes a stored event. Unknown types and versions are errors, never silently skipped.
    public init(type typeName: String, version: Int, data bytes: [UInt8]) throws(JSONError) {
        guard let type = EventType.byName[typeName] else { throw JSONError("unknown event type \"\(typeName)\"") }
        guard version == type.version else { throw JSONError("unsupported version \(version) of \(typeName)") }
        try self.init(type: type, data: try JSONObject(json: try JSONParser.parse(bytes)))
    }

    public init(type: EventType, data d: JSONObject) throws(JSONError) {
        switch type {
        case .queueCreated: self = .queueCreated(try QueueCreated.shape.decode(d))
        case .contactsAdded: self = .contactsAdded(try ContactsAdded.shape.decode(d))
        case .queuePaused: self = .queuePaused(try QueuePaused.shape.decode(d))
        case .queueResumed: self = .queueResumed(try QueueResumed.shape.decode(d))
        case .queueCompleted: self = .queueCompleted(try QueueCompleted.shape.decode(d))
        case .queueStopped: self = .queueStopped(try QueueStopped.shape.decode(d))
        case .queueErrored: self = .queueErrored(try QueueErrored.shape.decode(d))
        case .sessionStarted: self = .sessionStarted(try SessionStarted.shape.decode(d))
        case .sessionModeChanged: self = .sessionModeChanged(try SessionModeChanged.shape.decode(d))
        case .sessionSettingsChanged: self = .sessionSettingsChanged(try SessionSettingsChanged.shape.decode(d))
        case .sessionEnded: self = .sessionEnded(try SessionEnded.shape.decode(d))
        case .sessionPaused: self = .sessionPaused(try SessionPaused.shape.decode(d))
        case .sessionResumed: self = .sessionResumed(try SessionResumed.shape.decode(d))
        case .profileSelected: self = .profileSelected(try ProfileSelected.shape.decode(d))
        case .batchStarted: self = .batchStarted(try BatchStarted.shape.decode(d))
        case .callDialed: self = .callDialed(try CallDialed.shape.decode(d))
        case .callRinging: self = .callRinging(try CallRinging.shape.decode(d))
        case .callAnswered: self = .callAnswered(try CallAnswered.shape.decode(d))
        case .callConnected: self = .callConnected(try CallConnected.shape.decode(d))
        case .callTerminated: self = .callTerminated(try CallTerminated.shape.decode(d))
        case .callVoicemail: self = .callVoicemail(try CallVoicemail.shape.decode(d))
        case .callNoAnswer: self = .callNoAnswer(try CallNoAnswer.shape.decode(d))
        case .callFailed: self = .callFailed(try CallFailed.shape.decode(d))
        case .callCompleted: self = .callCompleted(try CallCompleted.shape.decode(d))
        case .batchCompleted: self = .batchCompleted(try BatchCompleted.shape.decode(d))
        case .batchCancelled: self = .batchCancelled(try BatchCancelled.shape.decode(d))
        case .callDispositioned: self = .callDispositioned(try CallDispositioned.shape.decode(d))
        case .tokenIssued: self = .tokenIssued(try TokenIssued.shape.decode(d))
        case .tokenRevoked: self = .tokenRevoked(try TokenRevoked.shape.decode(d))
        case .callerIdsAdded: self = .callerIdsAdded(try CallerIdsAdded.shape.decode(d))
        case .callerIdRemoved: self = .callerIdRemoved(try CallerIdRemoved.shape.decode(d))
        case .queueCallerIdsSet: self = .queueCallerIdsSet(try QueueCallerIdsSet.shape.decode(d))
        case .agentAssigned: self = .agentAssigned(try QueueAgentAssignment.shape.decode(d))
        case .agentUnassigned: self = .agentUnassigned(try QueueAgentAssignment.shape.decode(d))
        case .doNotCallAdded: self = .doNotCallAdded(try DoNotCallAdded.shape.decode(d))
        case .doNotCallRemoved: self = .doNotCallRemoved(try DoNotCallRemoved.shape.decode(d))
        case .callAbandoned: self = .callAbandoned(try CallAbandoned.shape.decode(d))
        case .safeHarborStarted: self = .safeHarborStarted(try SafeHarborPlayback.shape.decode(d))
        case .safeHarborEnded: self = .safeHarborEnded(try SafeHarborPlayback.shape.decode(d))
        case .abandonmentGuardChanged: self = .abandonmentGuardChanged(try AbandonmentGuardChanged.shape.decode(d))
        case .queueComplianceSet: self = .queueComplianceSet(try QueueComplianceSet.shape.decode(d))
        case .organisationSafeHarborSet: self = .organisationSafeHarborSet(try OrganisationSafeHarborSet.shape.decode(d))
        case .queueWaitingForHours: self = .queueWaitingForHours(try QueueWaitingForHours.shape.decode(d))
        }
    }
}

extension EventType {
    /// Stored name → type, one hash lookup (replay reads a type name per event).
    static let byName: [String: EventType] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
}
