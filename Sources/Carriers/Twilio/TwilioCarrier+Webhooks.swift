import DialerCore
import DialerEngine
import Foundation
import Logging
import SwitchboardBasics

/// Twilio's webhooks: `POST /v1/carriers/twilio/calls/{batchId}/{callId}/{answer|status|amd}`. The
/// reference travels in the path, which the signature covers, so it cannot be altered.
extension TwilioCarrier {
    public func receive(_ webhook: CarrierWebhook) async -> CarrierWebhookReply {
        let arrived = ContinuousClock.now
        let isCall = webhook.path.count == 4 && webhook.path[0] == "calls" && ["answer", "status", "amd"].contains(webhook.path[3])
        let isAgent = webhook.path.count == 3 && webhook.path[0] == "agents" && ["answer", "status"].contains(webhook.path[2])
        guard isCall || isAgent else { return .error(404, code: "not-found", message: "no such Twilio webhook") }
        guard let fields = FormEncoding.decode(webhook.body) else {
            return .error(400, code: "bad-form", message: "the body is not a form (application/x-www-form-urlencoded)")
        }
        let url = callbacks.url(webhook.path)
        guard let given = webhook.headers["x-twilio-signature"], signature.isValid(given, url: url, parameters: fields) else {
            logger.warning("twilio: a webhook with a missing or wrong signature was refused", metadata: ["path": "\(webhook.path.joined(separator: "/"))"])
            return .forbidden
        }
        var parameters: [String: String] = [:]
        for (name, value) in fields where parameters[name] == nil { parameters[name] = value }
        if isAgent { return agentWebhook(SessionID(rawValue: webhook.path[1]), hook: webhook.path[2], parameters: parameters) }
        let reference = CallReference(batchId: BatchID(rawValue: webhook.path[1]), callId: CallID(rawValue: webhook.path[2]))
        let callSid = parameters["CallSid"] ?? ""
        guard isOurs(reference, callSid: callSid) else {
            logger.warning("twilio: a webhook for a call we do not know; hanging it up",
                           metadata: ["call": "\(reference)", "callSid": "\(callSid)", "status": "\(parameters["CallStatus"] ?? "")"])
            if webhook.path[3] == "answer" { return CarrierWebhookReply(status: 200, contentType: "text/xml", body: Array(TwiML.hangUp.utf8)) }
            if !callSid.isEmpty, !["completed", "busy", "no-answer", "failed", "canceled"].contains(parameters["CallStatus"] ?? "") {
                Task { _ = try? await http.send(post(account.callsURL(callSid), [("Status", "completed")])) }
            }
            return .accepted
        }
        let now = clock.now.millisecondsSinceEpoch
        switch webhook.path[3] {
        case "status":
            let status = parameters["CallStatus"] ?? ""
            guard let callReport = TwilioVocabulary.report(status: status, answeredBy: parameters["AnsweredBy"],
                                                       sipCode: parameters["SipResponseCode"], errorCode: parameters["ErrorCode"])
            else {
                if !["queued", "initiated"].contains(status) { logger.warning("twilio: an unknown CallStatus", metadata: ["status": "\(status)"]) }
                return .accepted
            }
            // Twilio fires a call's callbacks in order but delivers them apart: `SequenceNumber` names each.
            let id = parameters["SequenceNumber"].map { "\(callSid):status:\($0)" }
            report(reference, arrivedAt: arrived) { $0.take(callReport, id: id, nowMs: now) }
            return .accepted
        case "amd":
            guard let answeredBy = parameters["AnsweredBy"] else { return .accepted }
            report(reference, arrivedAt: arrived) { $0.take(.verdict(TwilioVocabulary.verdict(answeredBy)), id: "\(callSid):amd", nowMs: now) }
            return .accepted
        default:
            return await answered(reference, answeredBy: parameters["AnsweredBy"], url: url, arrivedAt: arrived)
        }
    }

    /// A webhook is for one of our calls: one we placed (its `CallSid` the one Twilio gave us, or not
    /// yet known), or one the log still had live when we started.
    func isOurs(_ reference: CallReference, callSid: String) -> Bool {
        state.withLock { state in
            guard let call = state.calls[reference] else { return false }
            guard let sid = call.sid else {
                // Twilio called back before its answer to our create arrived.
                if !callSid.isEmpty, call.create == .sending { state.bySid[callSid] = reference }
                return call.create == .sending
            }
            return sid == callSid
        }
    }

    /// Twilio fetches the answered call's instructions: the answer is reported (or held for its verdict),
    /// and the reply waits for the engine's decision — at most `hookWaitMs`, then "ask again".
    func answered(_ reference: CallReference, answeredBy: String?, url: String, arrivedAt: ContinuousClock.Instant) async -> CarrierWebhookReply {
        let hook = AnswerHook()
        let now = clock.now.millisecondsSinceEpoch
        // The hook is in place before the engine hears of the answer, so its decision cannot miss it.
        let (sink, outcomes, due, ready) = state.withLock {
            state -> ((any CarrierEventSink)?, [CallOutcome], Int64?, String?) in
            guard var call = state.calls[reference] else { return (nil, [], nil, TwiML.hangUp) }
            if let decision = call.decision { return (nil, [], nil, decision) }
            let outcomes = call.progress.take(.answered(answeredBy.map(TwilioVocabulary.verdict)), nowMs: now)
            if call.progress.phase != .ended { call.hook = hook }
            state.calls[reference] = call
            guard call.progress.phase != .ended else { return (state.sink, outcomes, nil, TwiML.hangUp) }
            return (state.sink, outcomes, call.progress.verdictDueAt, nil)
        }
        if outcomes.contains(where: { if case .answered = $0 { true } else { false } }) {
            decisions.answer(in: reference.batchId, arrivedAt: arrivedAt)
        }
        for outcome in outcomes { sink?.deliver(outcome.event(for: reference)) }
        if let due { armVerdictTimer(reference, at: due) }
        if let ready { return CarrierWebhookReply(status: 200, contentType: "text/xml", body: Array(ready.utf8)) }
        let wait = timing.hookWaitMs
        let timeout = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(wait))
            guard let self, !Task.isCancelled else { return }
            self.state.withLock { state in
                guard state.calls[reference]?.hook === hook else { return }
                state.calls[reference]?.hook = nil
                hook.fulfil(TwiML.askAgain(url))
            }
        }
        let reply = await hook.wait()
        timeout.cancel()
        return CarrierWebhookReply(status: 200, contentType: "text/xml", body: Array(reply.utf8))
    }
}
