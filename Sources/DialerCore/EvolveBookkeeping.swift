import SwitchboardJSON
import SwitchboardBasics

/// What the fold keeps in step as it goes: agents' activity, fair dials, queue states, calls and batches ending.
extension DialerState {
    /// The activity of each session the event concerns (a queue-wide event: every session on the queue).
    /// Replay runs this for every event: events that never change an activity return at once.
    mutating func refreshActivity(after event: DialerEvent, at time: Timestamp) {
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
        if let sessionId = named.sessionId ?? named.batchId.flatMap({ batches[$0]?.sessionId }) {
            refreshActivity(of: sessionId, at: time)
        } else if let queueId = named.queueId, let sessions = queues[queueId]?.activeSessions {
            for sessionId in sessions { refreshActivity(of: sessionId, at: time) }
        }
    }

    mutating func refreshActivity(of sessionId: SessionID, at time: Timestamp) {
        guard let session = sessions[sessionId] else { return }
        let activity = activity(of: session)
        guard activity != session.activity else { return }
        sessions[sessionId]?.activity = activity
        sessions[sessionId]?.activitySince = time
    }

    /// Talking beats everything (a stopped or paused agent still finishes the conversation); then the
    /// wrap-up; then lines ringing or being placed; then the session's own state.
    func activity(of session: Session) -> AgentActivity {
        let group = session.currentBatch.flatMap { batches[$0] }
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

    func retryDelay(of batchId: BatchID) -> Int64 {
        batches[batchId].flatMap { queues[$0.queueId]?.retryDelayMs } ?? Queue.defaultRetryDelayMs
    }

    mutating func countFairDial(_ batchId: BatchID) {
        if let queueId = batches[batchId]?.queueId { queues[queueId]?.fairDials += 1 }
    }

    /// A queue's state from its flags and its sessions: stopped and errored are final; then completed;
    /// then paused (queue-wide, or every session paused); active while a session dials it; else idle.
    mutating func refreshState(_ id: QueueID) {
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
    mutating func modifyCall(_ batchId: BatchID, _ callId: CallID, position: Int64,
                                     _ change: (inout Call, inout Contact) -> Void) {
        guard var group = batches.removeValue(forKey: batchId) else { return }
        defer { batches[batchId] = group }
        group.position = position
        guard let index = group.index(of: callId) else { return }
        let contactId = group.calls[index].contactId
        var contact = queues[group.queueId]?.contacts.removeValue(forKey: contactId)
            ?? Contact(NewContact(contactId: contactId, phone: group.calls[index].to))
        change(&group.calls[index], &contact)
        queues[group.queueId]?.contacts[contactId] = contact
    }

    mutating func endCall(_ batchId: BatchID, _ callId: CallID, status: CallStatus, reason: String,
                                  position: Int64, at time: Timestamp, _ change: (inout Call, inout Contact) -> Void) {
        var talkTime: Int64 = 0
        modifyCall(batchId, callId, position: position) { call, contact in
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
        if talkTime > 0, let sessionId = batches[batchId]?.sessionId { sessions[sessionId]?.talkTimeMs += talkTime }
    }

    mutating func endGroup(_ batchId: BatchID, position: Int64, at time: Timestamp, result: BatchResult?) {
        guard let group = batches[batchId] else { return }
        batches[batchId]?.endedAt = time
        batches[batchId]?.position = position
        queues[group.queueId]?.liveGroups.remove(batchId)
        if var session = sessions.removeValue(forKey: group.sessionId) {
            if session.currentBatch == batchId { session.currentBatch = nil }
            session.lastGroup = batchId
            session.lastBatchEndedAt = time
            session.lastBatchResult = result
            sessions[group.sessionId] = session
        }
    }
}
