import DialerCore
import SwitchboardJSON
import SwitchboardBasics

/// What the engine does in the world.
public enum EngineAction: Hashable, Sendable {
    /// Decide a follow-up command. It is queued behind inputs already due at this instant, so carrier
    /// events that arrived together are all recorded before the engine's reaction (a real cancel takes time).
    case decide(Command)
    case placeCall(PlaceCallRequest)
    case cancelCall(CallReference)
    case hangUpCall(CallReference)
    case bridge(CallReference, AgentID)
    case playSafeHarbor(CallReference, message: String)
    /// Call the agent into the session's room (a real carrier), and end that call.
    case connectAgent(SessionID, AgentID, endpoint: String, callerId: PhoneNumber)
    case disconnectAgent(SessionID)
    case startTimer(EngineTimer, at: Timestamp)
}

/// Requests an agent or supervisor makes about a session; the engine turns them into commands on
/// whatever the session is doing at that moment.
public enum SessionRequest: Hashable, Sendable {
    case cancel, pause, resume, stop, hangUp
    /// A new mode and/or settings, all or nothing.
    case change(mode: CallingMode?, settings: SettingsPatch?)

    public static func setMode(_ mode: CallingMode) -> SessionRequest { .change(mode: mode, settings: nil) }
    public static func setSettings(_ patch: SettingsPatch) -> SessionRequest { .change(mode: nil, settings: patch) }
}

/// The dialer engine's rules: a pure process manager. Inputs (carrier events, timers) become commands;
/// recorded events become actions. No I/O, no clock: `now` is passed in.
public enum EngineCore {
    /// Extra time past the ring timeout before the engine gives up on a carrier that never reported.
    public static let ringGuardMs: Int64 = 5000
    /// How soon a session that found nothing to dial (contacts in other agents' batches) looks again.
    public static let retryWhenStarvedMs: Int64 = 1000

    /// The command a carrier event asks for, if any.
    public static func command(for event: CarrierEvent, in state: DialerState) -> Command? {
        switch event {
        case .agentConnected(let sessionId, let carrierCallId):
            return .recordAgentConnected(sessionId: sessionId, carrierCallId: carrierCallId)
        case .agentDisconnected(let sessionId, let reason):
            return .recordAgentDisconnected(sessionId: sessionId, reason: reason)
        default: break
        }
        guard let r = event.reference else { return nil }
        switch event {
        case .agentConnected, .agentDisconnected: return nil
        case .accepted(_, let carrier, let id): return .recordCarrierCall(batchId: r.batchId, callId: r.callId, carrier: carrier, carrierCallId: id)
        case .ringing: return .recordRinging(batchId: r.batchId, callId: r.callId)
        case .answered(_, let answeredBy): return .recordAnswer(batchId: r.batchId, callId: r.callId, answeredBy: answeredBy)
        case .cutOff(_, let answeredBy): return .recordCutOff(batchId: r.batchId, callId: r.callId, answeredBy: answeredBy)
        case .noAnswer: return .recordNoAnswer(batchId: r.batchId, callId: r.callId, cause: .timeout)
        case .busy: return .recordNoAnswer(batchId: r.batchId, callId: r.callId, cause: .busy)
        case .failed(_, let reason): return .recordFailure(batchId: r.batchId, callId: r.callId, reason: reason)
        case .safeHarborStarted: return .recordSafeHarborStarted(batchId: r.batchId, callId: r.callId)
        case .safeHarborEnded: return .recordSafeHarborEnded(batchId: r.batchId, callId: r.callId)
        case .completed(_, let endedBy):
            // Only a connected call completes; a call we ended ourselves is already recorded.
            guard state.batches[r.batchId]?.call(r.callId)?.status == .inProgress else { return nil }
            return .recordHangup(batchId: r.batchId, callId: r.callId, endedBy: endedBy)
        }
    }

    /// What to do when a command is refused by the domain because its call has already ended.
    public static func actionsForRefused(_ command: Command, error: DomainError) -> [EngineAction] {
        // A call we had already ended was answered by a machine (or an answer our policy would not
        // connect): hang up. (A person is abandoned instead: `call.abandoned` says what they hear.)
        if case .recordAnswer(let batchId, let callId, _) = command, case .callEnded = error {
            return [.hangUpCall(CallReference(batchId: batchId, callId: callId))]
        }
        return []
    }

    /// What a timer asks for. `newGroupId` names the batch a `startBatch` timer would start.
    public static func actions(for timer: EngineTimer, in state: DialerState, minimumStaggerMs: Int64 = 0,
                               newGroupId: () -> BatchID) -> [EngineAction] {
        switch timer {
        case .placeCall(let r):
            guard let call = state.batches[r.batchId]?.call(r.callId), call.isLive, !call.isPlaced else { return [] }
            return [.decide(.placeCall(batchId: r.batchId, callId: r.callId))]
        case .startBatch(let sessionId, let after):
            guard let session = state.sessions[sessionId], session.state == .active, session.currentBatch == nil,
                session.lastGroup == after, state.queues[session.queueId]?.state == .active
            else { return [] }
            return [.decide(.startBatch(sessionId: sessionId, batchId: newGroupId(), minimumStaggerMs: minimumStaggerMs))]
        case .ringGuard(let r):
            guard let call = state.batches[r.batchId]?.call(r.callId), call.isLive, call.status != .inProgress else { return [] }
            return [.cancelCall(r), .decide(.recordNoAnswer(batchId: r.batchId, callId: r.callId, cause: .timeout))]
        }
    }

    /// The command a session request stands for, on the session's current state.
    public static func command(for request: SessionRequest, session sessionId: SessionID, in state: DialerState)
        -> Result<Command, DomainError>
    {
        guard let session = state.sessions[sessionId] else { return .failure(.sessionNotFound(sessionId)) }
        switch request {
        case .cancel:
            guard let group = session.currentBatch else {
                return .failure(.invalidTransition("session \(sessionId) has no batch in progress"))
            }
            return .success(.cancelBatch(batchId: group))
        case .pause: return .success(.pauseSession(sessionId: sessionId))
        case .resume: return .success(.resumeSession(sessionId: sessionId))
        case .stop: return .success(.stopSession(sessionId: sessionId))
        case .hangUp: return .success(.hangUp(sessionId: sessionId))
        case .change(let mode, let patch): return .success(.changeSession(sessionId: sessionId, mode: mode, patch: patch))
        }
    }

    /// The actions recorded events call for. `state` already includes the events.
    public static func reactions(to events: [DialerEvent], in state: DialerState, now: Timestamp) -> [EngineAction] {
        var actions: [EngineAction] = []
        for event in events {
            switch event {
            case .sessionStarted(let e):
                // With a real carrier the agent is called in first; the first batch waits for their call.
                if let session = state.sessions[e.sessionId], let call = callAgent(session) {
                    actions.append(call)
                } else {
                    actions.append(.startTimer(.startBatch(e.sessionId, after: nil), at: now))
                }
            case .sessionAgentConnected(let e):
                if let session = state.sessions[e.sessionId] { actions += nextBatch(of: session, now: now) }
            case .sessionEnded(let e):
                if state.sessions[e.sessionId]?.agentEndpoint != nil { actions.append(.disconnectAgent(e.sessionId)) }
            case .sessionResumed(let e):
                guard let session = state.sessions[e.sessionId] else { continue }
                if let call = callAgent(session) { actions.append(call) } else { actions += nextBatch(of: session, now: now) }
            case .callDispositioned(let e):
                // The wrap-up is over: the next batch may start.
                if let session = state.sessions[e.sessionId] { actions += nextBatch(of: session, now: now) }
            case .queueResumed(let e):
                for sessionId in (state.queues[e.queueId]?.activeSessions ?? []).sorted() {
                    if let session = state.sessions[sessionId] { actions += nextBatch(of: session, now: now) }
                }
            case .batchStarted(let e):
                for call in e.calls {
                    actions.append(.startTimer(.placeCall(CallReference(batchId: e.batchId, callId: call.callId)),
                                               at: now.adding(milliseconds: call.offsetMs)))
                }
            case .callDialed(let e):
                let reference = CallReference(batchId: e.batchId, callId: e.callId)
                guard let group = state.batches[e.batchId] else { continue }
                let script = state.queues[group.queueId]?.contacts[e.contactId]?.script
                actions.append(.placeCall(PlaceCallRequest(reference: reference, queueId: group.queueId, to: e.to,
                                                           from: e.callerId, ringTimeoutMs: group.ringTimeoutMs,
                                                           script: script)))
                actions.append(.startTimer(.ringGuard(reference),
                                           at: now.adding(milliseconds: group.ringTimeoutMs + ringGuardMs)))
            case .callConnected(let e):
                actions.append(.bridge(CallReference(batchId: e.batchId, callId: e.callId), e.agentId))
                actions.append(.decide(.endLosingCalls(batchId: e.batchId)))
            case .queueWaitingForHours(let e):
                // Everyone left waits for their hours: the session looks again at the earliest opening.
                if let session = state.sessions[e.sessionId], session.currentBatch == nil {
                    actions.append(.startTimer(.startBatch(e.sessionId, after: session.lastGroup), at: e.until))
                }
            case .callAbandoned(let e):
                // The person hears the safe-harbor message and is hung up on; without one, just hung up.
                let reference = CallReference(batchId: e.batchId, callId: e.callId)
                switch (e.safeHarbor, e.message) {
                case (.requested, let message?): actions.append(.playSafeHarbor(reference, message: message))
                case (.cutOff, _): break  // the call is already over
                default: actions.append(.hangUpCall(reference))
                }
            case .callTerminated(let e):
                guard e.reason != .abandoned else { continue }  // call.abandoned, just before, said what to do
                guard let call = state.batches[e.batchId]?.call(e.callId), call.isPlaced else { continue }
                let reference = CallReference(batchId: e.batchId, callId: e.callId)
                // A ringing call is cancelled; an answered one is hung up.
                actions.append(call.answeredBy == nil ? .cancelCall(reference) : .hangUpCall(reference))
            case .callVoicemail(let e):
                actions.append(.hangUpCall(CallReference(batchId: e.batchId, callId: e.callId)))
            case .callCompleted(let e) where e.endedBy == .agent:
                actions.append(.hangUpCall(CallReference(batchId: e.batchId, callId: e.callId)))
            case .batchCompleted(let e):
                guard let group = state.batches[e.batchId], let session = state.sessions[group.sessionId] else { continue }
                actions += nextBatch(of: session, now: now)
            default:
                break
            }
        }
        return actions
    }

    /// Calling the agent in, when the session has an endpoint and the agent's call is not up.
    static func callAgent(_ session: Session) -> EngineAction? {
        guard let endpoint = session.agentEndpoint, session.agentLeg != .connected, let callerId = session.callerIds.first else { return nil }
        return .connectAgent(session.id, session.agentId, endpoint: endpoint, callerId: callerId)
    }

    /// The timer for a dialling session's next batch, when `Session.nextBatch` says it is due (never
    /// before now; none while a disposition is awaited).
    public static func nextBatch(of session: Session, now: Timestamp) -> [EngineAction] {
        guard let next = session.nextBatch, let due = next.at else { return [] }
        return [.startTimer(.startBatch(session.id, after: session.lastGroup), at: max(now, due))]
    }

    /// What to do when a `startBatch` is refused because every dialable contact is in someone's batch.
    public static func retryAfterStarved(_ sessionId: SessionID, in state: DialerState, now: Timestamp) -> [EngineAction] {
        guard let session = state.sessions[sessionId] else { return [] }
        let wait = max(session.settings.cooldownMs, retryWhenStarvedMs)
        return [.startTimer(.startBatch(sessionId, after: session.lastGroup), at: now.adding(milliseconds: wait))]
    }
}
