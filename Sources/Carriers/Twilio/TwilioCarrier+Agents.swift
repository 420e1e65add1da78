import DialerCore
import DialerEngine
import Foundation
import Logging
import SwitchboardJSON

/// The agent's own call: placed to the agent's endpoint when the session starts (or resumes), answered
/// into the agent's room — the conference winners are bridged into — with `maxParticipants="2"`, so a
/// second answer can never join a conversation. The room ends when the agent leaves it.
extension TwilioCarrier {
    struct AgentLeg {
        var agent: AgentID
        var sid: String?
        /// We ended it (the session ended): its last callback tells the engine nothing new.
        var endedByUs = false
        var connected = false
        var ended = false
        var seen: Set<String> = []
    }

    public func connectAgent(_ session: SessionID, agent: AgentID, endpoint: String, callerId: PhoneNumber) {
        let segments = ["agents", session.rawValue]
        let fields: [(name: String, value: String)] = [
            ("To", endpoint), ("From", callerId.e164),
            ("Url", callbacks.url(segments + ["answer"])), ("Method", "POST"),
            ("StatusCallback", callbacks.url(segments + ["status"])), ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"), ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"), ("StatusCallbackEvent", "completed"),
            ("Timeout", "30"),
        ]
        let now = clock.now.millisecondsSinceEpoch
        let slot = state.withLock { state in
            state.agents[session] = AgentLeg(agent: agent)
            return state.pacer.reserve(nowMs: now)
        }
        let placedAt = Self.wallClockMs()
        later(at: slot) { carrier in Task { await carrier.createAgentCall(session, fields: fields, placedAt: placedAt) } }
    }

    /// The agent's create, with the contacts' rules: 429 waits for the pacer and goes again; an answer that
    /// never came (or a 5xx) is looked for in the account's calls before the agent counts as unreachable.
    func createAgentCall(_ session: SessionID, fields: [(name: String, value: String)], placedAt: Int64) async {
        var failure: String
        do throws(CarrierHTTPError) {
            let response = try await http.send(post(account.callsURL(), fields))
            if (200..<300).contains(response.status), let sid = (try? JSONParser.parse(response.body))?["sid"]?.stringValue {
                state.withLock { state in
                    state.pacer.accepted()
                    state.agents[session]?.sid = sid
                    state.agentBySid[sid] = session
                }
                return
            }
            if response.status == 429 {
                let now = clock.now.millisecondsSinceEpoch
                let retryAfter = response.headers["retry-after"].flatMap(Int64.init).map { $0 * 1000 }
                let slot = state.withLock { state in
                    state.refusals += 1
                    state.pacer.refused(nowMs: now, retryAfterMs: retryAfter)
                    return state.pacer.reserve(nowMs: now)
                }
                later(at: slot) { carrier in Task { await carrier.createAgentCall(session, fields: fields, placedAt: placedAt) } }
                return
            }
            failure = TwilioVocabulary.failure(status: response.status, body: response.body)
            guard response.status >= 500 else { return agentEnded(session, reason: failure) }
        } catch {
            failure = "twilio: the agent's call could not be placed (\(error))"
        }
        // Maybe placed: look before giving up, as for a contact's call.
        let to = fields.first { $0.name == "To" }?.value ?? ""
        let from = fields.first { $0.name == "From" }?.value ?? ""
        let sid = await placedCall(to: to, from: from, since: placedAt) { sid in
            self.state.withLock { $0.agentBySid[sid] == nil || $0.agentBySid[sid] == session }
        }
        guard let sid else { return agentEnded(session, reason: failure) }
        state.withLock { state in
            state.agents[session]?.sid = sid
            state.agentBySid[sid] = session
        }
    }

    public func disconnectAgent(_ session: SessionID) {
        let sid = state.withLock { state -> String? in
            state.agents[session]?.endedByUs = true
            state.liveAgents.remove(session)
            return state.agents[session]?.sid
        }
        guard let sid else { return }
        Task { _ = try? await http.send(post(account.callsURL(sid), [("Status", "completed")])) }
    }

    public func liveAgents() -> Set<SessionID> { state.withLock { $0.liveAgents } }

    /// The agent's call ended or never came up: the engine hears it once (not when we ended it).
    func agentEnded(_ session: SessionID, reason: String) {
        let (sink, tell) = state.withLock { state -> ((any CarrierEventSink)?, Bool) in
            guard let call = state.agents[session], !call.ended else { return (nil, false) }
            state.agents[session]?.ended = true
            state.liveAgents.remove(session)
            return (state.sink, !call.endedByUs)
        }
        if tell { sink?.deliver(.agentDisconnected(session, reason: reason)) }
    }

    func agentUp(_ session: SessionID, sid: String) {
        let sink = state.withLock { state -> (any CarrierEventSink)? in
            guard let call = state.agents[session], !call.connected, !call.ended else { return nil }
            state.agents[session]?.connected = true
            state.agents[session]?.sid = sid
            state.agentBySid[sid] = session
            return state.sink
        }
        sink?.deliver(.agentConnected(session, carrierCallId: sid))
    }

    /// `POST …/agents/{sessionId}/answer|status`, signature already checked.
    func agentWebhook(_ session: SessionID, hook: String, parameters: [String: String]) -> CarrierWebhookReply {
        let callSid = parameters["CallSid"] ?? ""
        let agent = state.withLock { state -> AgentID? in
            guard let call = state.agents[session], call.sid == nil || call.sid == callSid else { return nil }
            return call.agent
        }
        guard let agent else {
            logger.warning("twilio: a webhook for an agent's call we do not know; hanging it up", metadata: ["session": "\(session)"])
            if hook == "answer" { return CarrierWebhookReply(status: 200, contentType: "text/xml", body: Array(TwiML.hangUp.utf8)) }
            return .accepted
        }
        if hook == "answer" {
            agentUp(session, sid: callSid)
            return CarrierWebhookReply(status: 200, contentType: "text/xml", body: Array(TwiML.agentJoins(agentRoom(agent)).utf8))
        }
        let status = parameters["CallStatus"] ?? ""
        let id = "\(callSid):\(parameters["SequenceNumber"] ?? status)"
        let fresh = state.withLock { $0.agents[session]?.seen.insert(id).inserted ?? false }
        guard fresh else { return .accepted }
        switch status {
        case "in-progress": agentUp(session, sid: callSid)
        case "completed", "busy", "no-answer", "failed", "canceled": agentEnded(session, reason: "twilio \(status)")
        default: break
        }
        return .accepted
    }
}
