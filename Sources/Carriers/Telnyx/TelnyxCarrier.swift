import DialerCore
import DialerEngine
import Foundation
import Logging
import Synchronization
import SwitchboardBasics
import SwitchboardJSON
import WritePath

/// Telnyx Call Control v2 behind `CarrierAdapter`.
///
/// - **Placing** (`POST /calls`): `connection_id`, `to`, `from`, `timeout_secs`, AMD (`detect`) when the
///   batch wants it, `client_state` carrying our reference, `command_id` from our call id — Telnyx ignores
///   a repeated `command_id` for 60 s, so a create without an answer is simply sent once more.
/// - **Losers**: Telnyx has only `actions/hangup`, a CANCEL before the answer and a BYE after. A person
///   who answers as it lands is cut off: reported `cutOff`, recorded as abandoned `raced-hangup`.
/// - **The winner** is bridged to the agent's own call (`actions/bridge` on the agent's leg with
///   `prevent_double_bridge` and `park_after_unbridge: self`, so the agent stays when the contact leaves).
/// - **Safe harbor**: `actions/speak`, then `actions/hangup` on `call.speak.ended`.
/// - **Webhooks** (`POST /v1/carriers/telnyx/events`): Ed25519 over `timestamp|body`, five minutes'
///   tolerance on the system clock; reports go through `CallProgress` (duplicates by `data.id`).
public final class TelnyxCarrier<Clock: EngineClock>: CarrierAdapter, CarrierWebhooks, CarrierPacingReporting, ProgressReporting {
    public let name = "telnyx"
    public let signatureHeaders = ["telnyx-signature-ed25519", "telnyx-timestamp"]

    let account: TelnyxAccount
    let eventsURL: String
    let clock: Clock
    let timing: CarrierTiming
    let http: CarrierHTTPClient
    let signature: TelnyxSignature
    let logger: Logger
    let state: Mutex<State>
    /// Answer → bridge and answer → cancel, as they leave.
    public let decisions: DecisionTimes

    struct State {
        var sink: (any CarrierEventSink)?
        var calls: [CallReference: Call] = [:]
        var agents: [SessionID: Agent] = [:]
        var pacer: DialPacer
        var live: Set<CallReference> = []
        var liveAgents: Set<SessionID> = []
        var refusals = 0
    }

    struct Call {
        var progress: CallProgress
        var queueId: QueueID?
        var ccid: String?
        var waiting = true
        /// We sent a hang-up (a cancel or a hang-up): an answer after it was cut off by it.
        var hungUp = false
        var cutOffReported = false
        var seen: Set<String> = []
    }

    struct Agent {
        var agent: AgentID
        var ccid: String?
        var connected = false
        var ended = false
        var endedByUs = false
        var seen: Set<String> = []
    }

    public init(account: TelnyxAccount, publicURL: String, clock: Clock, timing: CarrierTiming = CarrierTiming(),
                measurements: Measurements = .none, logger: Logger = Logger(label: "switchboard.carrier.telnyx")) throws {
        self.account = account
        self.clock = clock
        self.timing = timing
        self.logger = logger
        eventsURL = CallbackURLs(publicURL: publicURL, carrier: "telnyx").url(["events"])
        http = CarrierHTTPClient(timeoutMs: timing.requestTimeoutMs, carrier: "telnyx", measurements: measurements)
        decisions = DecisionTimes(carrier: "telnyx", measurements: measurements)
        signature = try TelnyxSignature(publicKey: account.publicKey)
        state = Mutex(State(pacer: DialPacer(callsPerSecond: account.callsPerSecond)))
    }

    public func connect(_ sink: any CarrierEventSink) { state.withLock { $0.sink = sink } }
    public func liveCalls() -> Set<CallReference> { state.withLock { $0.live } }
    public func liveAgents() -> Set<SessionID> { state.withLock { $0.liveAgents } }
    public var minimumStaggerMs: Int64 { state.withLock { $0.pacer.spacingMs } }

    public func pacingStatus() -> CarrierPacingStatus {
        let now = clock.now.millisecondsSinceEpoch
        return state.withLock { state in
            CarrierPacingStatus(carrier: name, callsPerSecond: account.callsPerSecond, pacer: state.pacer, refusals: state.refusals,
                                waitingQueues: state.calls.values.lazy.filter(\.waiting).map(\.queueId), nowMs: now)
        }
    }

    // MARK: - The engine's requests

    public func placeCall(_ request: PlaceCallRequest) {
        let now = clock.now.millisecondsSinceEpoch
        let slot = state.withLock { state in
            state.calls[request.reference] = Call(
                progress: CallProgress(machineDetection: request.machineDetection, verdictWaitMs: timing.verdictWaitMs),
                queueId: request.queueId)
            return state.pacer.reserve(nowMs: now)
        }
        var body: [String: JSONValue] = [
            "connection_id": .string(account.connectionId), "to": .string(request.to.e164), "from": .string(request.from.e164),
            "timeout_secs": .int(min(600, max(5, (request.ringTimeoutMs + 999) / 1000))),
            "answering_machine_detection": request.machineDetection ? "detect" : "disabled",
            "client_state": .string(TelnyxClientState.contact(request.reference).encoded),
            "command_id": .string("dial-" + request.reference.callId.rawValue),
            "webhook_url": .string(eventsURL), "webhook_url_method": "POST",
        ]
        body["time_limit_secs"] = 14_400
        let json = JSONValue.object(JSONObject(fields: body.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) }))
        later(at: slot) { carrier in
            let go = carrier.state.withLock { state -> Bool in
                guard state.calls[request.reference]?.waiting == true, state.calls[request.reference]?.hungUp == false else { return false }
                state.calls[request.reference]?.waiting = false
                return true
            }
            if go {
                Task {
                    await carrier.dial(json, attempt: 1, accepted: { carrier.accepted(request.reference, ccid: $0) },
                                       failed: { carrier.fail(request.reference, $0) })
                }
            }
        }
    }

    /// `POST /calls`, a contact's or an agent's: a 429 waits for the pacer and goes again; a 5xx or a dial
    /// without an answer is sent once more with the same `command_id` (Telnyx ignores the duplicate if the
    /// first one got through).
    func dial(_ body: JSONValue, attempt: Int, accepted: @escaping @Sendable (String) -> Void,
              failed: @escaping @Sendable (String) -> Void) async {
        do throws(CarrierHTTPError) {
            let response = try await http.send(request("POST", "/calls", body))
            if (200..<300).contains(response.status),
                let ccid = (try? JSONParser.parse(response.body))?["data"]?["call_control_id"]?.stringValue
            {
                return accepted(ccid)
            }
            if response.status == 429 {
                let now = clock.now.millisecondsSinceEpoch
                let slot = state.withLock { state -> Int64 in
                    state.refusals += 1
                    state.pacer.refused(nowMs: now, retryAfterMs: response.headers["retry-after"].flatMap(Int64.init).map { $0 * 1000 })
                    return state.pacer.reserve(nowMs: now)
                }
                return later(at: slot) { carrier in Task { await carrier.dial(body, attempt: attempt, accepted: accepted, failed: failed) } }
            }
            if response.status >= 500, attempt < 2 { return await dial(body, attempt: attempt + 1, accepted: accepted, failed: failed) }
            failed(TelnyxVocabulary.failure(status: response.status, body: response.body))
        } catch {
            guard attempt < 2 else { return failed("telnyx: the dial went unanswered (\(error))") }
            await dial(body, attempt: attempt + 1, accepted: accepted, failed: failed)
        }
    }

    func accepted(_ reference: CallReference, ccid: String) {
        let (sink, hangUpNow) = state.withLock { state -> ((any CarrierEventSink)?, Bool) in
            state.pacer.accepted()
            state.calls[reference]?.ccid = ccid
            return (state.sink, state.calls[reference]?.hungUp ?? false)
        }
        sink?.deliver(.accepted(reference, carrier: name, carrierCallId: ccid))
        if hangUpNow { action(ccid, "hangup", [:]) }
    }

    func fail(_ reference: CallReference, _ reason: String) { report(reference) { $0.take(.failed(reason), nowMs: 0) } }

    public func cancel(_ reference: CallReference) { hangUpCall(reference, endsProgress: false) }

    public func hangUp(_ reference: CallReference) { hangUpCall(reference, endsProgress: true) }

    /// Telnyx's one way to stop a call. A cancel of a call we already know was answered (its answer held
    /// for the verdict) sends nothing: the person is on the line, and the engine will decide what they
    /// hear once it is reported — the contract of `cancel`. Any other cancel leaves the progress open: an
    /// answer that crossed it is reported as the person cut off.
    func hangUpCall(_ reference: CallReference, endsProgress: Bool) {
        let ccid = state.withLock { state -> String? in
            guard let call = state.calls[reference] else { return nil }
            if !endsProgress, call.progress.phase >= .answering { return nil }
            state.calls[reference]?.hungUp = true
            if endsProgress { state.calls[reference]?.progress.endedByUs() }
            if state.calls[reference]?.waiting == true {
                state.calls[reference]?.waiting = false   // never sent
                state.calls[reference]?.progress.endedByUs()
            }
            return state.calls[reference]?.ccid
        }
        guard let ccid else { return }
        if !endsProgress { decisions.leaving(.cancel, in: reference.batchId) }
        action(ccid, "hangup", ["command_id": .string("hangup-" + reference.callId.rawValue)])
    }

    public func bridge(_ reference: CallReference, to agent: AgentID) {
        let (contact, agentLeg) = state.withLock { state in
            (state.calls[reference]?.ccid, state.agents.values.first { $0.agent == agent && $0.connected && !$0.ended }?.ccid)
        }
        guard let contact, let agentLeg else {
            logger.warning("telnyx: no agent's call to bridge the winner to", metadata: ["call": "\(reference)", "agent": "\(agent)"])
            return
        }
        decisions.leaving(.bridge, in: reference.batchId)
        action(agentLeg, "bridge", ["call_control_id": .string(contact), "prevent_double_bridge": true, "park_after_unbridge": "self"])
    }

    public func playSafeHarbor(_ reference: CallReference, message: String) {
        guard let ccid = state.withLock({ $0.calls[reference]?.ccid }) else { return }
        action(ccid, "speak", ["payload": .string(message), "voice": "female", "language": "en-US",
                               "command_id": .string("speak-" + reference.callId.rawValue)])
    }

    // MARK: - The agent's own call

    public func connectAgent(_ session: SessionID, agent: AgentID, endpoint: String, callerId: PhoneNumber) {
        let now = clock.now.millisecondsSinceEpoch
        let slot = state.withLock { state in
            state.agents[session] = Agent(agent: agent)
            return state.pacer.reserve(nowMs: now)
        }
        let body: JSONValue = [
            "connection_id": .string(account.connectionId), "to": .string(endpoint), "from": .string(callerId.e164),
            "timeout_secs": 30, "client_state": .string(TelnyxClientState.agent(session).encoded),
            "command_id": .string("agent-\(session.rawValue)-\(now)"), "webhook_url": .string(eventsURL), "webhook_url_method": "POST",
        ]
        later(at: slot) { carrier in
            Task {
                await carrier.dial(body, attempt: 1, accepted: { ccid in
                    carrier.state.withLock { state in
                        state.pacer.accepted()
                        state.agents[session]?.ccid = ccid
                    }
                }, failed: { reason in
                    // Not placed, unless its own events already said it was up.
                    guard !carrier.state.withLock({ $0.agents[session]?.connected ?? false }) else { return }
                    carrier.agentEnded(session, reason: "telnyx: the agent's call could not be placed (\(reason))")
                })
            }
        }
    }

    public func disconnectAgent(_ session: SessionID) {
        let ccid = state.withLock { state -> String? in
            state.agents[session]?.endedByUs = true
            state.liveAgents.remove(session)
            return state.agents[session]?.ccid
        }
        if let ccid { action(ccid, "hangup", [:]) }
    }

    func agentEnded(_ session: SessionID, reason: String) {
        let (sink, tell) = state.withLock { state -> ((any CarrierEventSink)?, Bool) in
            guard let agent = state.agents[session], !agent.ended else { return (nil, false) }
            state.agents[session]?.ended = true
            state.liveAgents.remove(session)
            return (state.sink, !agent.endedByUs)
        }
        if tell { sink?.deliver(.agentDisconnected(session, reason: reason)) }
    }

    // MARK: - Restart

    public func prepare(placed: [CallReference: String?], agents: [SessionID: AgentCall]) async {
        var known: [String: CallReference] = [:]
        for (reference, ccid) in placed { if let ccid { known[ccid] = reference } }
        let agentCalls = Dictionary(agents.map { ($0.value.carrierCallId, ($0.key, $0.value.agent)) }, uniquingKeysWith: { first, _ in first })
        let path = "/connections/\(FormEncoding.escape(account.connectionId))/active_calls"
        guard let response = try? await http.send(request("GET", path, nil)), response.status == 200,
            let calls = (try? JSONParser.parse(response.body))?["data"]?.arrayValue
        else {
            logger.error("telnyx: could not list the connection's active calls")
            return
        }
        for call in calls {
            guard let ccid = call["call_control_id"]?.stringValue else { continue }
            if let (session, agent) = agentCalls[ccid] {
                state.withLock { state in
                    state.agents[session] = Agent(agent: agent, ccid: ccid, connected: true)
                    state.liveAgents.insert(session)
                }
            } else if let reference = known[ccid] {
                state.withLock { state in
                    state.calls[reference] = Call(progress: CallProgress(machineDetection: true, verdictWaitMs: timing.verdictWaitMs,
                                                                         phase: .ringing),
                                                  queueId: nil, ccid: ccid, waiting: false)
                    state.live.insert(reference)
                }
            } else {
                logger.warning("telnyx: hanging up an active call the log does not know", metadata: ["callControlId": "\(ccid)"])
                _ = try? await http.send(request("POST", "/calls/\(FormEncoding.escape(ccid))/actions/hangup", [:]))
            }
        }
    }

    // MARK: - Plumbing

    func request(_ method: String, _ path: String, _ body: JSONValue?) -> CarrierRequest {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer " + account.apiKey), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return CarrierRequest(method: method, url: account.apiURL + path, headers: headers, body: body.map(JSONWriter.encode) ?? [])
    }

    /// `POST /calls/{id}/actions/{name}`; a call that has already ended is no error.
    func action(_ ccid: String, _ name: String, _ body: JSONObject) {
        let request = request("POST", "/calls/\(FormEncoding.escape(ccid))/actions/\(name)", .object(body))
        Task { [logger, http] in
            guard let response = try? await http.send(request) else {
                return logger.warning("telnyx: an action went unanswered", metadata: ["action": "\(name)"])
            }
            if !(200..<300).contains(response.status), response.status != 404, response.status != 422 {
                logger.warning("telnyx: an action was refused", metadata: [
                    "action": "\(name)", "reason": "\(TelnyxVocabulary.failure(status: response.status, body: response.body))",
                ])
            }
        }
    }

    func changeProgress(_ reference: CallReference, _ change: (inout CallProgress) -> [CallOutcome])
        -> (sink: (any CarrierEventSink)?, outcomes: [CallOutcome], verdictDueAt: Int64?)
    {
        state.withLock { state in
            guard var call = state.calls[reference] else { return (nil, [], nil) }
            let outcomes = change(&call.progress)
            state.calls[reference] = call
            return (state.sink, outcomes, call.progress.verdictDueAt)
        }
    }
}
