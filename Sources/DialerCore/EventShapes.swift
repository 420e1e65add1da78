import SwitchboardJSON
import SwitchboardBasics

// Each event's stored JSON, described once: the same shape encodes and decodes it, so a key is
// written in one place. The stored shapes are the `EventSchemas/` files; change them together.

extension QueueCreated: JSONShaped {
    public static let shape = JSONShape(
        QueueCreated.init(queueId:name:segment:maxAttempts:retryDelayMs:callingHours:safeHarborMessage:abandonWarnPercent:abandonCapPercent:),
        JSONField("queueId", \QueueCreated.queueId),
        JSONField("name", \QueueCreated.name),
        JSONField("segment", \QueueCreated.segment),
        JSONField("maxAttempts", \QueueCreated.maxAttempts),
        JSONField<QueueCreated, Int64?>.omittedWhenAbsent("retryDelayMs", \QueueCreated.retryDelayMs),
        JSONField<QueueCreated, CallingWindow?>.omittedWhenAbsent("callingHours", \QueueCreated.callingHours),
        JSONField<QueueCreated, String?>.omittedWhenAbsent("safeHarborMessage", \QueueCreated.safeHarborMessage),
        JSONField<QueueCreated, Percent?>.omittedWhenAbsent("abandonWarnPercent", \QueueCreated.abandonWarnPercent),
        JSONField<QueueCreated, Percent?>.omittedWhenAbsent("abandonCapPercent", \QueueCreated.abandonCapPercent)
    )
}

extension NewContact: JSONShaped {
    public static let shape = JSONShape(
        NewContact.init(contactId:name:phone:segment:script:timeZone:),
        JSONField("contactId", \NewContact.contactId),
        JSONField("name", \NewContact.name),
        JSONField("phone", \NewContact.phone),
        JSONField("segment", \NewContact.segment),
        JSONField<NewContact, JSONObject?>.omittedWhenAbsent("script", \NewContact.script),
        JSONField<NewContact, String?>.omittedWhenAbsent("timeZone", \NewContact.timeZone)
    )
}

extension ContactsAdded: JSONShaped {
    public static let shape = JSONShape(
        ContactsAdded.init(queueId:contacts:),
        JSONField("queueId", \ContactsAdded.queueId),
        JSONField("contacts", \ContactsAdded.contacts)
    )
}

extension QueuePaused: JSONShaped {
    public static let shape = JSONShape(
        QueuePaused.init(queueId:reason:sessionId:),
        JSONField("queueId", \QueuePaused.queueId),
        JSONField("reason", \QueuePaused.reason),
        JSONField("sessionId", \QueuePaused.sessionId)
    )
}

extension QueueResumed: JSONShaped {
    public static let shape = JSONShape(
        QueueResumed.init(queueId:sessionId:),
        JSONField("queueId", \QueueResumed.queueId),
        JSONField("sessionId", \QueueResumed.sessionId)
    )
}

extension QueueCompleted: JSONShaped {
    public static let shape = JSONShape(
        QueueCompleted.init(queueId:),
        JSONField("queueId", \QueueCompleted.queueId)
    )
}

extension QueueStopped: JSONShaped {
    public static let shape = JSONShape(
        QueueStopped.init(queueId:sessionId:),
        JSONField("queueId", \QueueStopped.queueId),
        JSONField("sessionId", \QueueStopped.sessionId)
    )
}

extension QueueErrored: JSONShaped {
    public static let shape = JSONShape(
        QueueErrored.init(queueId:reason:),
        JSONField("queueId", \QueueErrored.queueId),
        JSONField("reason", \QueueErrored.reason)
    )
}

extension SessionStarted: JSONShaped {
    public static let shape = JSONShape(
        SessionStarted.init(sessionId:agentId:queueId:mode:profile:settings:callerIds:agentEndpoint:),
        JSONField("sessionId", \SessionStarted.sessionId),
        JSONField("agentId", \SessionStarted.agentId),
        JSONField("queueId", \SessionStarted.queueId),
        JSONField("mode", \SessionStarted.mode),
        JSONField("profile", \SessionStarted.profile),
        JSONField("settings", \SessionStarted.settings),
        JSONField("callerIds", \SessionStarted.callerIds),
        .omittedWhenAbsent("agentEndpoint", \SessionStarted.agentEndpoint)
    )
}

extension SessionAgentConnected: JSONShaped {
    public static let shape = JSONShape(
        SessionAgentConnected.init(sessionId:carrierCallId:),
        JSONField("sessionId", \SessionAgentConnected.sessionId),
        JSONField("carrierCallId", \SessionAgentConnected.carrierCallId)
    )
}

extension SessionAgentDisconnected: JSONShaped {
    public static let shape = JSONShape(
        SessionAgentDisconnected.init(sessionId:reason:),
        JSONField("sessionId", \SessionAgentDisconnected.sessionId),
        JSONField("reason", \SessionAgentDisconnected.reason)
    )
}

extension SessionModeChanged: JSONShaped {
    public static let shape = JSONShape(
        SessionModeChanged.init(sessionId:mode:),
        JSONField("sessionId", \SessionModeChanged.sessionId),
        JSONField("mode", \SessionModeChanged.mode)
    )
}

extension SessionSettingsChanged: JSONShaped {
    public static let shape = JSONShape(
        SessionSettingsChanged.init(sessionId:settings:),
        JSONField("sessionId", \SessionSettingsChanged.sessionId),
        JSONField("settings", \SessionSettingsChanged.settings)
    )
}

extension SessionEnded: JSONShaped {
    public static let shape = JSONShape(
        SessionEnded.init(sessionId:reason:),
        JSONField("sessionId", \SessionEnded.sessionId),
        JSONField("reason", \SessionEnded.reason)
    )
}

extension SessionPaused: JSONShaped {
    public static let shape = JSONShape(
        SessionPaused.init(sessionId:reason:),
        JSONField("sessionId", \SessionPaused.sessionId),
        JSONField("reason", \SessionPaused.reason)
    )
}

extension SessionResumed: JSONShaped {
    public static let shape = JSONShape(
        SessionResumed.init(sessionId:),
        JSONField("sessionId", \SessionResumed.sessionId)
    )
}

extension ProfileSelected: JSONShaped {
    public static let shape = JSONShape(
        ProfileSelected.init(batchId:sessionId:queueId:profile:reason:dialedCalls:humanAnswers:),
        JSONField("groupId", \ProfileSelected.batchId),
        JSONField("sessionId", \ProfileSelected.sessionId),
        JSONField("queueId", \ProfileSelected.queueId),
        JSONField("profile", \ProfileSelected.profile),
        JSONField("reason", \ProfileSelected.reason),
        JSONField("dialedCalls", \ProfileSelected.dialedCalls),
        JSONField("humanAnswers", \ProfileSelected.humanAnswers)
    )
}

extension PlannedCall: JSONShaped {
    public static let shape = JSONShape(
        PlannedCall.init(callId:contactId:to:callerId:offsetMs:),
        JSONField("callId", \PlannedCall.callId),
        JSONField("contactId", \PlannedCall.contactId),
        JSONField("to", \PlannedCall.to),
        JSONField("callerId", \PlannedCall.callerId),
        JSONField("offsetMs", \PlannedCall.offsetMs)
    )
}

extension BatchStarted: JSONShaped {
    public static let shape = JSONShape(
        BatchStarted.init(batchId:sessionId:queueId:agentId:mode:profile:fanout:staggerMs:amdPolicy:ringTimeoutMs:calls:linesLimitedBy:),
        JSONField("groupId", \BatchStarted.batchId),
        JSONField("sessionId", \BatchStarted.sessionId),
        JSONField("queueId", \BatchStarted.queueId),
        JSONField("agentId", \BatchStarted.agentId),
        JSONField("mode", \BatchStarted.mode),
        JSONField("profile", \BatchStarted.profile),
        JSONField("fanout", \BatchStarted.fanout),
        JSONField("staggerMs", \BatchStarted.staggerMs),
        JSONField("amdPolicy", \BatchStarted.amdPolicy),
        JSONField("ringTimeoutMs", \BatchStarted.ringTimeoutMs),
        JSONField("calls", \BatchStarted.calls),
        JSONField<BatchStarted, LineLimit?>.omittedWhenAbsent("linesLimitedBy", \BatchStarted.linesLimitedBy)
    )
}

extension CallDialed: JSONShaped {
    public static let shape = JSONShape(
        CallDialed.init(batchId:callId:contactId:to:callerId:attempt:),
        JSONField("groupId", \CallDialed.batchId),
        JSONField("callId", \CallDialed.callId),
        JSONField("contactId", \CallDialed.contactId),
        JSONField("to", \CallDialed.to),
        JSONField("callerId", \CallDialed.callerId),
        JSONField("attempt", \CallDialed.attempt)
    )
}

extension CallRinging: JSONShaped {
    public static let shape = JSONShape(
        CallRinging.init(batchId:callId:),
        JSONField("groupId", \CallRinging.batchId),
        JSONField("callId", \CallRinging.callId)
    )
}

extension CallCarrierAssigned: JSONShaped {
    public static let shape = JSONShape(
        CallCarrierAssigned.init(batchId:callId:carrier:carrierCallId:),
        JSONField("groupId", \CallCarrierAssigned.batchId),
        JSONField("callId", \CallCarrierAssigned.callId),
        JSONField("carrier", \CallCarrierAssigned.carrier),
        JSONField("carrierCallId", \CallCarrierAssigned.carrierCallId)
    )
}

extension CallAnswered: JSONShaped {
    public static let shape = JSONShape(
        CallAnswered.init(batchId:callId:answeredBy:),
        JSONField("groupId", \CallAnswered.batchId),
        JSONField("callId", \CallAnswered.callId),
        JSONField("answeredBy", \CallAnswered.answeredBy)
    )
}

extension CallConnected: JSONShaped {
    public static let shape = JSONShape(
        CallConnected.init(batchId:callId:contactId:agentId:),
        JSONField("groupId", \CallConnected.batchId),
        JSONField("callId", \CallConnected.callId),
        JSONField("contactId", \CallConnected.contactId),
        JSONField("agentId", \CallConnected.agentId)
    )
}

extension CallTerminated: JSONShaped {
    public static let shape = JSONShape(
        CallTerminated.init(batchId:callId:reason:),
        JSONField("groupId", \CallTerminated.batchId),
        JSONField("callId", \CallTerminated.callId),
        JSONField("reason", \CallTerminated.reason)
    )
}

extension CallVoicemail: JSONShaped {
    public static let shape = JSONShape(
        CallVoicemail.init(batchId:callId:),
        JSONField("groupId", \CallVoicemail.batchId),
        JSONField("callId", \CallVoicemail.callId)
    )
}

extension CallNoAnswer: JSONShaped {
    public static let shape = JSONShape(
        CallNoAnswer.init(batchId:callId:cause:),
        JSONField("groupId", \CallNoAnswer.batchId),
        JSONField("callId", \CallNoAnswer.callId),
        JSONField("cause", \CallNoAnswer.cause)
    )
}

extension CallFailed: JSONShaped {
    public static let shape = JSONShape(
        CallFailed.init(batchId:callId:reason:),
        JSONField("groupId", \CallFailed.batchId),
        JSONField("callId", \CallFailed.callId),
        JSONField("reason", \CallFailed.reason)
    )
}

extension CallCompleted: JSONShaped {
    public static let shape = JSONShape(
        CallCompleted.init(batchId:callId:endedBy:),
        JSONField("groupId", \CallCompleted.batchId),
        JSONField("callId", \CallCompleted.callId),
        JSONField("endedBy", \CallCompleted.endedBy)
    )
}

extension BatchCompleted: JSONShaped {
    public static let shape = JSONShape(
        BatchCompleted.init(batchId:result:winnerCallId:),
        JSONField("groupId", \BatchCompleted.batchId),
        JSONField("result", \BatchCompleted.result),
        JSONField("winnerCallId", \BatchCompleted.winnerCallId)
    )
}

extension BatchCancelled: JSONShaped {
    public static let shape = JSONShape(
        BatchCancelled.init(batchId:reason:releasedContactIds:),
        JSONField("groupId", \BatchCancelled.batchId),
        JSONField("reason", \BatchCancelled.reason),
        JSONField("releasedContactIds", \BatchCancelled.releasedContactIds)
    )
}

extension CallDispositioned: JSONShaped {
    public static let shape = JSONShape(
        CallDispositioned.init(batchId:callId:contactId:sessionId:outcome:notes:callbackAt:),
        JSONField("groupId", \CallDispositioned.batchId),
        JSONField("callId", \CallDispositioned.callId),
        JSONField("contactId", \CallDispositioned.contactId),
        JSONField("sessionId", \CallDispositioned.sessionId),
        JSONField("outcome", \CallDispositioned.outcome),
        JSONField("notes", \CallDispositioned.notes),
        JSONField("callbackAt", \CallDispositioned.callbackAt)
    )
}
