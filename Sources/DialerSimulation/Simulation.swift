import DialerCore
import EventStore
import Foundation
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import DialerEngine

/// A scenario for `switchboard simulate`: one queue, one agent session, scripted contacts and
/// timed requests, run end to end on virtual time through the real engine, store and simulated carrier.
public struct SimulationScenario: Sendable {
    public struct TimedRequest: Sendable {
        public var atMs: Int64
        public var request: SessionRequest
    }

    public var startAt: Timestamp
    public var queueName: String
    public var queueSegment: String?
    public var maxAttempts: Int
    /// The queue's calling hours (absent: 08:00–21:00 local), safe-harbor message and guard thresholds.
    public var callingHours: CallingWindow?
    public var compliance: QueueCompliance
    /// The organisation's safe-harbor message (for a queue without its own).
    public var organisationSafeHarborMessage: String?
    /// How long the simulated carrier's requests take to reach the network (a real API round trip).
    public var carrierLatencyMs: Int64
    public var callerIds: [PhoneNumber]
    public var agentId: AgentID
    public var mode: CallingMode
    public var profile: ProfileChoice
    public var settings: SessionSettings
    public var contacts: [NewContact]
    public var actions: [TimedRequest]
    /// Stop after this much virtual time even if work remains (a safety net; default one day).
    public var untilMs: Int64

    public init(json: JSONValue) throws(JSONError) {
        let o = try JSONObject(json: json)
        try o.rejectUnknownKeys(["startAt", "queue", "callerIds", "session", "contacts", "actions", "untilMs", "carrier",
                                 "organisation"])
        startAt = try o.decodeIfPresent("startAt") ?? Timestamp(rfc3339: "2026-01-05T15:00:00Z") ?? .epoch
        let queue = try o.decodeIfPresent("queue", as: JSONObject.self) ?? [:]
        try queue.rejectUnknownKeys(["name", "segment", "maxAttempts", "callingHours", "safeHarborMessage",
                                     "abandonWarnPercent", "abandonCapPercent"])
        queueName = try queue.decodeIfPresent("name") ?? "Simulated queue"
        queueSegment = try queue.decodeIfPresent("segment")
        maxAttempts = try queue.decodeIfPresent("maxAttempts") ?? 3
        callingHours = try queue.decodeIfPresent("callingHours")
        compliance = QueueCompliance(
            safeHarborMessage: try queue.decodeIfPresent("safeHarborMessage"),
            abandonWarnPercent: try queue.decodeIfPresent("abandonWarnPercent") ?? QueueCompliance.defaultWarn,
            abandonCapPercent: try queue.decodeIfPresent("abandonCapPercent") ?? QueueCompliance.legalCap)
        if let problem = compliance.violations.first { throw JSONError("queue.\(problem.field) \(problem.message)") }
        let organisation = try o.decodeIfPresent("organisation", as: JSONObject.self) ?? [:]
        try organisation.rejectUnknownKeys(["safeHarborMessage"])
        organisationSafeHarborMessage = try organisation.decodeIfPresent("safeHarborMessage")
        let carrier = try o.decodeIfPresent("carrier", as: JSONObject.self) ?? [:]
        try carrier.rejectUnknownKeys(["latencyMs"])
        carrierLatencyMs = try carrier.decodeIfPresent("latencyMs") ?? 0
        guard (0...10_000).contains(carrierLatencyMs) else { throw JSONError("carrier.latencyMs must be from 0 to 10000") }
        callerIds = try o.decode("callerIds")
        let session = try o.decodeIfPresent("session", as: JSONObject.self) ?? [:]
        agentId = try session.decodeIfPresent("agentId") ?? "agent-1"
        mode = try session.decodeIfPresent("mode") ?? .parallel
        profile = try session.decodeIfPresent("profile") ?? .auto
        let patch = try session.decodeIfPresent("settings", as: SettingsPatch.self) ?? SettingsPatch()
        settings = SessionSettings.default.applying(patch)
        let contactList = try o.decode("contacts", as: [JSONObject].self)
        var contacts: [NewContact] = []
        for (index, c) in contactList.enumerated() {
            do throws(JSONError) {
                try c.rejectUnknownKeys(["id", "name", "phone", "segment", "script", "timeZone"])
                if let script = try c.decodeIfPresent("script", as: JSONObject.self), let problem = SimulatedScript.problem(with: script) {
                    throw JSONError("script: \(problem)")
                }
                contacts.append(NewContact(contactId: try c.decodeIfPresent("id") ?? ContactID("c\(index + 1)"),
                                           name: try c.decodeIfPresent("name"), phone: try c.decode("phone"),
                                           segment: try c.decodeIfPresent("segment"), script: try c.decodeIfPresent("script"),
                                           timeZone: try c.decodeIfPresent("timeZone")))
            } catch {
                throw JSONError("contacts[\(index)]: \(error.message)")
            }
        }
        self.contacts = contacts
        var actions: [TimedRequest] = []
        for (index, a) in (try o.decodeIfPresent("actions", as: [JSONObject].self) ?? []).enumerated() {
            do throws(JSONError) {
                let atMs: Int64 = try a.decode("atMs")
                let request: SessionRequest
                switch try a.decode("do", as: String.self) {
                case "cancel": request = .cancel
                case "resume": request = .resume
                case "pause": request = .pause
                case "stop": request = .stop
                case "hangup": request = .hangUp
                case "setMode": request = .setMode(try a.decode("mode"))
                case "setSettings": request = .setSettings(try a.decode("settings"))
                case let other: throw JSONError("unknown action \"\(other)\"")
                }
                actions.append(TimedRequest(atMs: atMs, request: request))
            } catch {
                throw JSONError("actions[\(index)]: \(error.message)")
            }
        }
        self.actions = actions
        untilMs = try o.decodeIfPresent("untilMs") ?? 86_400_000
    }
}

/// Runs a scenario and reports what happened.
public enum Simulation {
    public struct Outcome: Sendable {
        public var events: [RecordedEvent]
        /// The projections at the end (the server's `SimulationSummary` shows them as the API would).
        public var state: DialerState
        public var queueId: QueueID
        public var sessionId: SessionID
        public var refusals: [String]
        /// The virtual time the run ended at.
        public var endedAt: Timestamp
    }

    public static func run(_ scenario: SimulationScenario, seed: UInt64, store: any EventStore) async throws -> Outcome {
        let clock = VirtualClock(startAt: scenario.startAt)
        let carrier = SimulatedCarrier(clock: clock, seed: seed, requestLatencyMs: scenario.carrierLatencyMs)
        var names = SplitMix64(seed: seed ^ 0x5157_4348_424F_4152)
        func name(_ prefix: String) -> String { prefix + String(names.next() & 0xFFFF_FFFF, radix: 16) }
        let queueId = QueueID(name("q-"))
        let sessionId = SessionID(name("s-"))
        let groupNames = SeededNames(seed: names.next(), prefix: "g-")
        let engine = DialerEngine(store: store, clock: clock, carrier: carrier, ids: SeededEventIDs(seed: seed),
                                  batchIds: { BatchID(groupNames.next()) })
        try await engine.start()
        let refusals = RefusalLog()
        let note: EngineReply = { result in
            if case .failure(let error) = result { refusals.add("\(error)") }
        }
        if let message = scenario.organisationSafeHarborMessage {
            clock.schedule(.command(.setOrganisationSafeHarbor(message: message), reply: note), at: scenario.startAt)
        }
        clock.schedule(.command(.createQueue(queueId: queueId, name: scenario.queueName, segment: scenario.queueSegment,
                                             maxAttempts: scenario.maxAttempts, contacts: scenario.contacts,
                                             callingHours: scenario.callingHours, compliance: scenario.compliance),
                                reply: note),
                       at: scenario.startAt)
        clock.schedule(.command(.startSession(sessionId: sessionId, agentId: scenario.agentId, queueId: queueId,
                                              mode: scenario.mode, profile: scenario.profile, settings: scenario.settings,
                                              callerIds: scenario.callerIds), reply: note),
                       at: scenario.startAt)
        for action in scenario.actions {
            clock.schedule(.request(sessionId, action.request, reply: note), at: scenario.startAt.adding(milliseconds: action.atMs))
        }
        clock.stop(at: scenario.startAt.adding(milliseconds: scenario.untilMs))
        try await engine.run()

        var events: [RecordedEvent] = []
        for try await event in store.events() { events.append(event) }
        return Outcome(events: events, state: engine.state, queueId: queueId, sessionId: sessionId, refusals: refusals.all,
                       endedAt: clock.now)
    }
}

/// Deterministic short names (`g-1a2b3c4d`) from a seed.
final class SeededNames: Sendable {
    private let counter: LockedCounter
    private let prefix: String
    init(seed: UInt64, prefix: String) {
        counter = LockedCounter(seed)
        self.prefix = prefix
    }
    func next() -> String { prefix + String(counter.nextRandom() & 0xFFFF_FFFF, radix: 16) }
}

final class RefusalLog: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

import Synchronization
