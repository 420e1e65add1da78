import DialerCore
import DialerEngine
import Foundation
import Logging
import SwitchboardJSON

/// Telnyx's webhooks: every event of every call to `POST /v1/carriers/telnyx/events`; the call is named by
/// its `client_state`.
extension TelnyxCarrier {
    public func receive(_ webhook: CarrierWebhook) async -> CarrierWebhookReply {
        let arrived = ContinuousClock.now
        guard webhook.path == ["events"] else { return .error(404, code: "not-found", message: "no such Telnyx webhook") }
        let now = Int64(Date().timeIntervalSince1970)   // Telnyx stamps with the real time, whatever our clock's shift
        let verdict = signature.check(signature: webhook.headers["telnyx-signature-ed25519"],
                                      timestamp: webhook.headers["telnyx-timestamp"], body: webhook.body, now: now)
        guard verdict == .valid else {
            logger.warning("telnyx: a webhook with a bad signature was refused", metadata: ["why": "\(verdict)"])
            return .forbidden
        }
        guard let json = try? JSONParser.parse(webhook.body), let data = json["data"], let type = data["event_type"]?.stringValue,
            let payload = data["payload"]
        else { return .error(400, code: "bad-event", message: "not a Telnyx event (data.event_type, data.payload)") }
        let id = data["id"]?.stringValue
        let ccid = payload["call_control_id"]?.stringValue ?? ""
        switch payload["client_state"]?.stringValue.flatMap(TelnyxClientState.init(encoded:)) {
        case .agent(let session)?:
            agentEvent(session, type: type, id: id, ccid: ccid, payload: payload)
        case .contact(let reference)? where state.withLock({ $0.calls[reference] != nil }):
            contactEvent(reference, type: type, id: id, ccid: ccid, payload: payload, arrivedAt: arrived)
        default:
            logger.warning("telnyx: an event for a call we do not know; hanging it up", metadata: ["type": "\(type)", "callControlId": "\(ccid)"])
            if type != "call.hangup", !ccid.isEmpty { action(ccid, "hangup", [:]) }
        }
        return .accepted
    }

    func contactEvent(_ reference: CallReference, type: String, id: String?, ccid: String, payload: JSONValue,
                      arrivedAt arrived: ContinuousClock.Instant) {
        let now = clock.now.millisecondsSinceEpoch
        // A dial whose answer we never got is named by its first event.
        let fresh = state.withLock { state -> Bool in
            if state.calls[reference]?.ccid == nil, !ccid.isEmpty { state.calls[reference]?.ccid = ccid }
            guard let id else { return true }
            return state.calls[reference]?.seen.insert(id).inserted ?? false
        }
        guard fresh else { return }
        switch type {
        case "call.answered":
            // Our hang-up was on its way: Telnyx's hang-up ends an answered call, so the person was cut off.
            let cutOff = state.withLock { state -> (any CarrierEventSink)?? in
                guard let call = state.calls[reference], call.hungUp, !call.cutOffReported, call.progress.phase < .answered else { return .none }
                state.calls[reference]?.cutOffReported = true
                state.calls[reference]?.progress.endedByUs()
                return .some(state.sink)
            }
            if case .some(let sink) = cutOff { return sink?.deliver(.cutOff(reference, answeredBy: .unknown)) ?? () }
            report(reference, arrivedAt: arrived) { $0.take(.answered(nil), nowMs: now) }
        case "call.machine.detection.ended", "call.machine.premium.detection.ended":
            guard let result = payload["result"]?.stringValue else { return }
            report(reference, arrivedAt: arrived) { $0.take(.verdict(TelnyxVocabulary.verdict(result)), nowMs: now) }
        case "call.speak.started":
            report(reference) { $0.safeHarborStarted() }
        case "call.speak.ended":
            action(ccid, "hangup", [:])   // the message said: the call ends
        case "call.hangup":
            let cause = payload["hangup_cause"]?.stringValue ?? "unspecified"
            let answered = state.withLock { ($0.calls[reference]?.progress.phase ?? .placed) >= .answering }
            let ending: CallReport = answered
                ? .completed(cause == "time_limit" ? .carrier : .contact)
                : TelnyxVocabulary.unanswered(cause: cause, sipCause: payload["sip_hangup_cause"]?.stringValue)
            report(reference) { $0.take(ending, nowMs: now) }
        default:
            break   // call.initiated, call.bridged, call.playback.*: nothing the engine waits for
        }
    }

    func agentEvent(_ session: SessionID, type: String, id: String?, ccid: String, payload: JSONValue) {
        let (known, fresh) = state.withLock { state -> (Bool, Bool) in
            guard state.agents[session] != nil else { return (false, false) }
            if state.agents[session]?.ccid == nil, !ccid.isEmpty { state.agents[session]?.ccid = ccid }
            guard let id else { return (true, true) }
            return (true, state.agents[session]?.seen.insert(id).inserted ?? false)
        }
        guard known else {
            if type != "call.hangup", !ccid.isEmpty { action(ccid, "hangup", [:]) }
            return
        }
        guard fresh else { return }
        switch type {
        case "call.answered":
            let sink = state.withLock { state -> (any CarrierEventSink)? in
                guard let agent = state.agents[session], !agent.connected, !agent.ended else { return nil }
                state.agents[session]?.connected = true
                return state.sink
            }
            sink?.deliver(.agentConnected(session, carrierCallId: ccid))
        case "call.hangup":
            agentEnded(session, reason: "telnyx \(payload["hangup_cause"]?.stringValue ?? "hangup")")
        default:
            break
        }
    }
}
