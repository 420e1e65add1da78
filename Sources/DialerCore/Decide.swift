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

        case .startSession(let sessionId, let agentId, let queueId, let mode, let profile, let settings, let callerIds, let agentEndpoint):
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
            if let agentEndpoint, let problem = Self.agentEndpointProblem(agentEndpoint) {
                throw .invalidValue(field: "agentEndpoint", message: problem)
            }
            return [.sessionStarted(.init(sessionId: sessionId, agentId: agentId, queueId: queueId, mode: mode,
                                          profile: profile, settings: settings, callerIds: callerIds, agentEndpoint: agentEndpoint))]

        case .recordAgentConnected(let sessionId, let carrierCallId):
            let session = try liveSession(sessionId)
            guard session.agentEndpoint != nil else { throw .invalidTransition("session \(sessionId) calls no agent endpoint") }
            guard session.agentLeg != .connected else { return [] }
            return [.sessionAgentConnected(.init(sessionId: sessionId, carrierCallId: carrierCallId))]

        case .recordAgentDisconnected(let sessionId, let reason):
            guard let session = sessions[sessionId], session.agentEndpoint != nil, session.agentLeg != .disconnected else { return [] }
            var events: [DialerEvent] = [.sessionAgentDisconnected(.init(sessionId: sessionId, reason: reason))]
            // Nothing more is dialled for an agent who cannot take the call: a batch still ringing ends,
            // and the session pauses until the agent resumes (which calls them in again).
            if session.state == .active {
                if let batchId = session.currentBatch, let group = batches[batchId], !group.isEnded, group.winner == nil {
                    events += group.liveCalls.map { .callTerminated(.init(batchId: batchId, callId: $0.id, reason: .cancelled)) }
                    events.append(.batchCancelled(.init(batchId: batchId, reason: .agentDisconnected,
                                                        releasedContactIds: group.liveCalls.map(\.contactId))))
                }
                events.append(.sessionPaused(.init(sessionId: sessionId, reason: .agentDisconnected)))
            }
            return events

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
            guard let batchId = session.currentBatch, let group = batches[batchId], let winner = group.winner,
                group.call(winner)?.status == .inProgress
            else { throw .noConnectedCall(sessionId) }
            return Self.finishing(group, [.callCompleted(.init(batchId: batchId, callId: winner, endedBy: .agent))])

        case .startBatch(let sessionId, let batchId, let minimumStaggerMs):
            return try startBatch(sessionId: sessionId, batchId: batchId, minimumStaggerMs: minimumStaggerMs, at: now,
                                  wallClockBehindMs: behind)

        case .cancelBatch(let batchId):
            // Terminate means "end the others": with a connected winner, the other calls end and the
            // conversation goes on; without one, every call ends and the agent's dialling pauses.
            let group = try group(batchId)
            guard !group.isEnded else { return [] }
            if let winner = group.winner, group.call(winner)?.status == .inProgress {
                let losers = group.liveCalls.filter { $0.id != winner }
                return Self.finishing(group, losers.map { .callTerminated(.init(batchId: batchId, callId: $0.id, reason: .lostRace)) })
            }
            let live = group.liveCalls
            var events: [DialerEvent] = live.map { .callTerminated(.init(batchId: batchId, callId: $0.id, reason: .cancelled)) }
            events.append(.batchCancelled(.init(batchId: batchId, reason: .requested, releasedContactIds: live.map(\.contactId))))
            if sessions[group.sessionId]?.state == .active {
                events.append(.sessionPaused(.init(sessionId: group.sessionId, reason: .batchCancelled)))
            }
            return events

        case .endLosingCalls(let batchId):
            let group = try group(batchId)
            guard let winner = group.winner else { throw .invalidTransition("group \(batchId) has no winner yet") }
            let losers = group.liveCalls.filter { $0.id != winner }
            guard !losers.isEmpty else { return [] }
            return Self.finishing(group, losers.map {
                .callTerminated(.init(batchId: batchId, callId: $0.id, reason: .lostRace))
            })

        case .placeCall(let batchId, let callId):
            let (group, call) = try liveCall(batchId, callId)
            guard !call.isPlaced else { throw .callAlreadyPlaced(callId) }
            // Nothing is ever placed once a batch has its winner.
            guard group.winner == nil else { throw .invalidTransition("group \(batchId) already has a winner") }
            // The rules hold when each staggered line is placed, not only when its batch formed: a
            // batch formed at 20:59:59 dials nobody at 21:00, and a number listed meanwhile is not rung.
            if let queue = queues[group.queueId], let contact = queue.contacts[call.contactId] {
                let refusal: TerminationReason? = doNotCall.contains(contact.phone) ? .doNotCall
                    : CallingHours.allows(CallingHours.zones(of: contact), queue.callingWindow, at: now, wallClockBehindMs: behind)
                        ? nil : .outsideCallingHours
                if let refusal {
                    return Self.finishing(group, [.callTerminated(.init(batchId: batchId, callId: callId, reason: refusal))])
                }
            }
            let attempts = queues[group.queueId]?.contacts[call.contactId]?.attempts ?? 0
            return [.callDialed(.init(batchId: batchId, callId: callId, contactId: call.contactId, to: call.to,
                                      callerId: call.callerId, attempt: attempts + 1))]

        case .recordRinging(let batchId, let callId):
            let (_, call) = try placedCall(batchId, callId)
            switch call.status {
            case .dialing: return [.callRinging(.init(batchId: batchId, callId: callId))]
            case .ringing: return []
            default: throw .invalidTransition("call \(callId) is \(call.status.rawValue), it cannot start ringing")
            }

        case .recordCarrierCall(let batchId, let callId, let carrier, let carrierCallId):
            // Recorded even when the call has ended meanwhile: the carrier's records still name it.
            let (_, call) = try placedCall(batchId, callId)
            guard call.carrierCallId != carrierCallId else { return [] }
            guard call.carrierCallId == nil else {
                throw .invalidTransition("call \(callId) is already \(carrier) call \(call.carrierCallId ?? "")")
            }
            return [.callCarrierAssigned(.init(batchId: batchId, callId: callId, carrier: carrier, carrierCallId: carrierCallId))]

        case .recordCutOff(let batchId, let callId, let answeredBy):
            let group = try group(batchId)
            guard let call = group.call(callId) else { throw .callNotFound(batchId, callId) }
            return try cutOff(call, of: group, answeredBy: answeredBy, at: now)

        case .recordAnswer(let batchId, let callId, let answeredBy):
            let group = try group(batchId)
            guard let call = group.call(callId) else { throw .callNotFound(batchId, callId) }
            // The answer crossed our cancel or hang-up on its way to the carrier.
            guard call.isLive else { return try answerAfterEnd(call, of: group, answeredBy: answeredBy, at: now) }
            guard call.isPlaced else { throw .callNotPlaced(callId) }
            guard call.status != .inProgress else { throw .invalidTransition("call \(callId) was already answered") }
            let answered = DialerEvent.callAnswered(.init(batchId: batchId, callId: callId, answeredBy: answeredBy))
            if answeredBy == .machine {
                return Self.finishing(group, [answered, .callVoicemail(.init(batchId: batchId, callId: callId))])
            }
            if group.winner != nil {
                // At most one winner: a person who answers after that (or an `unknown` the policy would
                // have connected) is dropped — abandoned, and recorded with its cause.
                guard group.amdPolicy.accepts(answeredBy) else {
                    return Self.finishing(group, [answered, .callTerminated(.init(batchId: batchId, callId: callId, reason: .lostRace))])
                }
                return Self.finishing(group, [answered] + abandoning(call, of: group, answeredBy: answeredBy, cause: .afterWinner, at: now)
                    + [.callTerminated(.init(batchId: batchId, callId: callId, reason: .abandoned))])
            }
            if group.amdPolicy.accepts(answeredBy) {
                return [answered, .callConnected(.init(batchId: batchId, callId: callId, contactId: call.contactId,
                                                       agentId: group.agentId))]
            }
            return Self.finishing(group, [answered, .callTerminated(.init(batchId: batchId, callId: callId, reason: .amdPolicy))])

        case .recordNoAnswer(let batchId, let callId, let cause):
            let (group, call) = try placedCall(batchId, callId)
            guard call.status != .inProgress else { throw .invalidTransition("call \(callId) is connected") }
            return Self.finishing(group, [.callNoAnswer(.init(batchId: batchId, callId: callId, cause: cause))])

        case .recordFailure(let batchId, let callId, let reason):
            let (group, _) = try liveCall(batchId, callId)
            try Self.validateText(reason, field: "reason")
            return Self.finishing(group, [.callFailed(.init(batchId: batchId, callId: callId, reason: reason))])

        case .recordHangup(let batchId, let callId, let endedBy):
            let (group, call) = try placedCall(batchId, callId)
            guard call.status == .inProgress else { throw .callNotAnswered(callId) }
            return Self.finishing(group, [.callCompleted(.init(batchId: batchId, callId: callId, endedBy: endedBy))])

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
}
