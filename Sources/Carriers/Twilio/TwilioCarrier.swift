import DialerCore
import DialerEngine
import Foundation
import Logging
import Synchronization
import SwitchboardBasics
import SwitchboardJSON
import WritePath

/// Twilio Programmable Voice behind `CarrierAdapter`.
///
/// - **Placing** (`POST …/Calls.json`): `To`, `From` (the local-presence caller ID), the answer hook
///   `Url`, `StatusCallback` with its four events, `Timeout` from the ring timeout, and async AMD with
///   its own callback. Sent in the node's pacing slot (`DialPacer`), never above the account's CPS.
/// - **A create without an answer** (timeout, 5xx) may have placed the call, and Twilio has no
///   idempotency key: the account's calls to that number are listed; one made since the dial is
///   adopted, otherwise the call ends `failed`. It is never sent again.
/// - **The answer hook is the decision**: Twilio fetches the answered call's TwiML and waits; the reply is
///   the engine's decision (the agent's room, the safe-harbor message, a hang-up). Decisions made when
///   no fetch waits go out as `POST …/Calls/{Sid}.json` updates.
/// - **Losers**: `Status=canceled`, which Twilio applies only to queued or ringing calls — an answer
///   that crossed it is still reported, as the engine's contract wants.
/// - **Webhooks**: every one is checked against `X-Twilio-Signature` first; reports go through
///   `CallProgress` (duplicates by `CallSid:SequenceNumber`, never backwards, the answer held for its
///   verdict); a call we do not know is hung up.
public final class TwilioCarrier<Clock: EngineClock>: CarrierAdapter, CarrierWebhooks, CarrierPacingReporting, ProgressReporting {
    public let name = "twilio"
    public let signatureHeaders = ["x-twilio-signature"]

    let account: TwilioAccount
    let callbacks: CallbackURLs
    let clock: Clock
    let timing: CarrierTiming
    let http: CarrierHTTPClient
    let signature: TwilioSignature
    let logger: Logger
    let state: Mutex<State>
    /// Answer → bridge and answer → cancel, as they leave.
    public let decisions: DecisionTimes

    struct State {
        var sink: (any CarrierEventSink)?
        var calls: [CallReference: Call] = [:]
        var bySid: [String: CallReference] = [:]
        var pacer: DialPacer
        /// When the last create left (the pacer's spacing holds between departures too).
        var lastDeparture: ContinuousClock.Instant?
        /// The calls Twilio still had up when we started, matched to the log (`prepare`).
        var live: Set<CallReference> = []
        /// The agents' own calls, by session.
        var agents: [SessionID: AgentLeg] = [:]
        var agentBySid: [String: SessionID] = [:]
        /// Creates refused 429 since start.
        var refusals = 0
        /// The agents' calls Twilio still had up when we started.
        var liveAgents: Set<SessionID> = []
    }

    struct Call {
        var progress: CallProgress
        var sid: String?
        var create: Create
        /// Whose call it is (what `pacingStatus` counts waiting calls by).
        var queueId: QueueID?
        /// On the system's clock: compared with Twilio's `date_created`.
        var dialedAtMs: Int64
        /// Twilio's fetch of the answered call's TwiML, waiting for the engine's word.
        var hook: AnswerHook?
        /// The last decision sent as TwiML (a fetch that comes after it gets it too).
        var decision: String?

        enum Create: Equatable {
            /// Waiting for its pacing slot.
            case waiting
            case sending
            /// Twilio has it (or it was adopted from the account's list).
            case done
            /// Cancelled before it was sent: it never will be.
            case dropped
        }
        /// What the engine asked while the create was on its way, carried out once Twilio names the call.
        var afterCreate: [(name: String, value: String)]?
    }

    public init(account: TwilioAccount, publicURL: String, clock: Clock, timing: CarrierTiming = CarrierTiming(),
                measurements: Measurements = .none, logger: Logger = Logger(label: "switchboard.carrier.twilio")) {
        self.account = account
        self.clock = clock
        self.timing = timing
        self.logger = logger
        callbacks = CallbackURLs(publicURL: publicURL, carrier: "twilio")
        http = CarrierHTTPClient(timeoutMs: timing.requestTimeoutMs, carrier: "twilio", measurements: measurements)
        decisions = DecisionTimes(carrier: "twilio", measurements: measurements)
        signature = TwilioSignature(authToken: account.authToken)
        state = Mutex(State(pacer: DialPacer(callsPerSecond: account.callsPerSecond)))
    }

    public func connect(_ sink: any CarrierEventSink) { state.withLock { $0.sink = sink } }

    public func liveCalls() -> Set<CallReference> { state.withLock { $0.live } }

    public var minimumStaggerMs: Int64 { state.withLock { $0.pacer.spacingMs } }

    public func pacingStatus() -> CarrierPacingStatus {
        let now = clock.now.millisecondsSinceEpoch
        return state.withLock { state in
            CarrierPacingStatus(carrier: name, callsPerSecond: account.callsPerSecond, pacer: state.pacer, refusals: state.refusals,
                                waitingQueues: state.calls.values.lazy.filter { $0.create == .waiting }.map(\.queueId), nowMs: now)
        }
    }

    // MARK: - The engine's requests

    public func placeCall(_ request: PlaceCallRequest) {
        let now = clock.now.millisecondsSinceEpoch
        let slot = state.withLock { state in
            state.calls[request.reference] = Call(
                progress: CallProgress(machineDetection: request.machineDetection, verdictWaitMs: timing.verdictWaitMs),
                create: .waiting, queueId: request.queueId, dialedAtMs: Self.wallClockMs())
            return state.pacer.reserve(nowMs: now)
        }
        later(at: slot) { $0.sendCreate(request) }
    }

    public func cancel(_ reference: CallReference) {
        update(reference, ["Status": "canceled"], dropIfUnsent: true, timing: .cancel)
    }

    public func hangUp(_ reference: CallReference) {
        state.withLock { $0.calls[reference]?.progress.endedByUs() }
        if !answerHook(reference, with: TwiML.hangUp) { update(reference, ["Status": "completed"], dropIfUnsent: true) }
    }

    public func bridge(_ reference: CallReference, to agent: AgentID) {
        let twiml = TwiML.agentRoom(agentRoom(agent))
        if answerHook(reference, with: twiml) {
            decisions.leaving(.bridge, in: reference.batchId)
        } else {
            update(reference, ["Twiml": twiml], timing: .bridge)
        }
    }

    public func playSafeHarbor(_ reference: CallReference, message: String) {
        let twiml = TwiML.safeHarbor(message)
        if answerHook(reference, with: twiml) {
            report(reference) { $0.safeHarborStarted() }
        } else {
            update(reference, ["Twiml": twiml]) { carrier in carrier.report(reference) { $0.safeHarborStarted() } }
        }
    }

    // MARK: - Restart

    /// Lists the account's live calls; those the log placed are kept (`liveCalls`), the others hung up.
    public func prepare(placed: [CallReference: String?], agents: [SessionID: AgentCall]) async {
        var known: [String: CallReference] = [:]
        for (reference, sid) in placed { if let sid { known[sid] = reference } }
        let agentSids = Dictionary(agents.map { ($0.value.carrierCallId, ($0.key, $0.value.agent)) }, uniquingKeysWith: { first, _ in first })
        var live: [(sid: String, status: String)] = []
        for status in ["queued", "ringing", "in-progress"] {
            guard let response = try? await http.send(get(account.callsURL() + "?Status=\(status)&PageSize=1000")),
                response.status == 200, let calls = (try? JSONParser.parse(response.body))?["calls"]?.arrayValue
            else {
                logger.error("twilio: could not list the account's live calls", metadata: ["status": "\(status)"])
                continue
            }
            for call in calls { if let sid = call["sid"]?.stringValue { live.append((sid, status)) } }
        }
        for (sid, status) in live {
            if let (session, agent) = agentSids[sid] {
                state.withLock { state in
                    state.agents[session] = AgentLeg(agent: agent, sid: sid, connected: true)
                    state.agentBySid[sid] = session
                    state.liveAgents.insert(session)
                }
                continue
            }
            guard let reference = known[sid] else {
                logger.warning("twilio: hanging up a live call the log does not know", metadata: ["callSid": "\(sid)"])
                _ = try? await http.send(post(account.callsURL(sid), [("Status", "completed")]))
                continue
            }
            let phase: CallProgress.Phase = status == "in-progress" ? .answered : .ringing
            state.withLock { state in
                state.calls[reference] = Call(
                    progress: CallProgress(machineDetection: true, verdictWaitMs: timing.verdictWaitMs, phase: phase),
                    sid: sid, create: .done, dialedAtMs: Self.wallClockMs())
                state.bySid[sid] = reference
                state.live.insert(reference)
            }
        }
    }

    // MARK: - Creating a call

    /// Sends a create in its slot — and never sooner than the pacer's spacing after the last one left
    /// (a slot's work may start late and the next on time: the spacing holds between departures).
    func sendCreate(_ request: PlaceCallRequest) {
        let now = ContinuousClock.now
        let wait = state.withLock { state -> Duration? in
            guard state.calls[request.reference]?.create == .waiting else { return nil }
            if let last = state.lastDeparture, now < last + .milliseconds(state.pacer.spacingMs) {
                return last + .milliseconds(state.pacer.spacingMs) - now
            }
            state.lastDeparture = now
            state.calls[request.reference]?.create = .sending
            return .zero
        }
        guard let wait else { return }
        Task {
            if wait > .zero {
                try? await Task.sleep(for: wait)
                return sendCreate(request)
            }
            await create(request, attempt: 1)
        }
    }

    func createFields(_ request: PlaceCallRequest) -> [(name: String, value: String)] {
        let segments = ["calls", request.reference.batchId.rawValue, request.reference.callId.rawValue]
        var fields: [(name: String, value: String)] = [
            ("To", request.to.e164), ("From", request.from.e164),
            ("Url", callbacks.url(segments + ["answer"])), ("Method", "POST"),
            ("StatusCallback", callbacks.url(segments + ["status"])), ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"), ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"), ("StatusCallbackEvent", "completed"),
            ("Timeout", String(min(600, max(1, (request.ringTimeoutMs + 999) / 1000)))),
        ]
        if request.machineDetection {
            fields += [("MachineDetection", "Enable"), ("AsyncAmd", "true"),
                       ("AsyncAmdStatusCallback", callbacks.url(segments + ["amd"])), ("AsyncAmdStatusCallbackMethod", "POST")]
        }
        return fields
    }

    func create(_ request: PlaceCallRequest, attempt: Int) async {
        let reference = request.reference
        do throws(CarrierHTTPError) {
            let response = try await http.send(post(account.callsURL(), createFields(request)))
            switch response.status {
            case 200, 201:
                guard let sid = (try? JSONParser.parse(response.body))?["sid"]?.stringValue else {
                    return await ambiguous(request, why: "its answer named no call")
                }
                created(reference, sid: sid)
            case 429:
                // Not carried out (Twilio: safe to retry): back off, then take a new slot.
                let now = clock.now.millisecondsSinceEpoch
                let retryAfter = response.headers["retry-after"].flatMap(Int64.init).map { $0 * 1000 }
                let slot = state.withLock { state -> Int64 in
                    state.refusals += 1
                    state.pacer.refused(nowMs: now, retryAfterMs: retryAfter)
                    state.calls[reference]?.create = .waiting
                    return state.pacer.reserve(nowMs: now)
                }
                logger.warning("twilio: too many requests, backing off", metadata: ["call": "\(reference)", "retryAt": "\(slot)"])
                later(at: slot) { $0.sendCreate(request) }
            case 500...:
                await ambiguous(request, why: "it answered \(response.status)")
            default:
                fail(reference, reason: TwilioVocabulary.failure(status: response.status, body: response.body))
            }
        } catch {
            switch error {
            case .timedOut:
                await ambiguous(request, why: "it did not answer within \(timing.requestTimeoutMs) ms")
            case .unreachable(let why):
                // Never reached Twilio: nothing was placed, so it may be sent again.
                guard attempt < timing.unreachableAttempts else { return fail(reference, reason: "twilio unreachable: \(why)") }
                try? await Task.sleep(for: .milliseconds(250 * attempt))
                await create(request, attempt: attempt + 1)
            }
        }
    }

    /// The create may or may not have placed the call: look before deciding, and never send it again.
    func ambiguous(_ request: PlaceCallRequest, why: String) async {
        let reference = request.reference
        logger.warning("twilio: a create went unanswered; listing the account's calls before deciding",
                       metadata: ["call": "\(reference)", "why": "\(why)"])
        let dialedAt = state.withLock { $0.calls[reference]?.dialedAtMs } ?? Self.wallClockMs()
        let sid = await placedCall(to: request.to.e164, from: request.from.e164, since: dialedAt) { sid in
            // Another of our calls' is not this one's (a callback may already have named this one).
            self.state.withLock { $0.bySid[sid] == nil || $0.bySid[sid] == reference }
        }
        if let sid {
            logger.notice("twilio: the unanswered create did place the call; adopted", metadata: ["call": "\(reference)", "callSid": "\(sid)"])
            return created(reference, sid: sid)
        }
        logger.warning("twilio: the unanswered create placed no call; it ends failed", metadata: ["call": "\(reference)"])
        fail(reference, reason: "twilio: the create went unanswered (\(why)) and the call is not in the account's list")
    }

    /// A call of the account to `to` from `from`, made since `since` (a minute's grace for the clocks: not
    /// an earlier attempt's), that `isFree` says is no other call of ours.
    func placedCall(to: String, from: String, since: Int64, isFree: @escaping (String) -> Bool) async -> String? {
        let query = "?To=\(FormEncoding.escape(to))&From=\(FormEncoding.escape(from))&PageSize=50"
        guard let response = try? await http.send(get(account.callsURL() + query)), response.status == 200,
            let calls = (try? JSONParser.parse(response.body))?["calls"]?.arrayValue
        else { return nil }
        return calls.lazy.compactMap { call -> String? in
            guard let sid = call["sid"]?.stringValue, isFree(sid) else { return nil }
            let made = call["date_created"]?.stringValue.flatMap(Self.rfc2822) ?? .max
            return made >= since - 60_000 ? sid : nil
        }.first
    }

    func created(_ reference: CallReference, sid: String) {
        let (sink, pending) = state.withLock { state -> ((any CarrierEventSink)?, [(name: String, value: String)]?) in
            state.pacer.accepted()
            state.bySid[sid] = reference
            state.calls[reference]?.sid = sid
            state.calls[reference]?.create = .done
            defer { state.calls[reference]?.afterCreate = nil }
            return (state.sink, state.calls[reference]?.afterCreate)
        }
        sink?.deliver(.accepted(reference, carrier: name, carrierCallId: sid))
        if let pending { Task { await send(post(account.callsURL(sid), pending), about: reference) } }
    }

    func fail(_ reference: CallReference, reason: String) {
        report(reference) { $0.take(.failed(reason), nowMs: 0) }
    }

    // MARK: - Updating a call

    /// Gives a waiting answer hook the engine's TwiML; `false` when none waits.
    func answerHook(_ reference: CallReference, with twiml: String) -> Bool {
        state.withLock { state in
            state.calls[reference]?.decision = twiml
            guard let hook = state.calls[reference]?.hook else { return false }
            state.calls[reference]?.hook = nil
            return hook.fulfil(twiml)
        }
    }

    /// `POST …/Calls/{Sid}.json` with `fields`; held until Twilio names the call if the create is on its way;
    /// with `dropIfUnsent`, a create still waiting for its slot is dropped instead (it never rings).
    func update(_ reference: CallReference, _ fields: KeyValuePairs<String, String>, dropIfUnsent: Bool = false,
                timing step: DecisionTimes.Step? = nil, then: (@Sendable (TwilioCarrier) -> Void)? = nil) {
        let pairs = fields.map { (name: $0.key, value: $0.value) }
        let sid = state.withLock { state -> String? in
            guard let call = state.calls[reference] else { return nil }
            switch call.create {
            case .done: return call.sid
            case .waiting where dropIfUnsent:
                state.calls[reference]?.create = .dropped
                state.calls[reference]?.progress.endedByUs()
            case .waiting, .sending: state.calls[reference]?.afterCreate = pairs
            case .dropped: break
            }
            return nil
        }
        guard let sid else { return }
        if let step { decisions.leaving(step, in: reference.batchId) }
        Task {
            if await send(post(account.callsURL(sid), pairs), about: reference) { then?(self) }
        }
    }

    /// Sends an update; `true` when Twilio took it. A call that has already ended (404, 21220) is no error.
    @discardableResult
    func send(_ request: CarrierRequest, about reference: CallReference) async -> Bool {
        do {
            let response = try await http.send(request)
            if (200..<300).contains(response.status) { return true }
            let reason = TwilioVocabulary.failure(status: response.status, body: response.body)
            if response.status == 404 || reason.hasPrefix("twilio 21220") { return false }
            logger.warning("twilio: an update was refused", metadata: ["call": "\(reference)", "reason": "\(reason)"])
        } catch {
            logger.warning("twilio: an update went unanswered", metadata: ["call": "\(reference)", "error": "\(error)"])
        }
        return false
    }

    // MARK: - Plumbing

    func post(_ url: String, _ fields: [(name: String, value: String)]) -> CarrierRequest {
        CarrierRequest(method: "POST", url: url, headers: [("Authorization", account.authorization),
                                                           ("Content-Type", "application/x-www-form-urlencoded")],
                       body: FormEncoding.encode(fields))
    }

    func get(_ url: String) -> CarrierRequest {
        CarrierRequest(method: "GET", url: url, headers: [("Authorization", account.authorization)])
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

    /// The system's time, as Twilio's records are stamped (the engine's clock may be a test's, shifted).
    static func wallClockMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    static func rfc2822(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }
}
