import DialerCore
import Synchronization
import SwitchboardJSON
import SwitchboardBasics
import DialerEngine
import EventStore
import WritePath

/// How the contacts of a queue behave when they have no script: the odds of each outcome and how
/// long phones ring and people talk.
public struct CallDistribution: Hashable, Sendable {
    /// Weights of the outcomes; they need not add up to anything in particular.
    public var human: Int, machine: Int, unknown: Int, noAnswer: Int, busy: Int, failure: Int
    public var ringMs: ClosedRange<Int64>
    public var talkMs: ClosedRange<Int64>

    public init(human: Int, machine: Int, unknown: Int, noAnswer: Int, busy: Int, failure: Int,
                ringMs: ClosedRange<Int64> = 1500...9000, talkMs: ClosedRange<Int64> = 20_000...180_000) {
        self.human = human; self.machine = machine; self.unknown = unknown
        self.noAnswer = noAnswer; self.busy = busy; self.failure = failure
        self.ringMs = ringMs; self.talkMs = talkMs
    }

    /// A typical outbound list: about a quarter pick up themselves.
    public static let typical = CallDistribution(human: 25, machine: 20, unknown: 5, noAnswer: 40, busy: 5, failure: 5)
    /// A poor list: under one in ten is a person.
    public static let poor = CallDistribution(human: 8, machine: 25, unknown: 2, noAnswer: 55, busy: 5, failure: 5)
}

/// A deterministic telephone network for one machine: the default carrier adapter.
///
/// For a given seed every call behaves the same, run after run, whatever order calls are placed in
/// (each call draws from its own generator, seeded by the seed and the call's reference). A contact's
/// `script` (`ringMs`, `answer: human|machine|unknown|none`, `talkMs`, `fail`) overrides the draw.
///
/// Like a real network, it reports asynchronously through the engine's clock, and our requests take
/// effect only after the events already due at that instant — and `requestLatencyMs` later, as an API
/// round trip would: a cancel can race with an answer (a cancel does not end an answered call), and
/// hanging up a call that has ended does nothing. A safe-harbor message starts `safeHarborStartMs`
/// after the request reaches the network and lasts as long as it takes to say (`speakingMs`).
public final class SimulatedCarrier<Clock: EngineClock>: CarrierAdapter {
    /// How long after placing a call it starts ringing (at most; sooner when the script answers sooner).
    public static var ringingAfterMs: Int64 { 400 }
    /// How long a failure takes to come back when the script does not say.
    public static var failureAfterMs: Int64 { 300 }
    /// From the request reaching the network to the first word of the safe-harbor message.
    public static var safeHarborStartMs: Int64 { 300 }

    /// How long `message` takes to say: 150 words a minute, at least 3 s.
    public static func speakingMs(_ message: String) -> Int64 {
        max(3000, Int64(message.split(whereSeparator: \.isWhitespace).count) * 400)
    }

    enum Phase { case dialing, ringing, answered, playingSafeHarbor, ended }

    struct SimulatedCall {
        var phase: Phase = .dialing
        var bridged = false
        var talkMs: Int64
    }

    struct Plan {
        enum Outcome { case answer(AnsweredBy, atMs: Int64), noAnswer, busy(atMs: Int64), fail(String, atMs: Int64) }
        var outcome: Outcome
        var talkMs: Int64
    }

    private struct State {
        var calls: [CallReference: SimulatedCall] = [:]
        var sink: (any CarrierEventSink)?
        /// Sessions whose agent's call is up (a session with an `agentEndpoint`).
        var agents: Set<SessionID> = []
    }

    private let clock: Clock
    private let seed: UInt64
    private let distributions: [QueueID: CallDistribution]
    private let fallback: CallDistribution
    private let requestLatencyMs: Int64
    private let state = Mutex(State())

    public init(clock: Clock, seed: UInt64, distributions: [QueueID: CallDistribution] = [:],
                fallback: CallDistribution = .typical, requestLatencyMs: Int64 = 0) {
        self.clock = clock
        self.seed = seed
        self.distributions = distributions
        self.fallback = fallback
        self.requestLatencyMs = max(0, requestLatencyMs)
    }

    public func connect(_ sink: any CarrierEventSink) { state.withLock { $0.sink = sink } }

    public func placeCall(_ request: PlaceCallRequest) {
        let plan = plan(for: request)
        let reference = request.reference
        state.withLock { $0.calls[reference] = SimulatedCall(talkMs: plan.talkMs) }
        switch plan.outcome {
        case .fail(let reason, let atMs):
            later(atMs) { $0.end(reference, reporting: .failed(reference, reason: reason)) }
        case .busy(let atMs):
            later(atMs) { $0.end(reference, reporting: .busy(reference)) }
        case .noAnswer:
            later(min(Self.ringingAfterMs, request.ringTimeoutMs / 2)) { $0.ring(reference) }
            later(request.ringTimeoutMs) { $0.end(reference, reporting: .noAnswer(reference)) }
        case .answer(let answeredBy, let atMs):
            if atMs >= request.ringTimeoutMs {
                later(min(Self.ringingAfterMs, request.ringTimeoutMs / 2)) { $0.ring(reference) }
                later(request.ringTimeoutMs) { $0.end(reference, reporting: .noAnswer(reference)) }
            } else {
                if atMs > 0 { later(min(Self.ringingAfterMs, atMs / 2)) { $0.ring(reference) } }
                later(atMs) { $0.answer(reference, by: answeredBy) }
            }
        }
    }

    public func cancel(_ reference: CallReference) { later(requestLatencyMs) { $0.cancelNow(reference) } }

    public func hangUp(_ reference: CallReference) { later(requestLatencyMs) { $0.hangUpNow(reference) } }

    public func playSafeHarbor(_ reference: CallReference, message: String) {
        later(requestLatencyMs + Self.safeHarborStartMs) { carrier in
            let started: CarrierEvent? = carrier.state.withLock { state in
                guard state.calls[reference]?.phase == .answered else { return nil }
                state.calls[reference]?.phase = .playingSafeHarbor
                return .safeHarborStarted(reference)
            }
            guard started != nil else { return nil }
            carrier.later(Self.speakingMs(message)) { carrier in
                carrier.state.withLock { state in
                    guard state.calls[reference]?.phase == .playingSafeHarbor else { return nil }
                    state.calls[reference]?.phase = .ended  // the message said, the carrier hangs up
                    return .safeHarborEnded(reference)
                }
            }
            return started
        }
    }

    public func bridge(_ reference: CallReference, to agent: AgentID) {
        let talkMs: Int64? = state.withLock { state in
            guard state.calls[reference]?.phase == .answered else { return nil }
            state.calls[reference]?.bridged = true
            return state.calls[reference]?.talkMs
        }
        // The contact hangs up after talking for `talkMs`, unless someone hangs up first.
        if let talkMs { later(talkMs) { $0.end(reference, reporting: .completed(reference), onlyIfBridged: true) } }
    }

    public func liveCalls() -> Set<CallReference> {
        state.withLock { Set($0.calls.filter { $0.value.phase != .ended }.keys) }
    }

    /// The agent picks up at once (a request's latency later): the simulated network has no agent to keep waiting.
    public func connectAgent(_ session: SessionID, agent: AgentID, endpoint: String, callerId: PhoneNumber) {
        later(requestLatencyMs) { carrier in
            carrier.state.withLock { _ = $0.agents.insert(session) }
            return .agentConnected(session, carrierCallId: nil)
        }
    }

    public func disconnectAgent(_ session: SessionID) {
        later(requestLatencyMs) { carrier in
            carrier.state.withLock { _ = $0.agents.remove(session) }
            return nil
        }
    }

    public func liveAgents() -> Set<SessionID> { state.withLock { $0.agents } }

    // MARK: - The network's own steps, delivered through the clock

    private func later(_ milliseconds: Int64, _ step: @escaping @Sendable (SimulatedCarrier) -> CarrierEvent?) {
        clock.schedule(.deferred { [self] in step(self).map(EngineInput.carrier) }, after: max(0, milliseconds))
    }

    private func ring(_ reference: CallReference) -> CarrierEvent? {
        state.withLock { state in
            guard state.calls[reference]?.phase == .dialing else { return nil }
            state.calls[reference]?.phase = .ringing
            return .ringing(reference)
        }
    }

    private func answer(_ reference: CallReference, by answeredBy: AnsweredBy) -> CarrierEvent? {
        state.withLock { state in
            guard let phase = state.calls[reference]?.phase, phase == .dialing || phase == .ringing else { return nil }
            state.calls[reference]?.phase = .answered
            return .answered(reference, answeredBy: answeredBy)
        }
    }

    private func end(_ reference: CallReference, reporting event: CarrierEvent, onlyIfBridged: Bool = false) -> CarrierEvent? {
        state.withLock { state in
            guard let call = state.calls[reference], call.phase != .ended, !onlyIfBridged || call.bridged else { return nil }
            // Answered calls end by hang-up only (a message being played ends on its own).
            if !onlyIfBridged, call.phase == .answered || call.phase == .playingSafeHarbor { return nil }
            state.calls[reference]?.phase = .ended
            return event
        }
    }

    /// Our cancel reaching the network: a call still dialling or ringing ends; one just answered does not.
    private func cancelNow(_ reference: CallReference) -> CarrierEvent? {
        state.withLock { state in
            if let phase = state.calls[reference]?.phase, phase == .dialing || phase == .ringing {
                state.calls[reference]?.phase = .ended
            }
        }
        return nil
    }

    /// Our hang-up reaching the network: the call ends, and we were the ones who ended it.
    private func hangUpNow(_ reference: CallReference) -> CarrierEvent? {
        state.withLock { state in state.calls[reference]?.phase = .ended }
        return nil
    }

    // MARK: - Drawing a call's behaviour

    func plan(for request: PlaceCallRequest) -> Plan {
        var random = SplitMix64(seed: seed ^ Self.stableHash(request.reference.description))
        let distribution = distributions[request.queueId] ?? fallback
        let drawnRing = Int64.random(in: distribution.ringMs, using: &random)
        let drawnTalk = Int64.random(in: distribution.talkMs, using: &random)
        if let script = request.script {
            // Bounded here too: a script that bypassed `problem(with:)` cannot schedule past the end of time.
            let ringMs = min(max(0, script["ringMs"]?.intValue ?? drawnRing), SimulatedScript.maxMs)
            let talkMs = min(max(0, script["talkMs"]?.intValue ?? drawnTalk), SimulatedScript.maxMs)
            if let reason = script["fail"]?.stringValue {
                return Plan(outcome: .fail(reason, atMs: script["ringMs"] == nil ? Self.failureAfterMs : ringMs), talkMs: talkMs)
            }
            switch script["answer"]?.stringValue {
            case "none": return Plan(outcome: .noAnswer, talkMs: talkMs)
            case let answer?: if let by = AnsweredBy(rawValue: answer) { return Plan(outcome: .answer(by, atMs: ringMs), talkMs: talkMs) }
            case nil: break
            }
        }
        let weights = [distribution.human, distribution.machine, distribution.unknown, distribution.noAnswer,
                       distribution.busy, distribution.failure]
        var roll = Int.random(in: 0..<max(1, weights.reduce(0, +)), using: &random)
        var pick = 0
        while pick < weights.count - 1, roll >= weights[pick] {
            roll -= weights[pick]
            pick += 1
        }
        switch pick {
        case 0: return Plan(outcome: .answer(.human, atMs: drawnRing), talkMs: drawnTalk)
        case 1: return Plan(outcome: .answer(.machine, atMs: drawnRing), talkMs: drawnTalk)
        case 2: return Plan(outcome: .answer(.unknown, atMs: drawnRing), talkMs: drawnTalk)
        case 3: return Plan(outcome: .noAnswer, talkMs: drawnTalk)
        case 4: return Plan(outcome: .busy(atMs: min(drawnRing, 3000)), talkMs: drawnTalk)
        default: return Plan(outcome: .fail("network-error", atMs: Self.failureAfterMs), talkMs: drawnTalk)
        }
    }

    /// FNV-1a: a hash that is the same in every process (Swift's `Hasher` is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// How a simulated contact behaves: the `script` a contact may carry (real carriers ignore it).
public enum SimulatedScript {
    /// The longest ring or talk time a script may ask for: one hour.
    public static let maxMs: Int64 = 3_600_000

    /// Why `script` is not one this carrier can follow, if it is not: known keys only (`ringMs`,
    /// `talkMs` 0–1 h, `answer` human / machine / unknown / none, `fail` a reason, `note` anything).
    public static func problem(with script: JSONObject) -> String? {
        for field in script.fields {
            switch field.key {
            case "ringMs", "talkMs":
                guard let value = field.value.intValue, (0...maxMs).contains(value) else {
                    return "\(field.key) must be an integer from 0 to \(maxMs)"
                }
            case "answer":
                guard let value = field.value.stringValue, value == "none" || AnsweredBy(rawValue: value) != nil else {
                    return "answer must be human, machine, unknown or none"
                }
            case "fail":
                guard let value = field.value.stringValue, !value.isEmpty, value.count <= 200 else {
                    return "fail must be a reason of 1 to 200 characters"
                }
            case "note": break
            default: return "unknown script field \"\(field.key)\" (ringMs, talkMs, answer, fail, note)"
            }
        }
        return nil
    }
}
