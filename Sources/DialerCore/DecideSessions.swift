import SwitchboardJSON
import SwitchboardBasics

/// What ends a conversation, a session or a batch.
extension DialerState {
    // MARK: - After the conversation

    /// The longest notes a disposition keeps, and how far ahead a callback may be set.
    public static let maxNotesLength = 2000
    public static let maxCallbackAheadMs: Int64 = 366 * 86_400_000

    func disposition(sessionId: SessionID, callId: CallID, outcome: DispositionOutcome, notes: String?,
                             callbackAt: Timestamp?, at now: Timestamp) throws(DomainError) -> [DialerEvent] {
        guard let session = sessions[sessionId] else { throw .sessionNotFound(sessionId) }
        // The call is one of the session's last batches' (the current one, or the one just ended).
        let candidates = [session.currentBatch, session.lastGroup].compactMap { $0 }.compactMap { batches[$0] }
        guard let group = candidates.first(where: { $0.call(callId) != nil }), let call = group.call(callId) else {
            throw .invalidTransition("call \(callId) is not the winner of session \(sessionId)'s current or last batch")
        }
        guard group.winner == callId, call.connectedAt != nil else {
            throw .invalidTransition("call \(callId) was not connected to the agent")
        }
        guard group.disposition == nil else { throw .invalidTransition("call \(callId) already has a disposition") }
        if let notes, notes.unicodeScalars.count > Self.maxNotesLength {
            throw .invalidValue(field: "notes", message: "must be at most \(Self.maxNotesLength) characters")
        }
        switch (outcome, callbackAt) {
        case (.callback, nil):
            throw .invalidValue(field: "callbackAt", message: "is required for a callback")
        case (.callback, let at?):
            guard at > now, at.milliseconds(since: now) <= Self.maxCallbackAheadMs else {
                throw .invalidValue(field: "callbackAt", message: "must be in the future and within a year")
            }
        case (_, _?):
            throw .invalidValue(field: "callbackAt", message: "is only for a callback")
        case (_, nil):
            break
        }
        let recorded: DialerEvent = .callDispositioned(.init(batchId: group.id, callId: callId, contactId: call.contactId,
                                                             sessionId: sessionId, outcome: outcome, notes: notes,
                                                             callbackAt: callbackAt))
        // "Do not call me": the number goes on the organisation's list at once.
        guard outcome == .doNotCall, !doNotCall.contains(call.to) else { return [recorded] }
        return [recorded, .doNotCallAdded(.init(phones: [call.to], source: .disposition))]
    }

    // MARK: - Sessions

    /// What stopping `session` records: its batch ends unless its agent is talking (the conversation
    /// finishes; hanging up still works), then the session ends. The queue goes on for the others.
    func stopping(_ session: Session, reason: SessionEndReason, cancelReason: CancelReason) -> [DialerEvent] {
        var events: [DialerEvent] = []
        if let batchId = session.currentBatch, let group = batches[batchId], !group.isEnded {
            if isTalking(session) {
                for call in group.liveCalls where call.id != group.winner {
                    events.append(.callTerminated(.init(batchId: batchId, callId: call.id, reason: .cancelled)))
                }
            } else {
                events += group.liveCalls.map { .callTerminated(.init(batchId: batchId, callId: $0.id, reason: .cancelled)) }
                events.append(.batchCancelled(.init(batchId: batchId, reason: cancelReason,
                                                    releasedContactIds: group.liveCalls.map(\.contactId))))
            }
        }
        return events + [.sessionEnded(.init(sessionId: session.id, reason: reason))]
    }

    /// A pause stops the current batch from placing its remaining staggered calls (placed ones ring on;
    /// when none was placed, the batch is cancelled and its contacts go back to the queue).
    func placingNothingMore(_ session: Session) -> [DialerEvent] {
        guard let batchId = session.currentBatch, let group = batches[batchId], !group.isEnded, group.winner == nil
        else { return [] }
        let unplaced = group.liveCalls.filter { !$0.isPlaced }
        guard !unplaced.isEmpty else { return [] }
        let ends: [DialerEvent] = unplaced.map { .callTerminated(.init(batchId: batchId, callId: $0.id, reason: .cancelled)) }
        guard unplaced.count == group.liveCalls.count else { return ends }
        return ends + [.batchCancelled(.init(batchId: batchId, reason: .requested, releasedContactIds: unplaced.map(\.contactId)))]
    }

    /// Whether the session's agent is connected to a contact right now.
    func isTalking(_ session: Session) -> Bool {
        guard let batchId = session.currentBatch, let group = batches[batchId], let winner = group.winner else { return false }
        return group.call(winner)?.status == .inProgress
    }

    // MARK: - Batch completion

    /// `events` plus `batch.completed` when they end the group's last live call: a group ends when
    /// every call has ended.
    static func finishing(_ group: Batch, _ events: [DialerEvent]) -> [DialerEvent] {
        var live = Set(group.liveCalls.map(\.id))
        var winner = group.winner
        for event in events {
            switch event {
            case .callConnected(let e): winner = e.callId
            case .callTerminated(let e): live.remove(e.callId)
            case .callVoicemail(let e): live.remove(e.callId)
            case .callNoAnswer(let e): live.remove(e.callId)
            case .callFailed(let e): live.remove(e.callId)
            case .callCompleted(let e): live.remove(e.callId)
            default: break
            }
        }
        guard live.isEmpty, !group.isEnded else { return events }
        return events + [.batchCompleted(.init(batchId: group.id, result: winner == nil ? .noAnswer : .connected,
                                               winnerCallId: winner))]
    }
}
