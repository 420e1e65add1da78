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
        }
    }

    /// The stream the event belongs to: one per queue, session and parallel group.
    public var stream: String {
        switch self {
        case .queueCreated(let e): StreamNames.queue(e.queueId)
        case .contactsAdded(let e): StreamNames.queue(e.queueId)
        case .queuePaused(let e): StreamNames.queue(e.queueId)
        case .queueResumed(let e): StreamNames.queue(e.queueId)
        case .queueCompleted(let e): StreamNames.queue(e.queueId)
        case .queueStopped(let e): StreamNames.queue(e.queueId)
        case .queueErrored(let e): StreamNames.queue(e.queueId)
        case .sessionStarted(let e): StreamNames.session(e.sessionId)
        case .sessionModeChanged(let e): StreamNames.session(e.sessionId)
        case .sessionSettingsChanged(let e): StreamNames.session(e.sessionId)
        case .sessionEnded(let e): StreamNames.session(e.sessionId)
        case .profileSelected(let e): StreamNames.group(e.groupId)
        case .batchStarted(let e): StreamNames.group(e.groupId)
        case .callDialed(let e): StreamNames.group(e.groupId)
        case .callRinging(let e): StreamNames.group(e.groupId)
        case .callAnswered(let e): StreamNames.group(e.groupId)
        case .callConnected(let e): StreamNames.group(e.groupId)
        case .callTerminated(let e): StreamNames.group(e.groupId)
        case .callVoicemail(let e): StreamNames.group(e.groupId)
        case .callNoAnswer(let e): StreamNames.group(e.groupId)
        case .callFailed(let e): StreamNames.group(e.groupId)
        case .callCompleted(let e): StreamNames.group(e.groupId)
        case .batchCompleted(let e): StreamNames.group(e.groupId)
        case .batchCancelled(let e): StreamNames.group(e.groupId)
        }
    }

    /// The event's `data` as stored.
    public var data: JSONObject {
        switch self {
        case .queueCreated(let e):
            ["queueId": e.queueId.json, "name": .string(e.name), "segment": e.segment.map(JSONValue.string) ?? .null,
             "maxAttempts": e.maxAttempts.json]
        case .contactsAdded(let e):
            ["queueId": e.queueId.json, "contacts": .array(e.contacts.map(\.json))]
        case .queuePaused(let e):
            ["queueId": e.queueId.json, "reason": e.reason.json, "sessionId": e.sessionId?.json ?? .null]
        case .queueResumed(let e):
            ["queueId": e.queueId.json, "sessionId": e.sessionId?.json ?? .null]
        case .queueCompleted(let e):
            ["queueId": e.queueId.json]
        case .queueStopped(let e):
            ["queueId": e.queueId.json, "sessionId": e.sessionId?.json ?? .null]
        case .queueErrored(let e):
            ["queueId": e.queueId.json, "reason": .string(e.reason)]
        case .sessionStarted(let e):
            ["sessionId": e.sessionId.json, "agentId": e.agentId.json, "queueId": e.queueId.json, "mode": e.mode.json,
             "profile": e.profile.json, "settings": e.settings.json, "callerIds": e.callerIds.json]
        case .sessionModeChanged(let e):
            ["sessionId": e.sessionId.json, "mode": e.mode.json]
        case .sessionSettingsChanged(let e):
            ["sessionId": e.sessionId.json, "settings": e.settings.json]
        case .sessionEnded(let e):
            ["sessionId": e.sessionId.json, "reason": e.reason.json]
        case .profileSelected(let e):
            ["groupId": e.groupId.json, "sessionId": e.sessionId.json, "queueId": e.queueId.json,
             "profile": e.profile.json, "reason": e.reason.json, "dialedCalls": e.dialedCalls.json,
             "humanAnswers": e.humanAnswers.json]
        case .batchStarted(let e):
            ["groupId": e.groupId.json, "sessionId": e.sessionId.json, "queueId": e.queueId.json,
             "agentId": e.agentId.json, "mode": e.mode.json, "profile": e.profile.json, "fanout": e.fanout.json,
             "staggerMs": e.staggerMs.json, "amdPolicy": e.amdPolicy.json, "ringTimeoutMs": e.ringTimeoutMs.json,
             "calls": .array(e.calls.map(\.json))]
        case .callDialed(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json, "contactId": e.contactId.json, "to": e.to.json,
             "callerId": e.callerId.json, "attempt": e.attempt.json]
        case .callRinging(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json]
        case .callAnswered(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json, "answeredBy": e.answeredBy.json]
        case .callConnected(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json, "contactId": e.contactId.json, "agentId": e.agentId.json]
        case .callTerminated(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json, "reason": e.reason.json]
        case .callVoicemail(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json]
        case .callNoAnswer(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json, "cause": e.cause.json]
        case .callFailed(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json, "reason": .string(e.reason)]
        case .callCompleted(let e):
            ["groupId": e.groupId.json, "callId": e.callId.json, "endedBy": e.endedBy.json]
        case .batchCompleted(let e):
            ["groupId": e.groupId.json, "result": e.result.json, "winnerCallId": e.winnerCallId?.json ?? .null]
        case .batchCancelled(let e):
            ["groupId": e.groupId.json, "reason": e.reason.json, "releasedContactIds": e.releasedContactIds.json]
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
        case .queueCreated:
            self = .queueCreated(.init(queueId: try d.decode("queueId"), name: try d.decode("name"),
                                       segment: try d.decodeIfPresent("segment"), maxAttempts: try d.decode("maxAttempts")))
        case .contactsAdded:
            self = .contactsAdded(.init(queueId: try d.decode("queueId"), contacts: try d.decode("contacts")))
        case .queuePaused:
            self = .queuePaused(.init(queueId: try d.decode("queueId"), reason: try d.decode("reason"),
                                      sessionId: try d.decodeIfPresent("sessionId")))
        case .queueResumed:
            self = .queueResumed(.init(queueId: try d.decode("queueId"), sessionId: try d.decodeIfPresent("sessionId")))
        case .queueCompleted:
            self = .queueCompleted(.init(queueId: try d.decode("queueId")))
        case .queueStopped:
            self = .queueStopped(.init(queueId: try d.decode("queueId"), sessionId: try d.decodeIfPresent("sessionId")))
        case .queueErrored:
            self = .queueErrored(.init(queueId: try d.decode("queueId"), reason: try d.decode("reason")))
        case .sessionStarted:
            self = .sessionStarted(.init(sessionId: try d.decode("sessionId"), agentId: try d.decode("agentId"),
                                         queueId: try d.decode("queueId"), mode: try d.decode("mode"),
                                         profile: try d.decode("profile"), settings: try d.decode("settings"),
                                         callerIds: try d.decode("callerIds")))
        case .sessionModeChanged:
            self = .sessionModeChanged(.init(sessionId: try d.decode("sessionId"), mode: try d.decode("mode")))
        case .sessionSettingsChanged:
            self = .sessionSettingsChanged(.init(sessionId: try d.decode("sessionId"), settings: try d.decode("settings")))
        case .sessionEnded:
            self = .sessionEnded(.init(sessionId: try d.decode("sessionId"), reason: try d.decode("reason")))
        case .profileSelected:
            self = .profileSelected(.init(groupId: try d.decode("groupId"), sessionId: try d.decode("sessionId"),
                                          queueId: try d.decode("queueId"), profile: try d.decode("profile"),
                                          reason: try d.decode("reason"), dialedCalls: try d.decode("dialedCalls"),
                                          humanAnswers: try d.decode("humanAnswers")))
        case .batchStarted:
            self = .batchStarted(.init(groupId: try d.decode("groupId"), sessionId: try d.decode("sessionId"),
                                       queueId: try d.decode("queueId"), agentId: try d.decode("agentId"),
                                       mode: try d.decode("mode"), profile: try d.decode("profile"),
                                       fanout: try d.decode("fanout"), staggerMs: try d.decode("staggerMs"),
                                       amdPolicy: try d.decode("amdPolicy"), ringTimeoutMs: try d.decode("ringTimeoutMs"),
                                       calls: try d.decode("calls")))
        case .callDialed:
            self = .callDialed(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId"),
                                     contactId: try d.decode("contactId"), to: try d.decode("to"),
                                     callerId: try d.decode("callerId"), attempt: try d.decode("attempt")))
        case .callRinging:
            self = .callRinging(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId")))
        case .callAnswered:
            self = .callAnswered(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId"),
                                       answeredBy: try d.decode("answeredBy")))
        case .callConnected:
            self = .callConnected(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId"),
                                        contactId: try d.decode("contactId"), agentId: try d.decode("agentId")))
        case .callTerminated:
            self = .callTerminated(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId"),
                                         reason: try d.decode("reason")))
        case .callVoicemail:
            self = .callVoicemail(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId")))
        case .callNoAnswer:
            self = .callNoAnswer(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId"),
                                       cause: try d.decode("cause")))
        case .callFailed:
            self = .callFailed(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId"),
                                     reason: try d.decode("reason")))
        case .callCompleted:
            self = .callCompleted(.init(groupId: try d.decode("groupId"), callId: try d.decode("callId"),
                                        endedBy: try d.decode("endedBy")))
        case .batchCompleted:
            self = .batchCompleted(.init(groupId: try d.decode("groupId"), result: try d.decode("result"),
                                         winnerCallId: try d.decodeIfPresent("winnerCallId")))
        case .batchCancelled:
            self = .batchCancelled(.init(groupId: try d.decode("groupId"), reason: try d.decode("reason"),
                                         releasedContactIds: try d.decode("releasedContactIds")))
        }
    }
}

extension EventType {
    /// Stored name → type, one hash lookup (replay reads a type name per event).
    static let byName: [String: EventType] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
}

/// Stream naming: `queue-<id>`, `session-<id>`, `group-<id>`.
public enum StreamNames {
    public static func queue(_ id: QueueID) -> String { "queue-" + id.rawValue }
    public static func session(_ id: SessionID) -> String { "session-" + id.rawValue }
    public static func group(_ id: GroupID) -> String { "group-" + id.rawValue }
}

extension NewContact: JSONConvertible {
    public init(json: JSONValue) throws(JSONError) {
        let o = try JSONObject(json: json)
        self.init(contactId: try o.decode("contactId"), name: try o.decodeIfPresent("name"), phone: try o.decode("phone"),
                  segment: try o.decodeIfPresent("segment"), script: try o.decodeIfPresent("script"))
    }
    public var json: JSONValue {
        var o: JSONObject = ["contactId": contactId.json, "name": name.map(JSONValue.string) ?? .null,
                             "phone": phone.json, "segment": segment.map(JSONValue.string) ?? .null]
        if let script { o["script"] = .object(script) }
        return .object(o)
    }
}

extension PlannedCall: JSONConvertible {
    public init(json: JSONValue) throws(JSONError) {
        let o = try JSONObject(json: json)
        self.init(callId: try o.decode("callId"), contactId: try o.decode("contactId"), to: try o.decode("to"),
                  callerId: try o.decode("callerId"), offsetMs: try o.decode("offsetMs"))
    }
    public var json: JSONValue {
        ["callId": callId.json, "contactId": contactId.json, "to": to.json, "callerId": callerId.json,
         "offsetMs": offsetMs.json]
    }
}
