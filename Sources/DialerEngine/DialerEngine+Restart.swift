import DialerCore
import EventStore
import Foundation
import CoreMetrics
import Synchronization
import WritePath
import SwitchboardJSON
import SwitchboardBasics

/// Whose sessions this engine works, and setting things right after a restart.
extension DialerEngine {
    // MARK: - Whose work

    /// Whether `action` concerns a session this engine works.
    func isMine(_ action: EngineAction) -> Bool {
        guard let drives else { return true }
        let session: SessionID? = switch action {
        case .decide(let command): command.batchId.flatMap { state.batches[$0]?.sessionId } ?? command.sessionId
        case .placeCall(let request): state.batches[request.reference.batchId]?.sessionId
        case .cancelCall(let r), .hangUpCall(let r), .bridge(let r, _), .playSafeHarbor(let r, _): state.batches[r.batchId]?.sessionId
        case .startTimer(.startBatch(let sessionId, _), _), .connectAgent(let sessionId, _, _, _), .disconnectAgent(let sessionId): sessionId
        case .startTimer(.placeCall(let r), _), .startTimer(.ringGuard(let r), _): state.batches[r.batchId]?.sessionId
        }
        guard let agent = session.flatMap({ state.sessions[$0]?.agentId }) else { return false }
        return drives(agent)
    }

    func isMine(session id: SessionID) -> Bool {
        guard let drives else { return true }
        return state.sessions[id].map { drives($0.agentId) } ?? false
    }

    // MARK: - Restart

    /// What was live when the engine stopped, set right: carrier calls the log does not know are hung
    /// up; placed calls the carrier no longer has end as failed (`engine-restart`); calls it still has
    /// go on, with their ring guards armed again; planned calls of a batch without a winner are placed
    /// as planned; sessions go on (or stay paused) as the log says, keeping their cooldown. Nothing is
    /// dialled twice: a call is placed only after its `call.dialed` is durable.
    func reconcile() {
        let now = clock.now
        let live = carrier.liveCalls()
        var known: Set<CallReference> = []
        // Sessions that were between batches; those with a live batch go on when it ends (below).
        let idle = state.sessions.values.filter { $0.state == .active && $0.currentBatch == nil && isMine(session: $0.id) }
            .sorted { $0.id < $1.id }
        for group in state.batches.values.sorted(by: { $0.id < $1.id }) where !group.isEnded {
            for call in group.calls where call.isLive && call.isPlaced {
                known.insert(CallReference(batchId: group.id, callId: call.id))
            }
            guard isMine(session: group.sessionId) else { continue }
            for call in group.calls where call.isLive {
                let reference = CallReference(batchId: group.id, callId: call.id)
                if let dialedAt = call.dialedAt {
                    if !live.contains(reference) {
                        decide(.recordFailure(batchId: group.id, callId: call.id, reason: "engine-restart"), at: now)
                    } else if call.status != .inProgress {
                        let guardAt = dialedAt.adding(milliseconds: group.ringTimeoutMs + EngineCore.ringGuardMs)
                        clock.schedule(.timer(.ringGuard(reference)), at: max(now, guardAt))
                    }
                } else if group.winner == nil {
                    clock.schedule(.timer(.placeCall(reference)),
                                   at: max(now, group.startedAt.adding(milliseconds: call.offsetMs)))
                }
            }
            if group.winner != nil, state.batches[group.id]?.isEnded == false {
                decide(.endLosingCalls(batchId: group.id), at: now)
            }
        }
        // A call the log does not know as live (it never recorded it, or recorded its end): hang up.
        for reference in live.subtracting(known).sorted(by: { $0.description < $1.description }) {
            guard state.batches[reference.batchId].map({ isMine(session: $0.sessionId) }) ?? true else { continue }
            carrier.hangUp(reference)
        }
        // Agents whose call the log says is up but the carrier no longer has: recorded as gone (the
        // session pauses; a resume calls them in again). Agents still being called in are called again.
        let liveAgents = carrier.liveAgents()
        for session in state.sessions.values.sorted(by: { $0.id < $1.id })
        where session.state != .ended && session.agentEndpoint != nil && isMine(session: session.id) {
            if session.agentLeg == .connected, !liveAgents.contains(session.id) {
                decide(.recordAgentDisconnected(sessionId: session.id, reason: "engine-restart"), at: now)
            } else if session.agentLeg == .connecting, session.state == .active, let call = EngineCore.callAgent(session) {
                execute([call], at: now)
            }
        }
        for session in idle { execute(EngineCore.nextBatch(of: session, now: now), at: now) }
    }
}
