import SwitchboardJSON
import SwitchboardBasics

/// Every fact the dialer records. Past tense; one case per stored event type.
///
/// The Swift names are free to change; the stored names are `EventType`'s raw values, and the stored
/// shapes are the `EventSchemas/` files, which only change together with the event's version.
public enum DialerEvent: Hashable, Sendable {
    // Queues
    case queueCreated(QueueCreated)
    case contactsAdded(ContactsAdded)
    case queuePaused(QueuePaused)
    case queueResumed(QueueResumed)
    case queueCompleted(QueueCompleted)
    case queueStopped(QueueStopped)
    case queueErrored(QueueErrored)
    // Sessions
    case sessionStarted(SessionStarted)
    case sessionModeChanged(SessionModeChanged)
    case sessionSettingsChanged(SessionSettingsChanged)
    case sessionEnded(SessionEnded)
    case sessionPaused(SessionPaused)
    case sessionResumed(SessionResumed)
    case sessionAgentConnected(SessionAgentConnected)
    case sessionAgentDisconnected(SessionAgentDisconnected)
    // Parallel batches and their calls
    case profileSelected(ProfileSelected)
    case batchStarted(BatchStarted)
    case callDialed(CallDialed)
    case callRinging(CallRinging)
    case callCarrierAssigned(CallCarrierAssigned)
    case callAnswered(CallAnswered)
    case callConnected(CallConnected)
    case callTerminated(CallTerminated)
    case callVoicemail(CallVoicemail)
    case callNoAnswer(CallNoAnswer)
    case callFailed(CallFailed)
    case callCompleted(CallCompleted)
    case batchCompleted(BatchCompleted)
    case batchCancelled(BatchCancelled)
    // After the conversation
    case callDispositioned(CallDispositioned)

    // Access and caller IDs (Access.swift)
    case tokenIssued(TokenIssued)
    case tokenRevoked(TokenRevoked)
    case callerIdsAdded(CallerIdsAdded)
    case callerIdRemoved(CallerIdRemoved)
    case queueCallerIdsSet(QueueCallerIdsSet)
    case agentAssigned(QueueAgentAssigned)
    case agentUnassigned(QueueAgentUnassigned)
    // The do-not-call list (DoNotCall.swift)
    case doNotCallAdded(DoNotCallAdded)
    case doNotCallRemoved(DoNotCallRemoved)
    // Abandonment, the guard and the safe-harbor message (Abandonment.swift)
    case callAbandoned(CallAbandoned)
    case safeHarborStarted(SafeHarborStarted)
    case safeHarborEnded(SafeHarborEnded)
    case abandonmentGuardChanged(AbandonmentGuardChanged)
    case queueComplianceSet(QueueComplianceSet)
    case organisationSafeHarborSet(OrganisationSafeHarborSet)
    // Calling hours (CallingHours.swift)
    case queueWaitingForHours(QueueWaitingForHours)
}
