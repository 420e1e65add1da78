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

    private mutating func fold(_ event: DialerEvent, position: Int64, at time: Timestamp) {
        switch event {
        case .queueCreated(let e):
            queues[e.queueId] = Queue(id: e.queueId, name: e.name, segment: e.segment, maxAttempts: e.maxAttempts,
                                      retryDelayMs: e.retryDelayMs ?? Queue.defaultRetryDelayMs)
            queues[e.queueId]?.callingWindow = e.callingHours ?? .legal
            queues[e.queueId]?.compliance = e.compliance
        case .contactsAdded(let e):
            modifyQueue(e.queueId) { queue in
                for new in e.contacts where queue.contacts[new.contactId] == nil {
                    queue.contactOrder.append(new.contactId)
                    queue.contacts[new.contactId] = Contact(new)
                }
                queue.isCompleted = false
            }
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
        case .sessionResumed(let e):
            guard let queueId = sessions[e.sessionId]?.queueId else { return }
            sessions[e.sessionId]?.state = .active
            refreshState(queueId)
        case .batchStarted(let e):
            var group = Group(e, reason: nil, at: time)
            group.position = position
            for index in group.calls.indices {
                guard let contact = queues[e.queueId]?.contacts[group.calls[index].contactId] else { continue }
                group.calls[index].contactName = contact.name
                group.calls[index].priorAttempts = contact.attempts
                group.calls[index].contactTimeZone = contact.timeZone
            }
            groups[e.groupId] = group
            modifyQueue(e.queueId) { queue in
                queue.liveGroups.insert(e.groupId)
                queue.waitingForHoursUntil = nil
                for call in e.calls { queue.contacts[call.contactId]?.liveCall = call.callId }
            }
            sessions[e.sessionId]?.currentGroup = e.groupId
            sessions[e.sessionId]?.batches += 1
            sessions[e.sessionId]?.wrapUp = nil  // a wrap-up that ran out
        case .profileSelected(let e):
            groups[e.groupId]?.profileReason = e.reason
            groups[e.groupId]?.position = position
        case .callDialed(let e):
            modifyCall(e.groupId, e.callId, position: position) { call, _ in call.dialedAt = time }
            if let queueId = groups[e.groupId]?.queueId { queues[queueId]?.dialedCalls += 1 }
            if let sessionId = groups[e.groupId]?.sessionId { sessions[sessionId]?.dials += 1 }
        case .callRinging(let e):
            modifyCall(e.groupId, e.callId, position: position) { call, _ in call.status = .ringing }
        case .callAnswered(let e):
            modifyCall(e.groupId, e.callId, position: position) { call, _ in
                call.answeredBy = e.answeredBy
                call.answeredAt = time
            }
            if let queueId = groups[e.groupId]?.queueId {
                queues[queueId]?.fairDials += 1
                switch e.answeredBy {
                case .human: queues[queueId]?.humanAnswers += 1
                case .machine: queues[queueId]?.machineAnswers += 1
                case .unknown: break
                }
            }
        case .callConnected(let e):
            groups[e.groupId]?.winner = e.callId
            modifyCall(e.groupId, e.callId, position: position) { call, contact in
                call.status = .inProgress
                call.outcome = .winner
                call.connectedAt = time
                contact.outcome = .winner
                contact.isSettled = true
            }
            if let sessionId = groups[e.groupId]?.sessionId { sessions[sessionId]?.connects += 1 }
        case .callTerminated(let e):
            endCall(e.groupId, e.callId, status: .terminated, reason: e.reason.rawValue, position: position, at: time) {
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
            endCall(e.groupId, e.callId, status: .voicemail, reason: "voicemail", position: position, at: time) {
                call, contact in
                call.outcome = .voicemail
                contact.attempts += 1
                contact.outcome = .voicemail
                contact.isSettled = true
            }
            if let sessionId = groups[e.groupId]?.sessionId { sessions[sessionId]?.voicemails += 1 }
        case .callNoAnswer(let e):
            let delay = retryDelay(of: e.groupId)
            endCall(e.groupId, e.callId, status: .completed, reason: e.cause.rawValue, position: position, at: time) {
                call, contact in
                call.outcome = .noAnswer
                contact.attempts += 1
                contact.outcome = .noAnswer
                contact.retryAt = time.adding(milliseconds: delay)
            }
            countFairDial(e.groupId)
        case .callFailed(let e):
            // A call the engine closed after a restart was not a fair try: no attempt, no retry delay.
            let fair = e.reason != "engine-restart"
            let delay = retryDelay(of: e.groupId)
            endCall(e.groupId, e.callId, status: .failed, reason: e.reason, position: position, at: time) {
                call, contact in
                call.outcome = .failed
                contact.outcome = .failed
                guard fair else { return }
                contact.attempts += 1
                contact.retryAt = time.adding(milliseconds: delay)
            }
            if fair { countFairDial(e.groupId) }
        case .callCompleted(let e):
            endCall(e.groupId, e.callId, status: .completed, reason: e.endedBy.rawValue, position: position, at: time) {
                _, contact in
                contact.attempts += 1
            }
        case .batchCompleted(let e):
            endGroup(e.groupId, position: position, at: time, result: e.result)
            // After a conversation, a session with a wrap-up gives its agent time to record what happened.
            if e.result == .connected, let winner = e.winnerCallId, let group = groups[e.groupId],
                group.disposition == nil, let settings = sessions[group.sessionId]?.settings, settings.hasWrapUp
            {
                let endsAt = settings.requireDisposition ? nil : time.adding(milliseconds: settings.wrapUpMs)
                sessions[group.sessionId]?.wrapUp = WrapUp(groupId: e.groupId, callId: winner, endsAt: endsAt)
            }
        case .batchCancelled(let e):
            groups[e.groupId]?.cancelled = true
            endGroup(e.groupId, position: position, at: time, result: nil)
        case .callDispositioned(let e):
            groups[e.groupId]?.disposition = e.outcome
            groups[e.groupId]?.position = position
            if sessions[e.sessionId]?.wrapUp?.callId == e.callId { sessions[e.sessionId]?.wrapUp = nil }
            if e.outcome == .callback, let callbackAt = e.callbackAt, let queueId = groups[e.groupId]?.queueId {
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

    /// The activity of each session the event concerns (a queue-wide event: every session on the queue).
    /// Replay runs this for every event: events that never change an activity return at once.
    private mutating func refreshActivity(after event: DialerEvent, at time: Timestamp) {
        switch event {
        case .queueCreated, .contactsAdded, .queueCompleted, .queueErrored, .profileSelected, .tokenIssued, .tokenRevoked,
             .callerIdsAdded, .callerIdRemoved, .queueCallerIdsSet, .agentAssigned, .agentUnassigned, .doNotCallAdded, .doNotCallRemoved,
             .callAbandoned, .safeHarborStarted, .safeHarborEnded, .abandonmentGuardChanged, .queueComplianceSet,
             .organisationSafeHarborSet, .queueWaitingForHours,
             // A batch starts dialling (batch.started said so); an answer is followed by its connect or its end.
             .callDialed, .callAnswered:
            return
        default:
            break
        }
        let named = event.subject
        if let sessionId = named.sessionId ?? named.groupId.flatMap({ groups[$0]?.sessionId }) {
            refreshActivity(of: sessionId, at: time)
        } else if let queueId = named.queueId, let sessions = queues[queueId]?.activeSessions {
            for sessionId in sessions { refreshActivity(of: sessionId, at: time) }
        }
    }

    private mutating func refreshActivity(of sessionId: SessionID, at time: Timestamp) {
        guard let session = sessions[sessionId] else { return }
        let activity = activity(of: session)
        guard activity != session.activity else { return }
        sessions[sessionId]?.activity = activity
        sessions[sessionId]?.activitySince = time
    }

    /// Talking beats everything (a stopped or paused agent still finishes the conversation); then the
    /// wrap-up; then lines ringing or being placed; then the session's own state.
    func activity(of session: Session) -> AgentActivity {
        let group = session.currentGroup.flatMap { groups[$0] }
        if let group, let winner = group.winner, group.call(winner)?.status == .inProgress { return .talking }
        if session.wrapUp != nil { return .wrapUp }
        if let group, !group.isEnded {
            if group.calls.contains(where: { $0.status == .ringing }) { return .ringing }
            let placing = group.calls.contains { $0.status == .dialing && ($0.isPlaced || session.state == .active) }
            if placing { return .dialling }
        }
        switch session.state {
        case .active: return .idle
        case .paused: return .paused
        case .ended: return .ended
        }
    }

    private func retryDelay(of groupId: GroupID) -> Int64 {
        groups[groupId].flatMap { queues[$0.queueId]?.retryDelayMs } ?? Queue.defaultRetryDelayMs
    }

    private mutating func countFairDial(_ groupId: GroupID) {
        if let queueId = groups[groupId]?.queueId { queues[queueId]?.fairDials += 1 }
    }

    /// A queue's state from its flags and its sessions: stopped and errored are final; then completed;
    /// then paused (queue-wide, or every session paused); active while a session dials it; else idle.
    private mutating func refreshState(_ id: QueueID) {
        guard let queue = queues[id], queue.state != .stopped, queue.state != .error else { return }
        let states = queue.activeSessions.compactMap { sessions[$0]?.state }
        let state: QueueState
        if queue.isCompleted {
            state = .completed
        } else if queue.pausedQueueWide {
            state = .paused
        } else if states.contains(.active) {
            state = .active
        } else if states.contains(.paused) {
            state = .paused
        } else {
            state = .idle
        }
        if state != queue.state { queues[id]?.state = state }
    }

    mutating func modifyQueue(_ id: QueueID, _ change: (inout Queue) -> Void) {
        guard var queue = queues.removeValue(forKey: id) else { return }
        change(&queue)
        queues[id] = queue
    }

    /// Changes one call and its contact together; unknown ids are ignored (decide never emits them).
    private mutating func modifyCall(_ groupId: GroupID, _ callId: CallID, position: Int64,
                                     _ change: (inout Call, inout Contact) -> Void) {
        guard var group = groups.removeValue(forKey: groupId) else { return }
        defer { groups[groupId] = group }
        group.position = position
        guard let index = group.index(of: callId) else { return }
        let contactId = group.calls[index].contactId
        var contact = queues[group.queueId]?.contacts.removeValue(forKey: contactId)
            ?? Contact(NewContact(contactId: contactId, phone: group.calls[index].to))
        change(&group.calls[index], &contact)
        queues[group.queueId]?.contacts[contactId] = contact
    }

    private mutating func endCall(_ groupId: GroupID, _ callId: CallID, status: CallStatus, reason: String,
                                  position: Int64, at time: Timestamp, _ change: (inout Call, inout Contact) -> Void) {
        var talkTime: Int64 = 0
        modifyCall(groupId, callId, position: position) { call, contact in
            call.status = status
            call.endedAt = time
            call.endReason = reason
            contact.liveCall = nil
            // A cancelled batch gives its contacts back as they were (they come first again); any other
            // placed call makes the contact no longer fresh, even one cut short by a winner.
            if call.isPlaced, reason != TerminationReason.cancelled.rawValue { contact.dials += 1 }
            if let connectedAt = call.connectedAt { talkTime = time.milliseconds(since: connectedAt) }
            change(&call, &contact)
            if contact.isDoNotCall { contact.outcome = .doNotCall }  // listed while this call was live
        }
        if talkTime > 0, let sessionId = groups[groupId]?.sessionId { sessions[sessionId]?.talkTimeMs += talkTime }
    }

    private mutating func endGroup(_ groupId: GroupID, position: Int64, at time: Timestamp, result: BatchResult?) {
        guard let group = groups[groupId] else { return }
        groups[groupId]?.endedAt = time
        groups[groupId]?.position = position
        queues[group.queueId]?.liveGroups.remove(groupId)
        if var session = sessions.removeValue(forKey: group.sessionId) {
            if session.currentGroup == groupId { session.currentGroup = nil }
            session.lastGroup = groupId
            session.lastBatchEndedAt = time
            session.lastBatchResult = result
            sessions[group.sessionId] = session
        }
    }
}
