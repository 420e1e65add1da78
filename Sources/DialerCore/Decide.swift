import SwitchboardJSON
import SwitchboardBasics

/// `decide`: the dialer's rules. Given the state folded from the log, a command and the time it is
/// decided at, the events that record what happens — or the reason the command is refused. Pure: no
/// I/O, no clock (the time comes with the command), no randomness.
public func decide(_ command: Command, _ state: DialerState, at now: Timestamp) throws(DomainError) -> [DialerEvent] {
    try state.decide(command, at: now)
}

extension DialerState {
    /// Longest queue name and reason accepted, so one request cannot bloat the log.
    public static let maxTextLength = 200
    public static let maxAttemptsRange = 1...10

    /// `wallClockBehindMs`: how far the system clock is behind `now` (it stepped back and the event
    /// times run on from the last one); calling hours must then hold on both readings.
    public func decide(_ command: Command, at now: Timestamp, wallClockBehindMs: Int64 = 0) throws(DomainError) -> [DialerEvent] {
        let behind = wallClockBehindMs
        switch command {
        case .createQueue(let queueId, let name, let segment, let maxAttempts, let contacts, let retryDelayMs, let callingHours,
                          let compliance):
            guard queues[queueId] == nil else { throw .queueAlreadyExists(queueId) }
            try Self.validateName(name, field: "name")
            if let segment { try Self.validateName(segment, field: "segment") }
            guard Self.maxAttemptsRange.contains(maxAttempts) else {
                throw .invalidValue(field: "maxAttempts", message: "must be between 1 and 10, got \(maxAttempts)")
            }
            guard Queue.retryDelayRange.contains(retryDelayMs) else {
                throw .invalidValue(field: "retryDelayMs", message: "must be between 0 and 86400000 (24 h), got \(retryDelayMs)")
            }
            let violations = compliance.violations
            guard violations.isEmpty else { throw .invalidSettings(violations) }
            try Self.validateNewContacts(contacts, existing: [:])
            // Thresholds are written only when they differ from the defaults (older logs have none).
            let standard = QueueCompliance.standard
            var events: [DialerEvent] = [
                .queueCreated(.init(queueId: queueId, name: name, segment: segment, maxAttempts: maxAttempts,
                                    retryDelayMs: retryDelayMs, callingHours: callingHours,
                                    safeHarborMessage: compliance.safeHarborMessage,
                                    abandonWarnPercent: compliance.abandonWarnPercent == standard.abandonWarnPercent
                                        ? nil : compliance.abandonWarnPercent,
                                    abandonCapPercent: compliance.abandonCapPercent == standard.abandonCapPercent
                                        ? nil : compliance.abandonCapPercent))
            ]
            if !contacts.isEmpty { events.append(.contactsAdded(.init(queueId: queueId, contacts: contacts))) }
            return events

        case .addContacts(let queueId, let contacts):
            let queue = try queue(queueId)
            guard !contacts.isEmpty else { throw .invalidValue(field: "contacts", message: "must not be empty") }
            try Self.validateNewContacts(contacts, existing: queue.contacts)
            return [.contactsAdded(.init(queueId: queueId, contacts: contacts))]

        case .pauseQueue(let queueId):
            let queue = try workableQueue(queueId)
            return queue.pausedQueueWide ? [] : [.queuePaused(.init(queueId: queueId, reason: .requested, sessionId: nil))]

        case .resumeQueue(let queueId):
            let queue = try workableQueue(queueId)
            return queue.pausedQueueWide ? [.queueResumed(.init(queueId: queueId, sessionId: nil))] : []

        case .stopQueue(let queueId):
            let queue = try queue(queueId)
            guard queue.state != .stopped else { return [] }
            // Every session on it stops as its agent's stop would (conversations finish), then the queue.
            var events: [DialerEvent] = []
            for sessionId in queue.activeSessions.sorted() {
                guard let session = sessions[sessionId] else { continue }
                events += stopping(session, reason: .queueStopped, cancelReason: .queueStopped)
            }
            return events + [.queueStopped(.init(queueId: queueId, sessionId: nil))]

        case .failQueue(let queueId, let reason):
            let queue = try queue(queueId)
            try Self.validateText(reason, field: "reason")
            return queue.state == .error ? [] : [.queueErrored(.init(queueId: queueId, reason: reason))]

        case .startSession(let sessionId, let agentId, let queueId, let mode, let profile, let settings, let callerIds):
            guard sessions[sessionId] == nil else { throw .sessionAlreadyExists(sessionId) }
            try Self.validateAgentId(agentId)
            let queue = try queue(queueId)
            guard [.idle, .active, .paused].contains(queue.state) else { throw .queueNotWorkable(queueId, queue.state) }
            let violations = settings.violations
            guard violations.isEmpty else { throw .invalidSettings(violations) }
            guard !callerIds.isEmpty else {
                throw .invalidValue(field: "callerIds", message: "must name at least one caller ID")
            }
            if let busy = sessions.values.first(where: { $0.agentId == agentId && $0.state != .ended }) {
                throw .invalidTransition("agent \(agentId) is already working session \(busy.id)")
            }
            if sessions.values.contains(where: { $0.agentId == agentId && isTalking($0) }) { throw .agentOnCall(agentId) }
            return [.sessionStarted(.init(sessionId: sessionId, agentId: agentId, queueId: queueId, mode: mode,
                                          profile: profile, settings: settings, callerIds: callerIds))]

        case .changeSession(let sessionId, let mode, let patch):
            let session = try liveSession(sessionId)
            let settings = patch.map { session.settings.applying($0) } ?? session.settings
            let violations = settings.violations
            guard violations.isEmpty else { throw .invalidSettings(violations) }
            var events: [DialerEvent] = []
            if let mode, mode != session.mode { events.append(.sessionModeChanged(.init(sessionId: sessionId, mode: mode))) }
            if settings != session.settings {
                events.append(.sessionSettingsChanged(.init(sessionId: sessionId, settings: settings)))
            }
            return events

        case .pauseSession(let sessionId):
            let session = try liveSession(sessionId)
            guard session.state == .active else { return [] }
            return [.sessionPaused(.init(sessionId: sessionId, reason: .requested))] + placingNothingMore(session)

        case .resumeSession(let sessionId):
            let session = try liveSession(sessionId)
            return session.state == .paused ? [.sessionResumed(.init(sessionId: sessionId))] : []

        case .stopSession(let sessionId):
            let session = try liveSession(sessionId)
            return stopping(session, reason: .stopped, cancelReason: .sessionStopped)

        case .hangUp(let sessionId):
            // A session stopped during a conversation still hangs up its call.
            guard let session = sessions[sessionId] else { throw .sessionNotFound(sessionId) }
            guard let groupId = session.currentGroup, let group = groups[groupId], let winner = group.winner,
                group.call(winner)?.status == .inProgress
            else { throw .noConnectedCall(sessionId) }
            return Self.finishing(group, [.callCompleted(.init(groupId: groupId, callId: winner, endedBy: .agent))])

        case .startBatch(let sessionId, let groupId):
            return try startBatch(sessionId: sessionId, groupId: groupId, at: now, wallClockBehindMs: behind)

        case .cancelBatch(let groupId):
            // Terminate means "end the others": with a connected winner, the other calls end and the
            // conversation goes on; without one, every call ends and the agent's dialling pauses.
            let group = try group(groupId)
            guard !group.isEnded else { return [] }
            if let winner = group.winner, group.call(winner)?.status == .inProgress {
                let losers = group.liveCalls.filter { $0.id != winner }
                return Self.finishing(group, losers.map { .callTerminated(.init(groupId: groupId, callId: $0.id, reason: .lostRace)) })
            }
            let live = group.liveCalls
            var events: [DialerEvent] = live.map { .callTerminated(.init(groupId: groupId, callId: $0.id, reason: .cancelled)) }
            events.append(.batchCancelled(.init(groupId: groupId, reason: .requested, releasedContactIds: live.map(\.contactId))))
            if sessions[group.sessionId]?.state == .active {
                events.append(.sessionPaused(.init(sessionId: group.sessionId, reason: .batchCancelled)))
            }
            return events

        case .endLosingCalls(let groupId):
            let group = try group(groupId)
            guard let winner = group.winner else { throw .invalidTransition("group \(groupId) has no winner yet") }
            let losers = group.liveCalls.filter { $0.id != winner }
            guard !losers.isEmpty else { return [] }
            return Self.finishing(group, losers.map {
                .callTerminated(.init(groupId: groupId, callId: $0.id, reason: .lostRace))
            })

        case .placeCall(let groupId, let callId):
            let (group, call) = try liveCall(groupId, callId)
            guard !call.isPlaced else { throw .callAlreadyPlaced(callId) }
            // Nothing is ever placed once a batch has its winner.
            guard group.winner == nil else { throw .invalidTransition("group \(groupId) already has a winner") }
            // The rules hold when each staggered line is placed, not only when its batch formed: a
            // batch formed at 20:59:59 dials nobody at 21:00, and a number listed meanwhile is not rung.
            if let queue = queues[group.queueId], let contact = queue.contacts[call.contactId] {
                let refusal: TerminationReason? = doNotCall.contains(contact.phone) ? .doNotCall
                    : CallingHours.allows(CallingHours.zones(of: contact), queue.callingWindow, at: now, wallClockBehindMs: behind)
                        ? nil : .outsideCallingHours
                if let refusal {
                    return Self.finishing(group, [.callTerminated(.init(groupId: groupId, callId: callId, reason: refusal))])
                }
            }
            let attempts = queues[group.queueId]?.contacts[call.contactId]?.attempts ?? 0
            return [.callDialed(.init(groupId: groupId, callId: callId, contactId: call.contactId, to: call.to,
                                      callerId: call.callerId, attempt: attempts + 1))]

        case .recordRinging(let groupId, let callId):
            let (_, call) = try placedCall(groupId, callId)
            switch call.status {
            case .dialing: return [.callRinging(.init(groupId: groupId, callId: callId))]
            case .ringing: return []
            default: throw .invalidTransition("call \(callId) is \(call.status.rawValue), it cannot start ringing")
            }

        case .recordAnswer(let groupId, let callId, let answeredBy):
            let group = try group(groupId)
            guard let call = group.call(callId) else { throw .callNotFound(groupId, callId) }
            // The answer crossed our cancel or hang-up on its way to the carrier.
            guard call.isLive else { return try answerAfterEnd(call, of: group, answeredBy: answeredBy, at: now) }
            guard call.isPlaced else { throw .callNotPlaced(callId) }
            guard call.status != .inProgress else { throw .invalidTransition("call \(callId) was already answered") }
            let answered = DialerEvent.callAnswered(.init(groupId: groupId, callId: callId, answeredBy: answeredBy))
            if answeredBy == .machine {
                return Self.finishing(group, [answered, .callVoicemail(.init(groupId: groupId, callId: callId))])
            }
            if group.winner != nil {
                // At most one winner: a person who answers after that (or an `unknown` the policy would
                // have connected) is dropped — abandoned, and recorded with its cause.
                guard group.amdPolicy.accepts(answeredBy) else {
                    return Self.finishing(group, [answered, .callTerminated(.init(groupId: groupId, callId: callId, reason: .lostRace))])
                }
                return Self.finishing(group, [answered] + abandoning(call, of: group, answeredBy: answeredBy, cause: .afterWinner, at: now)
                    + [.callTerminated(.init(groupId: groupId, callId: callId, reason: .abandoned))])
            }
            if group.amdPolicy.accepts(answeredBy) {
                return [answered, .callConnected(.init(groupId: groupId, callId: callId, contactId: call.contactId,
                                                       agentId: group.agentId))]
            }
            return Self.finishing(group, [answered, .callTerminated(.init(groupId: groupId, callId: callId, reason: .amdPolicy))])

        case .recordNoAnswer(let groupId, let callId, let cause):
            let (group, call) = try placedCall(groupId, callId)
            guard call.status != .inProgress else { throw .invalidTransition("call \(callId) is connected") }
            return Self.finishing(group, [.callNoAnswer(.init(groupId: groupId, callId: callId, cause: cause))])

        case .recordFailure(let groupId, let callId, let reason):
            let (group, _) = try liveCall(groupId, callId)
            try Self.validateText(reason, field: "reason")
            return Self.finishing(group, [.callFailed(.init(groupId: groupId, callId: callId, reason: reason))])

        case .recordHangup(let groupId, let callId, let endedBy):
            let (group, call) = try placedCall(groupId, callId)
            guard call.status == .inProgress else { throw .callNotAnswered(callId) }
            return Self.finishing(group, [.callCompleted(.init(groupId: groupId, callId: callId, endedBy: endedBy))])

        case .issueToken, .revokeToken, .addCallerIds, .removeCallerId, .setQueueCallerIds, .assignAgent, .unassignAgent:
            return try decideAccess(command, at: now)

        case .addDoNotCall, .removeDoNotCall:
            return try decideDoNotCall(command)

        case .setQueueCompliance, .setOrganisationSafeHarbor, .recordSafeHarborStarted, .recordSafeHarborEnded:
            return try decideCompliance(command)

        case .recordDisposition(let sessionId, let callId, let outcome, let notes, let callbackAt):
            return try disposition(sessionId: sessionId, callId: callId, outcome: outcome, notes: notes,
                                   callbackAt: callbackAt, at: now)
        }
    }

    // MARK: - Starting a batch

    private func startBatch(sessionId: SessionID, groupId: GroupID, at now: Timestamp,
                            wallClockBehindMs behind: Int64) throws(DomainError) -> [DialerEvent] {
        let session = try liveSession(sessionId)
        guard session.state == .active else { throw .sessionPaused(sessionId) }
        if let wrapUp = session.wrapUp, wrapUp.endsAt.map({ now < $0 }) ?? true {
            throw .inWrapUp(sessionId, until: wrapUp.endsAt)
        }
        guard groups[groupId] == nil else { throw .groupAlreadyExists(groupId) }
        if let current = session.currentGroup { throw .batchInProgress(sessionId, current) }
        let queue = try queue(session.queueId)
        guard queue.state == .active else { throw .queueNotWorkable(queue.id, queue.state) }

        // Only contacts inside their calling hours now, wherever each one is.
        let inHours = { (contact: Contact) in
            CallingHours.allows(CallingHours.zones(of: contact), queue.callingWindow, at: now, wallClockBehindMs: behind)
                && !doNotCall.contains(contact.phone)
        }
        guard let head = queue.dialableContacts(limit: 1, at: now, where: inHours).first else {
            guard queue.liveGroups.isEmpty else { throw .nothingToDial(queue.id) }
            // Contacts that only wait — for their retry time or their calling hours — keep the queue open.
            let retry = queue.nextRetryAt(after: now), hours = queue.nextCallingHours(after: now, wallClockBehindMs: behind)
            if let hours, hours <= (retry ?? hours) {
                // Recorded once per wait (the first session to find it); the others are told when to look again.
                guard queue.waitingForHoursUntil != hours else { throw .waitingForCallingHours(queue.id, until: hours) }
                return [.queueWaitingForHours(.init(queueId: queue.id, sessionId: sessionId, until: hours,
                                                    contacts: queue.callingHoursCounts(at: now, wallClockBehindMs: behind).waiting))]
            }
            if let retry { throw .waitingForRetry(queue.id, until: retry) }
            // Nothing left to dial and nothing in flight: the queue is done, and so are its sessions.
            return [.queueCompleted(.init(queueId: queue.id))]
                + queue.activeSessions.sorted().map { .sessionEnded(.init(sessionId: $0, reason: .queueCompleted)) }
        }

        // The 3 % guard, at every batch start: the window may have rolled, or connects brought the rate down.
        let guardChange = queue.guardChange(at: now)
        let guardLevel = guardChange?.level ?? queue.guardLevel

        // VIP contacts in an ordinary queue are dialled in batches of their own, under the VIP profile.
        var batchIsVIP = false
        var separateVIPs = false
        if session.profile == .auto, !StrategyProfileRegistry.isVIP(queue.segment), !StrategyProfileRegistry.isVIP(queue.name) {
            batchIsVIP = StrategyProfileRegistry.isVIP(head.segment)
            separateVIPs = true
        }
        let pacing = queue.nextBatchPacing(choice: session.profile, mode: session.mode, settings: session.settings,
                                           batchIsVIP: batchIsVIP, guardLevel: guardLevel)
        let (profile, fanout, staggerMs) = (pacing.profile, pacing.lines, pacing.staggerMs)
        guard let pool = CallerIDPool(callerIds(for: queue, session: session)) else {
            throw .invalidValue(field: "callerIds", message: "must name at least one caller ID")
        }
        // Hours and the do-not-call list, checked as each batch forms: every line must still be inside
        // its person's hours when its stagger places it (the window is one stretch of the local day, so
        // inside at the first and the last placement is inside throughout). When the window closes
        // within the stagger, the batch is the one line that can be placed now.
        let lastPlacement = now.adding(milliseconds: Int64(max(fanout - 1, 0)) * staggerMs)
        let sameKind = { (contact: Contact) in !separateVIPs || StrategyProfileRegistry.isVIP(contact.segment) == batchIsVIP }
        let whole = queue.dialableContacts(limit: fanout, at: now) { contact in
            inHours(contact) && sameKind(contact)
                && CallingHours.allows(CallingHours.zones(of: contact), queue.callingWindow, at: lastPlacement, wallClockBehindMs: behind)
        }
        let candidates = whole.isEmpty ? queue.dialableContacts(limit: 1, at: now) { inHours($0) && sameKind($0) } : whole
        let calls = candidates.enumerated().map { index, contact in
            PlannedCall(callId: CallID("\(groupId.rawValue)-\(index + 1)"), contactId: contact.id, to: contact.phone,
                        callerId: pool.callerID(for: contact.phone), offsetMs: Int64(index) * staggerMs)
        }
        return (guardChange.map { [.abandonmentGuardChanged($0)] } ?? []) + [
            .batchStarted(.init(groupId: groupId, sessionId: sessionId, queueId: queue.id, agentId: session.agentId,
                                mode: session.mode, profile: profile.name, fanout: fanout, staggerMs: staggerMs,
                                amdPolicy: profile.amdPolicy, ringTimeoutMs: session.settings.ringTimeoutMs, calls: calls,
                                linesLimitedBy: pacing.limitedBy)),
            .profileSelected(.init(groupId: groupId, sessionId: sessionId, queueId: queue.id, profile: profile.name,
                                   reason: pacing.reason, dialedCalls: queue.fairDials, humanAnswers: queue.humanAnswers)),
        ]
    }

    // MARK: - After the conversation

    /// The longest notes a disposition keeps, and how far ahead a callback may be set.
    public static let maxNotesLength = 2000
    public static let maxCallbackAheadMs: Int64 = 366 * 86_400_000

    private func disposition(sessionId: SessionID, callId: CallID, outcome: DispositionOutcome, notes: String?,
                             callbackAt: Timestamp?, at now: Timestamp) throws(DomainError) -> [DialerEvent] {
        guard let session = sessions[sessionId] else { throw .sessionNotFound(sessionId) }
        // The call is one of the session's last batches' (the current one, or the one just ended).
        let candidates = [session.currentGroup, session.lastGroup].compactMap { $0 }.compactMap { groups[$0] }
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
        let recorded: DialerEvent = .callDispositioned(.init(groupId: group.id, callId: callId, contactId: call.contactId,
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
        if let groupId = session.currentGroup, let group = groups[groupId], !group.isEnded {
            if isTalking(session) {
                for call in group.liveCalls where call.id != group.winner {
                    events.append(.callTerminated(.init(groupId: groupId, callId: call.id, reason: .cancelled)))
                }
            } else {
                events += group.liveCalls.map { .callTerminated(.init(groupId: groupId, callId: $0.id, reason: .cancelled)) }
                events.append(.batchCancelled(.init(groupId: groupId, reason: cancelReason,
                                                    releasedContactIds: group.liveCalls.map(\.contactId))))
            }
        }
        return events + [.sessionEnded(.init(sessionId: session.id, reason: reason))]
    }

    /// A pause stops the current batch from placing its remaining staggered calls (placed ones ring on;
    /// when none was placed, the batch is cancelled and its contacts go back to the queue).
    func placingNothingMore(_ session: Session) -> [DialerEvent] {
        guard let groupId = session.currentGroup, let group = groups[groupId], !group.isEnded, group.winner == nil
        else { return [] }
        let unplaced = group.liveCalls.filter { !$0.isPlaced }
        guard !unplaced.isEmpty else { return [] }
        let ends: [DialerEvent] = unplaced.map { .callTerminated(.init(groupId: groupId, callId: $0.id, reason: .cancelled)) }
        guard unplaced.count == group.liveCalls.count else { return ends }
        return ends + [.batchCancelled(.init(groupId: groupId, reason: .requested, releasedContactIds: unplaced.map(\.contactId)))]
    }

    /// Whether the session's agent is connected to a contact right now.
    func isTalking(_ session: Session) -> Bool {
        guard let groupId = session.currentGroup, let group = groups[groupId], let winner = group.winner else { return false }
        return group.call(winner)?.status == .inProgress
    }

    // MARK: - Group completion

    /// `events` plus `batch.completed` when they end the group's last live call: a group ends when
    /// every call has ended.
    static func finishing(_ group: Group, _ events: [DialerEvent]) -> [DialerEvent] {
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
        return events + [.batchCompleted(.init(groupId: group.id, result: winner == nil ? .noAnswer : .connected,
                                               winnerCallId: winner))]
    }

    // MARK: - Lookups that fail with the right error

    func queue(_ id: QueueID) throws(DomainError) -> Queue {
        guard let queue = queues[id] else { throw .queueNotFound(id) }
        return queue
    }

    /// A session that has not ended (active or paused).
    func liveSession(_ id: SessionID) throws(DomainError) -> Session {
        guard let session = sessions[id] else { throw .sessionNotFound(id) }
        guard session.state != .ended else { throw .sessionEnded(id) }
        return session
    }

    /// A queue that sessions can work (not stopped, completed or errored).
    func workableQueue(_ id: QueueID) throws(DomainError) -> Queue {
        let queue = try queue(id)
        guard [.idle, .active, .paused].contains(queue.state) else { throw .queueNotWorkable(id, queue.state) }
        return queue
    }

    func group(_ id: GroupID) throws(DomainError) -> Group {
        guard let group = groups[id] else { throw .groupNotFound(id) }
        return group
    }

    /// A call that has not ended: no transition out of an ended call.
    func liveCall(_ groupId: GroupID, _ callId: CallID) throws(DomainError) -> (Group, Call) {
        let group = try group(groupId)
        guard let call = group.call(callId) else { throw .callNotFound(groupId, callId) }
        guard call.isLive else { throw .callEnded(callId, call.status) }
        return (group, call)
    }

    func placedCall(_ groupId: GroupID, _ callId: CallID) throws(DomainError) -> (Group, Call) {
        let (group, call) = try liveCall(groupId, callId)
        guard call.isPlaced else { throw .callNotPlaced(callId) }
        return (group, call)
    }

    /// Names and reasons: not blank, at most `maxTextLength` characters (Unicode scalars, as JSON
    /// Schema's `maxLength` counts them; "blank" uses JSON Schema's `\s`, so the API schema says the same).
    static func validateText(_ text: String, field: String) throws(DomainError) {
        guard !text.unicodeScalars.allSatisfy(isSchemaWhitespace) else {
            throw .invalidValue(field: field, message: "must not be empty")
        }
        guard text.unicodeScalars.count <= maxTextLength else {
            throw .invalidValue(field: field, message: "must be at most \(maxTextLength) characters")
        }
    }

    /// What people name and read back (queue names, segments, contact and agent ids, token labels):
    /// text without control characters (C0, DEL, C1) or bidirectional overrides and isolates — a NUL
    /// ends the name in C tools, a U+202E shows `evil.exe` as `exe.live` on a wall (issue 20, D19).
    /// `openapi.yaml`'s `Text` pattern says the same. Carriers' reasons stay as the carrier sent them.
    static func validateName(_ text: String, field: String) throws(DomainError) {
        try validateText(text, field: field)
        guard !text.unicodeScalars.contains(where: isControl) else {
            throw .invalidValue(field: field, message: "must not contain control characters or bidirectional overrides")
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// An agent's id: a name without a comma — the feed's `topics=` list is split on commas, so an
    /// agent `a,b` could never follow its own `agent:` topic (issue 20, D19).
    static func validateAgentId(_ agentId: AgentID) throws(DomainError) {
        try validateName(agentId.rawValue, field: "agentId")
        guard !agentId.rawValue.contains(",") else { throw .invalidValue(field: "agentId", message: "must not contain a comma") }
    }

    /// ECMAScript's `\s` (what a JSON Schema `pattern` means by white space).
    static func isSchemaWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: true
        default: false
        }
    }

    /// Contact ids and phone numbers are each accepted once per queue.
    static func validateNewContacts(_ contacts: [NewContact], existing: [ContactID: Contact]) throws(DomainError) {
        var seen = Set<ContactID>()
        var phones = Set(existing.values.map(\.phone))
        for contact in contacts {
            guard existing[contact.contactId] == nil, seen.insert(contact.contactId).inserted else {
                throw .duplicateContact(contact.contactId)
            }
            guard phones.insert(contact.phone).inserted else { throw .duplicatePhone(contact.phone) }
            try validateName(contact.contactId.rawValue, field: "contactId")
            if let zone = contact.timeZone, !CallingHours.isKnownZone(zone) {
                throw .invalidValue(field: "timeZone", message: "\(zone) is not an IANA time zone (e.g. America/Chicago)")
            }
        }
    }
}

/// What the dialer does next on its own after some events (a process manager's reactions).
public enum DialerPolicy {
    /// Winner-take-all: once a call is connected, every other call of its batch is ended.
    public static func followUps(after events: [DialerEvent]) -> [Command] {
        events.compactMap { event in
            if case .callConnected(let e) = event { .endLosingCalls(groupId: e.groupId) } else { nil }
        }
    }
}
