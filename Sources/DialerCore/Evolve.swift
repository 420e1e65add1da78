import SwitchboardJSON
import SwitchboardBasics

/// `evolve`: how each event changes the projections. A pure fold; replaying the log through it
/// rebuilds every queue, session and group exactly.
extension DialerState {
    public static func evolve(_ state: DialerState, _ event: DialerEvent, position: Int64, at time: Timestamp) -> DialerState {
        var next = state
        next.apply(event, position: position, at: time)
        return next
    }

    public mutating func apply(_ event: DialerEvent, position: Int64, at time: Timestamp) {
        self.position = position
        fold(event, position: position, at: time)
        foldAccess(event, at: time)
        foldDoNotCall(event)
        foldCompliance(event, position: position, at: time)
        refreshActivity(after: event, at: time)
    }

    mutating func fold(_ event: DialerEvent, position: Int64, at time: Timestamp) {
        switch event {
        case .queueCreated(let e):
            queues[e.queueId] = Queue(id: e.queueId, name: e.name, segment: e.segment, maxAttempts: e.maxAttempts,
                                      retryDelayMs: e.retryDelayMs ?? Queue.defaultRetryDelayMs)
            queues[e.queueId]?.callingWindow = e.callingHours ?? .legal
            queues[e.queueId]?.compliance = e.compliance
        case .contactsAdded(let e):
            var added: [NewContact] = []
            modifyQueue(e.queueId) { queue in
                for new in e.contacts where queue.contacts[new.contactId] == nil {
                    queue.contactOrder.append(new.contactId)
                    queue.contacts[new.contactId] = Contact(new)
                    added.append(new)
                }
                queue.isCompleted = false
            }
            for new in added { contactsByPhone[new.phone, default: []].append(ContactAddress(queueId: e.queueId, contactId: new.contactId)) }
            refreshState(e.queueId)
        case .queuePaused(let e):
            modifyQueue(e.queueId) { $0.pausedQueueWide = true }
            refreshState(e.queueId)
        case .queueResumed(let e):
            modifyQueue(e.queueId) { $0.pausedQueueWide = false }
            refreshState(e.queueId)
        case .queueCompleted(let e):
            modifyQueue(e.queueId) { $0.isCompleted = true }
            refreshState(e.queueId)
        case .queueStopped(let e):
            modifyQueue(e.queueId) { $0.state = .stopped }
        case .queueErrored(let e):
            modifyQueue(e.queueId) { queue in
                queue.state = .error
                queue.errorReason = e.reason
            }
        case .sessionStarted(let e):
            sessions[e.sessionId] = Session(e, at: time)
            modifyQueue(e.queueId) { $0.activeSessions.insert(e.sessionId) }
            refreshState(e.queueId)
        case .sessionModeChanged(let e):
            sessions[e.sessionId]?.mode = e.mode
        case .sessionSettingsChanged(let e):
            sessions[e.sessionId]?.settings = e.settings
        case .sessionEnded(let e):
            guard let queueId = sessions[e.sessionId]?.queueId else { return }
            sessions[e.sessionId]?.state = .ended
            sessions[e.sessionId]?.endReason = e.reason
            sessions[e.sessionId]?.endedAt = time
            modifyQueue(queueId) { $0.activeSessions.remove(e.sessionId) }
            refreshState(queueId)
        case .sessionPaused(let e):
            guard let queueId = sessions[e.sessionId]?.queueId else { return }
            sessions[e.sessionId]?.state = .paused
            refreshState(queueId)
        case .sessionAgentConnected(let e):
            sessions[e.sessionId]?.agentLeg = .connected
            sessions[e.sessionId]?.agentLegCallId = e.carrierCallId
        case .sessionAgentDisconnected(let e):
            sessions[e.sessionId]?.agentLeg = .disconnected
            sessions[e.sessionId]?.agentLegCallId = nil
        case .sessionResumed(let e):
            guard let queueId = sessions[e.sessionId]?.queueId else { return }
            sessions[e.sessionId]?.state = .active
            refreshState(queueId)
        case .batchStarted(let e):
            var group = Batch(e, reason: nil, at: time)
            group.position = position
            for index in group.calls.indices {
                guard let contact = queues[e.queueId]?.contacts[group.calls[index].contactId] else { continue }
                group.calls[index].contactName = contact.name
                group.calls[index].priorAttempts = contact.attempts
                group.calls[index].contactTimeZone = contact.timeZone
            }
            batches[e.batchId] = group
            modifyQueue(e.queueId) { queue in
                queue.liveGroups.insert(e.batchId)
                queue.waitingForHoursUntil = nil
                for call in e.calls { queue.contacts[call.contactId]?.liveCall = call.callId }
            }
            sessions[e.sessionId]?.currentBatch = e.batchId
            sessions[e.sessionId]?.batches += 1
            sessions[e.sessionId]?.wrapUp = nil  // a wrap-up that ran out
        case .profileSelected(let e):
            batches[e.batchId]?.profileReason = e.reason
            batches[e.batchId]?.position = position
        case .callDialed(let e):
            modifyCall(e.batchId, e.callId, position: position) { call, _ in call.dialedAt = time }
            if let queueId = batches[e.batchId]?.queueId { queues[queueId]?.dialedCalls += 1 }
            if let sessionId = batches[e.batchId]?.sessionId { sessions[sessionId]?.dials += 1 }
        case .callRinging(let e):
            modifyCall(e.batchId, e.callId, position: position) { call, _ in call.status = .ringing }
        case .callCarrierAssigned(let e):
            modifyCall(e.batchId, e.callId, position: position) { call, _ in call.carrierCallId = e.carrierCallId }
        case .callAnswered(let e):
            modifyCall(e.batchId, e.callId, position: position) { call, _ in
                call.answeredBy = e.answeredBy
                call.answeredAt = time
            }
            if let queueId = batches[e.batchId]?.queueId {
                queues[queueId]?.fairDials += 1
                switch e.answeredBy {
                case .human: queues[queueId]?.humanAnswers += 1
                case .machine: queues[queueId]?.machineAnswers += 1
                case .unknown: break
                }
            }
        case .callConnected(let e):
            batches[e.batchId]?.winner = e.callId
            modifyCall(e.batchId, e.callId, position: position) { call, contact in
                call.status = .inProgress
                call.outcome = .winner
                call.connectedAt = time
                contact.outcome = .winner
                contact.isSettled = true
            }
            if let sessionId = batches[e.batchId]?.sessionId { sessions[sessionId]?.connects += 1 }
        case .callTerminated(let e):
            endCall(e.batchId, e.callId, status: .terminated, reason: e.reason.rawValue, position: position, at: time) {
                call, contact in
                switch e.reason {
                case .cancelled:
                    guard call.outcome != .winner else { return }
                    call.outcome = .terminated
                    if !contact.isSettled { contact.outcome = .pending }
                case .outsideCallingHours, .doNotCall:
                    // Never placed: the contact waits for its hours (or stays listed), untried.
                    call.outcome = .terminated
                    if !contact.isSettled { contact.outcome = .pending }
                case .lostRace:
                    // Cut short by the winner: not a fair try, so not an attempt (an answered call,
                    // which ends otherwise, is one).
                    call.outcome = .terminated
                    if call.isPlaced { contact.outcome = .terminated }
                case .amdPolicy:
                    call.outcome = .terminated
                    contact.attempts += 1
                    contact.outcome = .terminated
                case .abandoned:
                    call.outcome = .terminated  // call.abandoned, just before, counted and settled it
                }
            }
        case .callVoicemail(let e):
            endCall(e.batchId, e.callId, status: .voicemail, reason: "voicemail", position: position, at: time) {
                call, contact in
                call.outcome = .voicemail
                contact.attempts += 1
                contact.outcome = .voicemail
                contact.isSettled = true
            }
            if let sessionId = batches[e.batchId]?.sessionId { sessions[sessionId]?.voicemails += 1 }
        case .callNoAnswer(let e):
            let delay = retryDelay(of: e.batchId)
            endCall(e.batchId, e.callId, status: .completed, reason: e.cause.rawValue, position: position, at: time) {
                call, contact in
                call.outcome = .noAnswer
                contact.attempts += 1
                contact.outcome = .noAnswer
                contact.retryAt = time.adding(milliseconds: delay)
            }
            countFairDial(e.batchId)
        case .callFailed(let e):
            // A call the engine closed after a restart was not a fair try: no attempt, no retry delay.
            let fair = e.reason != "engine-restart"
            let delay = retryDelay(of: e.batchId)
            endCall(e.batchId, e.callId, status: .failed, reason: e.reason, position: position, at: time) {
                call, contact in
                call.outcome = .failed
                contact.outcome = .failed
                guard fair else { return }
                contact.attempts += 1
                contact.retryAt = time.adding(milliseconds: delay)
            }
            if fair { countFairDial(e.batchId) }
        case .callCompleted(let e):
            endCall(e.batchId, e.callId, status: .completed, reason: e.endedBy.rawValue, position: position, at: time) {
                _, contact in
                contact.attempts += 1
            }
        case .batchCompleted(let e):
            endGroup(e.batchId, position: position, at: time, result: e.result)
            // After a conversation, a session with a wrap-up gives its agent time to record what happened.
            if e.result == .connected, let winner = e.winnerCallId, let group = batches[e.batchId],
                group.disposition == nil, let settings = sessions[group.sessionId]?.settings, settings.hasWrapUp
            {
                let endsAt = settings.requireDisposition ? nil : time.adding(milliseconds: settings.wrapUpMs)
                sessions[group.sessionId]?.wrapUp = WrapUp(batchId: e.batchId, callId: winner, endsAt: endsAt)
            }
        case .batchCancelled(let e):
            batches[e.batchId]?.cancelled = true
            endGroup(e.batchId, position: position, at: time, result: nil)
        case .callDispositioned(let e):
            batches[e.batchId]?.disposition = e.outcome
            batches[e.batchId]?.position = position
            if sessions[e.sessionId]?.wrapUp?.callId == e.callId { sessions[e.sessionId]?.wrapUp = nil }
            if e.outcome == .callback, let callbackAt = e.callbackAt, let queueId = batches[e.batchId]?.queueId {
                // A callback: the contact is dialable again at the time asked for, not before.
                modifyQueue(queueId) { queue in
                    queue.contacts[e.contactId]?.isSettled = false
                    queue.contacts[e.contactId]?.attempts = 0
                    queue.contacts[e.contactId]?.outcome = .pending
                    queue.contacts[e.contactId]?.retryAt = callbackAt
                    queue.isCompleted = false
                }
                refreshState(queueId)
            }
        case .tokenIssued, .tokenRevoked, .callerIdsAdded, .callerIdRemoved, .queueCallerIdsSet, .agentAssigned, .agentUnassigned:
            break  // foldAccess
        case .doNotCallAdded, .doNotCallRemoved:
            break  // foldDoNotCall
        case .callAbandoned, .safeHarborStarted, .safeHarborEnded, .abandonmentGuardChanged, .queueComplianceSet,
             .organisationSafeHarborSet:
            break  // foldCompliance
        case .queueWaitingForHours(let e):
            queues[e.queueId]?.waitingForHoursUntil = e.until
        }
    }
}
