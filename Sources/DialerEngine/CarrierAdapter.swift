import DialerCore
import SwitchboardJSON

/// Our name for a call, handed to the carrier when the call is placed and echoed in every event the
/// carrier reports (Telnyx calls this `client_state`; for Twilio it travels in the status callback URL).
public struct CallReference: Hashable, Sendable, CustomStringConvertible {
    public var batchId: BatchID
    public var callId: CallID
    public init(batchId: BatchID, callId: CallID) {
        self.batchId = batchId
        self.callId = callId
    }
    public var description: String { "\(batchId)/\(callId)" }
}

/// What the engine asks a carrier to dial.
public struct PlaceCallRequest: Hashable, Sendable {
    public var reference: CallReference
    public var queueId: QueueID
    public var to: PhoneNumber
    public var from: PhoneNumber
    /// The carrier gives up and reports `noAnswer` after this long (Twilio `Timeout`, Telnyx `timeout_secs`).
    public var ringTimeoutMs: Int64
    /// Answering-machine detection on: the answer carries who picked up.
    public var machineDetection: Bool
    /// How a simulated contact behaves (`script` of the contact); real carriers ignore it.
    public var script: JSONObject?

    public init(reference: CallReference, queueId: QueueID, to: PhoneNumber, from: PhoneNumber, ringTimeoutMs: Int64,
                machineDetection: Bool = true, script: JSONObject? = nil) {
        self.reference = reference
        self.queueId = queueId
        self.to = to
        self.from = from
        self.ringTimeoutMs = ringTimeoutMs
        self.machineDetection = machineDetection
        self.script = script
    }
}

/// What a carrier reports about a call, as Twilio's and Telnyx's status callbacks do.
public enum CarrierEvent: Hashable, Sendable {
    /// The carrier took the call and named it (`carrier`: `twilio`, `telnyx`).
    case accepted(CallReference, carrier: String, carrierCallId: String)
    case ringing(CallReference)
    case answered(CallReference, answeredBy: AnsweredBy)
    /// The person answered just as our cancel or hang-up ended the call, which the carrier could not
    /// spare (Telnyx's hang-up ends an answered call): they were cut off.
    case cutOff(CallReference, answeredBy: AnsweredBy)
    case noAnswer(CallReference)
    case busy(CallReference)
    case failed(CallReference, reason: String)
    /// A connected call ended: the contact hung up, or the carrier ended it (the network dropped it).
    /// (The agent's own hang-up is the engine's request, recorded when it is made.)
    case completed(CallReference, endedBy: HangupSide = .contact)
    /// The safe-harbor message began to play (Twilio: the `<Play>`/`<Say>` TwiML was fetched; Telnyx:
    /// `call.speak.started`), and ended — after which the carrier hung up (`call.speak.ended` + hangup).
    case safeHarborStarted(CallReference)
    case safeHarborEnded(CallReference)
    /// The agent's own call into the session's room is up (`connectAgent`), or it ended or failed.
    case agentConnected(SessionID, carrierCallId: String?)
    case agentDisconnected(SessionID, reason: String)

    /// The contact's call the event is about (`nil` for the agent's own call).
    public var reference: CallReference? {
        switch self {
        case .accepted(let r, _, _), .ringing(let r), .answered(let r, _), .cutOff(let r, _), .noAnswer(let r), .busy(let r), .failed(let r, _), .completed(let r, _),
             .safeHarborStarted(let r), .safeHarborEnded(let r): r
        case .agentConnected, .agentDisconnected: nil
        }
    }
}

/// The only way the engine reaches the telephone network. Small on purpose: it is what Twilio and
/// Telnyx both offer, so a real adapter plugs in without touching the engine.
///
/// Calls return at once (a real adapter queues its HTTP request); what happens to the call arrives
/// later, as `CarrierEvent`s delivered through the engine's clock.
public protocol CarrierAdapter: Sendable {
    /// Starts delivering events into `sink` (the engine's input).
    func connect(_ sink: any CarrierEventSink)
    func placeCall(_ request: PlaceCallRequest)
    /// Stops a call that has not been answered. Harmless if it already ended; it does not end a call
    /// the person has just answered (Twilio's `Status=canceled` only stops queued or ringing calls):
    /// that answer is still reported, and the engine decides what the person hears.
    func cancel(_ reference: CallReference)
    /// Ends an answered call. Harmless if it already ended.
    func hangUp(_ reference: CallReference)
    /// Connects an answered call to the agent (a conference or a bridge).
    func bridge(_ reference: CallReference, to agent: AgentID)
    /// Calls the agent at `endpoint` (from `callerId`) into the session's room, where winners are bridged;
    /// reports `agentConnected` once they are in, `agentDisconnected` when that call ends or fails.
    func connectAgent(_ session: SessionID, agent: AgentID, endpoint: String, callerId: PhoneNumber)
    /// Ends the agent's call (the session ended). Harmless if it already ended.
    func disconnectAgent(_ session: SessionID)
    /// Plays the safe-harbor message to an answered call the agent will not get, then hangs up
    /// (Twilio: update the call with `<Say>` + `<Hangup/>`; Telnyx: `speak`, then `hangup`).
    func playSafeHarbor(_ reference: CallReference, message: String)
    /// Before the engine reconciles after a (re)start: the calls the log has placed and not ended, with
    /// the carrier's name for each it named. A real carrier lists its live calls here, hangs up those
    /// the log does not know, and keeps the rest for `liveCalls()`.
    func prepare(placed: [CallReference: String?], agents: [SessionID: AgentCall]) async
    /// The calls the carrier still has up, for reconciliation after a restart.
    func liveCalls() -> Set<CallReference>
    /// The sessions whose agent's call the carrier still has up, after a restart.
    func liveAgents() -> Set<SessionID>
    /// The least time between two calls the account allows (its calls-per-second limit): a batch's
    /// stagger is never shorter.
    var minimumStaggerMs: Int64 { get }
}

extension CarrierAdapter {
    /// A carrier in this process (the simulated one) knows its calls without asking.
    public func prepare(placed: [CallReference: String?], agents: [SessionID: AgentCall]) async {}
    /// A carrier that calls no agents (the tests' doubles that only take calls): a session with an
    /// endpoint on it waits for an agent who never comes.
    public func connectAgent(_ session: SessionID, agent: AgentID, endpoint: String, callerId: PhoneNumber) {}
    public func disconnectAgent(_ session: SessionID) {}
    public func liveAgents() -> Set<SessionID> { [] }
    /// No limit of its own (the simulated network).
    public var minimumStaggerMs: Int64 { 0 }
}

/// An agent's own call the log says is up (`session.agent-connected`): whose, and the carrier's name for it.
public struct AgentCall: Hashable, Sendable {
    public var agent: AgentID
    public var carrierCallId: String
    public init(agent: AgentID, carrierCallId: String) { self.agent = agent; self.carrierCallId = carrierCallId }
}

/// Where a carrier delivers its events.
public protocol CarrierEventSink: Sendable {
    func deliver(_ event: CarrierEvent)
}
