import DialerCore
import DialerEngine
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import DialerSimulation

/// An engine on virtual time over a real SQLite log and the simulated carrier, with helpers to say
/// what happened and when (milliseconds after the start).
public final class EngineHarness {
    public let directory: URL
    public let store: any EventStore
    private let file: SQLiteEventStore?
    public let clock: VirtualClock
    public let carrier: SimulatedCarrier<VirtualClock>
    public let engine: DialerEngine<VirtualClock>
    public static let start = Timestamp(rfc3339: "2026-01-05T15:00:00Z")!
    public static let callerIds = Fixture.callerIds
    private var groupNumber = 0

    /// An engine over `store` (default: a SQLite log in `directory`) and `carrier` (default: the simulated
    /// carrier on the harness's clock, `self.carrier`); `placements` notes every call placed.
    /// `carrierLatencyMs`: how long the simulated carrier's requests take to reach the network.
    public init(seed: UInt64 = 1, store given: (any EventStore)? = nil, directory existing: URL? = nil, startAt: Int64 = 0,
                carrier makeCarrier: ((VirtualClock) -> any CarrierAdapter)? = nil,
                placements: PlacementLog? = nil, carrierLatencyMs: Int64 = 0) async throws {
        directory = try existing ?? TemporaryFolder.make()
        if let given {
            store = given
            file = nil
        } else {
            let opened = try SQLiteEventStore(path: directory.appendingPathComponent("log.sqlite").path)
            store = opened
            file = opened
        }
        clock = VirtualClock(startAt: Self.start.adding(milliseconds: startAt))
        let carrier = SimulatedCarrier(clock: clock, seed: seed, requestLatencyMs: carrierLatencyMs)
        self.carrier = carrier
        let names = GroupNames()
        // Ids are seeded by the start time too: a restarted engine must not repeat the ids of the last run.
        let chosen = makeCarrier?(clock) ?? carrier
        engine = DialerEngine(store: store, clock: clock,
                              carrier: placements.map { RecordingCarrier(chosen, log: $0) } ?? chosen,
                              ids: SeededEventIDs(seed: seed &+ UInt64(bitPattern: startAt) &* 31),
                              batchIds: { names.next() })
        try await engine.start()
    }

    public func cleanUp() {
        file?.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops this engine as a crash would (the log stays as it is) and returns the folder to restart from.
    public func crash() -> URL {
        file?.close()
        return directory
    }

    /// A contact that behaves as scripted (`answer`: human, machine, unknown, none; or `fail`).
    public static func contact(_ id: String, _ phone: String? = nil, ringMs: Int64? = nil, answer: String? = nil,
                        talkMs: Int64? = nil, fail: String? = nil, segment: String? = nil) -> NewContact {
        var script = JSONObject()
        script.putIfPresent("ringMs", ringMs)
        script.putIfPresent("answer", answer)
        script.putIfPresent("talkMs", talkMs)
        script.putIfPresent("fail", fail)
        return NewContact(contactId: ContactID(id), phone: PhoneNumber(phone ?? Fixture.number(for: id))!, segment: segment,
                          script: script)
    }

    public func at(_ ms: Int64, _ command: Command) {
        clock.schedule(.command(command, reply: nil), at: Self.start.adding(milliseconds: ms))
    }

    public func at(_ ms: Int64, _ request: SessionRequest, session: SessionID = "s") {
        clock.schedule(.request(session, request, reply: nil), at: Self.start.adding(milliseconds: ms))
    }

    /// Creates queue "q" (with the fixtures' safe-harbor message unless `compliance` says otherwise) and
    /// starts session "s" on it at time 0.
    public func workQueue(_ contacts: [NewContact], name: String = "Leads", mode: CallingMode = .parallel,
                   profile: ProfileChoice = .auto, settings: SessionSettings = .backToBack, maxAttempts: Int = 3,
                   retryDelayMs: Int64 = 0, compliance: QueueCompliance = Fixture.compliance) {
        at(0, .createQueue(queueId: "q", name: name, segment: nil, maxAttempts: maxAttempts, contacts: contacts,
                           retryDelayMs: retryDelayMs, compliance: compliance))
        at(0, .startSession(sessionId: "s", agentId: "agent-1", queueId: "q", mode: mode, profile: profile,
                            settings: settings, callerIds: Self.callerIds))
    }

    /// Runs virtual time up to `ms` (or until nothing is left) and waits for the log.
    public func run(until ms: Int64 = 3_600_000) async throws {
        clock.stop(at: Self.start.adding(milliseconds: ms))
        try await engine.run()
        try await engine.flush()
    }

    /// The log as `(ms, type, detail)` lines, e.g. `(2100, "call.connected", "g1-1")`.
    public func timeline(types: Set<String>? = nil) async throws -> [Line] {
        var lines: [Line] = []
        for try await event in store.events() where types?.contains(event.type) ?? true {
            let data = try JSONParser.parse(event.data)
            let detail = [data["callId"]?.stringValue, data["reason"]?.stringValue, data["answeredBy"]?.stringValue,
                          data["cause"]?.stringValue, data["result"]?.stringValue, data["endedBy"]?.stringValue]
                .compactMap { $0 }.joined(separator: " ")
            lines.append(Line(ms: event.time.milliseconds(since: Self.start), type: event.type, detail: detail))
        }
        return lines
    }

    public struct Line: Equatable, CustomStringConvertible {
        public var ms: Int64
        public var type: String
        public var detail: String
        public init(ms: Int64, type: String, detail: String = "") {
            self.ms = ms
            self.type = type
            self.detail = detail
        }
        public var description: String { "\(ms) \(type) \(detail)" }
    }
}

/// Batches are named g1, g2, … in the order they start.
public final class GroupNames: Sendable {
    public init() {}
    private let count = Mutex(0)

    public func next() -> BatchID {
        count.withLock { count in
            count += 1
            return BatchID("g\(count)")
        }
    }
}

import Synchronization

public typealias L = EngineHarness.Line
