import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import DialerSimulation

enum EngineBenchmark {
    struct Figures {
        var agents: Int
        var batches: Int
        var events: Int
        var eventsPerSecond: Double
        var virtualHours: Double
    }

    /// `agents` sessions, each on its own queue of seeded random contacts, worked to completion on
    /// virtual time through the real engine, simulated carrier and SQLite log.
    static func run(agents: Int, contactsPerQueue: Int, in directory: URL) async throws -> Figures {
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("engine.sqlite").path)
        defer { store.close() }
        let start = Timestamp(rfc3339: "2026-01-05T17:00:00Z") ?? .epoch  // every contact's zone in calling hours
        let clock = VirtualClock(startAt: start)
        let carrier = SimulatedCarrier(clock: clock, seed: 42)
        let counter = LockedCounter(7)
        let engine = DialerEngine(store: store, clock: clock, carrier: carrier, ids: TimeOrderedEventIDs(),
                                  batchIds: { BatchID("g" + String(counter.nextRandom(), radix: 36)) })
        try await engine.start()
        let callerIds = ["+15125550100", "+17135550100", "+18005550100", "+12125550100"].compactMap(PhoneNumber.init)
        for agent in 0..<agents {
            let queueId = QueueID("q\(agent)")
            let contacts = (0..<contactsPerQueue).map { index in
                NewContact(contactId: ContactID("c\(index)"),
                           phone: PhoneNumber("+1\([512, 713, 212, 415][index % 4])555\(1000 + (agent * 7 + index) % 9000)")
                               ?? callerIds[0])
            }
            clock.schedule(.command(.createQueue(queueId: queueId, name: "Queue \(agent)", segment: nil, maxAttempts: 2,
                                                 contacts: contacts), reply: nil), at: start)
            clock.schedule(.command(.startSession(sessionId: SessionID("s\(agent)"), agentId: AgentID("a\(agent)"),
                                                  queueId: queueId, mode: .parallel, profile: .auto, settings: SessionSettings(wrapUpMs: 0),
                                                  callerIds: callerIds), reply: nil),
                           at: start.adding(milliseconds: Int64(agent % 1000)))
        }
        let began = now()
        try await engine.run()
        try await engine.flush()
        let seconds = Double(now() - began) / 1e9
        let events = Int(try await store.headPosition())
        return Figures(agents: agents, batches: engine.state.batches.count, events: events,
                       eventsPerSecond: Double(events) / seconds,
                       virtualHours: Double(clock.now.milliseconds(since: start)) / 3_600_000)
    }

    /// On the real clock with the in-process carrier: from the moment the engine takes up the winning
    /// answer to the moment the last sibling's cancel has been handed to the carrier.
    static func answerToCancel(batches: Int, in directory: URL) async throws -> (p50: Double, p99: Double, samples: Int) {
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("latency.sqlite").path)
        defer { store.close() }
        // Shifted so the contacts (Austin numbers) are at midday, inside their calling hours, whenever it runs.
        let utcHour = Int(SystemClock().now.millisecondsSinceEpoch / 3_600_000 % 24)
        let shift = (18 - utcHour + 36) % 24 - 12  // 18:00 UTC is 12:00 or 13:00 in Austin; within −12…11
        let clock = SystemClock(sources: SystemClock.Sources.system.shifted(byHours: shift))
        let simulated = SimulatedCarrier(clock: clock, seed: 5)
        let carrier = TimingCarrier(simulated)
        let engine = DialerEngine(store: store, clock: clock, carrier: carrier)
        try await engine.start()
        let answeredAt = Mutex<[CallReference: UInt64]>([:])
        engine.onCarrierEvent = { event in
            if case .answered(let reference, .human) = event {
                let time = now()
                answeredAt.withLock { $0[reference] = time }
            }
        }
        // Five lines, no stagger, no wrap-up: one contact answers after 20 ms and talks 5 ms; four keep ringing.
        var contacts: [NewContact] = []
        for batch in 0..<batches {
            for line in 0..<5 {
                var script: JSONObject = line == 0 ? ["ringMs": 20, "answer": "human", "talkMs": 5] : ["answer": "none"]
                script["note"] = .int(Int64(batch))
                contacts.append(NewContact(contactId: ContactID("b\(batch)-l\(line)"),
                                           phone: PhoneNumber("+1512\(2_000_000 + batch * 5 + line)") ?? DemoScenario.callerIds[0], script: script))
            }
        }
        // Done once every batch has its winner: the losers, cut short, would be dialled again (a cut-short
        // call is not an attempt) and ring out on the real clock, which this figure is not about.
        let connected = Mutex(0)
        engine.onEvents = { events, _ in
            let winners = events.count { if case .callConnected = $0 { true } else { false } }
            guard winners > 0 else { return }
            let total = connected.withLock { count in
                count += winners
                return count
            }
            if total >= batches { clock.stop() }
        }
        // A refused set-up would leave the engine waiting for ever: fail loudly instead.
        let refused: EngineReply = { result in
            if case .failure(let error) = result {
                FileHandle.standardError.write(Data("answer_to_cancel set-up refused: \(error)\n".utf8))
                clock.stop()
            }
        }
        // With no safe-harbor message a queue dials one line at a time (nobody may be abandoned without
        // it): this figure is about five lines, so the organisation has one.
        let message = "This is the Switchboard benchmark calling. Call us back at 512 555 0100. Press 9 to stop our calls."
        clock.schedule(.command(.setOrganisationSafeHarbor(message: message), reply: refused), at: clock.now)
        clock.schedule(.command(.createQueue(queueId: "latency", name: "Latency", segment: nil, maxAttempts: 1,
                                             contacts: contacts), reply: refused), at: clock.now)
        clock.schedule(.command(.startSession(sessionId: "s", agentId: "a", queueId: "latency", mode: .parallel,
                                              profile: .fixed(.aggressive), settings: SessionSettings(staggerMs: 0, cooldownMs: 0, wrapUpMs: 0),
                                              callerIds: DemoScenario.callerIds), reply: refused), at: clock.now)
        try await engine.run()
        let answers = answeredAt.withLock { $0 }
        var samples: [Double] = []
        for (group, lastCancel) in carrier.lastCancelByGroup {
            guard let answer = answers.first(where: { $0.key.batchId == group })?.value, lastCancel >= answer else { continue }
            samples.append(Double(lastCancel - answer) / 1000)
        }
        samples.sort()
        guard !samples.isEmpty else { return (0, 0, 0) }
        return (samples[samples.count / 2], samples[min(samples.count - 1, Int(Double(samples.count) * 0.99))], samples.count)
    }
}

/// Passes every request to the simulated carrier and notes when each batch's last cancel arrived.
final class TimingCarrier<Clock: EngineClock>: CarrierAdapter {
    let inner: SimulatedCarrier<Clock>
    private let cancels = Mutex<[BatchID: UInt64]>([:])
    init(_ inner: SimulatedCarrier<Clock>) { self.inner = inner }
    var lastCancelByGroup: [BatchID: UInt64] { cancels.withLock { $0 } }
    func connect(_ sink: any CarrierEventSink) { inner.connect(sink) }
    func placeCall(_ request: PlaceCallRequest) { inner.placeCall(request) }
    func cancel(_ reference: CallReference) {
        inner.cancel(reference)
        let time = now()
        cancels.withLock { $0[reference.batchId] = time }
    }
    func hangUp(_ reference: CallReference) { inner.hangUp(reference) }
    func bridge(_ reference: CallReference, to agent: AgentID) { inner.bridge(reference, to: agent) }
    func playSafeHarbor(_ reference: CallReference, message: String) { inner.playSafeHarbor(reference, message: message) }
    func liveCalls() -> Set<CallReference> { inner.liveCalls() }
    func connectAgent(_ session: SessionID, agent: AgentID, endpoint: String, callerId: PhoneNumber) {
        inner.connectAgent(session, agent: agent, endpoint: endpoint, callerId: callerId)
    }
    func disconnectAgent(_ session: SessionID) { inner.disconnectAgent(session) }
    func liveAgents() -> Set<SessionID> { inner.liveAgents() }
}
