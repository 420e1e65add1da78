import DialerCore
import DialerSimulation
import EventStore
import Foundation
import HeapModule
import WritePath
import SwitchboardJSON
import SwitchboardBasics

/// `switchboard-bench generate`: the log a floor writes over days — agents on shifts working each
/// day's lists, every kind of event the product records (tokens, caller IDs, do-not-call, safe harbor,
/// pauses, mode changes, dispositions, queues stopped and failed), calling hours kept by the same
/// `decide` that keeps them live. Written through the one write path (`LogWriter`, many decisions to an
/// append), so it runs at the speed of the domain, not of a carrier's clock.
///
/// Time is the floor's: each agent's next step waits in one queue ordered by time, so the log's times
/// only grow and the agents' calls interleave as they would on a real floor.
struct FloorLog {
    struct Shape: Sendable {
        /// Groups of agents; each group works one list a day.
        var teams = 20
        var agentsPerTeam = 5
        /// A list's size: a team that finishes one gets the next.
        var contactsPerList = 500
        var seed: UInt64 = 2026
    }

    struct Summary {
        var events: Int
        var days: Int
        var batches: Int
        var firstTime: Timestamp
        var lastTime: Timestamp
        var eventTypes: Set<String>
    }

    /// What an agent does next, at a time.
    enum Step {
        case startShift
        case startBatch
        case place(BatchID, CallID)
        case ringing(BatchID, CallID)
        case outcome(BatchID, CallID)
        /// A second person answers in the moment before the losing lines are cancelled.
        case raceAnswer(BatchID, CallID)
        case endLosers(BatchID)
        case safeHarborStarted(BatchID, CallID)
        case safeHarborEnded(BatchID, CallID)
        case hangUp(BatchID, CallID)
        case disposition(CallID)
        case pause, resume
        case changeMode
        case cancel(BatchID)
        case pauseList(QueueID), resumeList(QueueID)
    }

    struct Due: Comparable {
        var time: Int64
        var sequence: Int
        var agent: Int
        var step: Step
        static func < (a: Due, b: Due) -> Bool { (a.time, a.sequence) < (b.time, b.sequence) }
        static func == (a: Due, b: Due) -> Bool { (a.time, a.sequence) == (b.time, b.sequence) }
    }

    struct Agent {
        var id: AgentID
        var team: Int
        var session: SessionID?
        var shift = 0
        var shiftEnds: Int64 = 0
        var batches = 0
        var agentLeg = false
    }

    static let day: Int64 = 86_400_000
    /// `SWITCHBOARD_TRACE_REFUSALS=1`: say each refused command (late reports are refused by design).
    static let traceRefusals = ProcessInfo.processInfo.environment["SWITCHBOARD_TRACE_REFUSALS"] == "1"
    /// Monday 5 January 2026, 13:00Z: 08:00 in New York, before the working day further west.
    static let firstShift: Int64 = 1_767_618_000_000
    static let areaCodes = ["212", "512", "713", "415", "305", "617"]
    static let callerIds = areaCodes.compactMap { PhoneNumber("+1\($0)5550100") }

    private(set) var state = DialerState()
    private var rng: SplitMix64
    private let ids: SeededEventIDs
    private let writer: LogWriter
    private var versions: [String: Int64] = [:]
    private var pending = 0
    private var produced = 0
    private var batchCount = 0
    private var eventTypes: Set<String> = []
    private var now: Int64 = firstShift
    private var agenda = Heap<Due>()
    private var sequence = 0
    private var agents: [Agent] = []
    private var phones = 0
    private let shape: Shape
    /// The team's list today, and the day it is for.
    private var lists: [Int: (queue: QueueID, day: Int, number: Int)] = [:]

    init(store: any EventStore, shape: Shape) {
        self.shape = shape
        rng = SplitMix64(seed: shape.seed)
        ids = SeededEventIDs(seed: shape.seed)
        writer = LogWriter(store: store)
    }

    /// Writes at least `target` events (it stops at the end of the step that reaches it).
    mutating func generate(events target: Int, progress: (Int, Timestamp) -> Void = { _, _ in }) async throws -> Summary {
        try await organisation()
        for team in 0..<shape.teams {
            for member in 0..<shape.agentsPerTeam {
                agents.append(Agent(id: AgentID("agent-\(team)-\(member)"), team: team))
                // Half the floor starts at 08:00 New York, half four hours later (08:00 in California).
                schedule(agents.count - 1, .startShift, at: Self.firstShift + (member % 2 == 0 ? 0 : 4 * 3_600_000))
            }
        }
        var reported = 0
        while produced < target, let due = agenda.popMin() {
            now = max(now, due.time)
            try await perform(due.step, agent: due.agent)
            if produced - reported >= 1_000_000 {
                reported = produced
                progress(produced, Timestamp(millisecondsSinceEpoch: now))
            }
        }
        try await writer.flush()
        if Self.traceRefusals {
            for agent in agents {
                guard let session = agent.session, let live = state.sessions[session] else { continue }
                let batch = live.currentBatch.flatMap { state.batches[$0] }
                FileHandle.standardError.write(Data("stuck \(agent.id) \(live.state) activity \(live.activity) batch \(String(describing: batch?.status)) calls \(batch?.calls.map { "\($0.status)" } ?? [])\n".utf8))
            }
        }
        return Summary(events: produced, days: Int((now - Self.firstShift) / Self.day) + 1, batches: batchCount,
                       firstTime: Timestamp(millisecondsSinceEpoch: Self.firstShift), lastTime: Timestamp(millisecondsSinceEpoch: now),
                       eventTypes: eventTypes)
    }

    // MARK: - The organisation, once and day by day

    private mutating func organisation() async throws {
        try await record(.addCallerIds(Self.callerIds))
        try await record(.setOrganisationSafeHarbor(message: "This call was from Switchboard Sales. We will not call you again today; to opt out call 1-800-555-0100."))
        try await record(.issueToken(tokenId: TokenID("tok-supervisor"), role: .supervisor, agentId: nil, label: "floor supervisor",
                                     hashPrefix: "5a5a5a5a", expiresAt: nil))
        try await record(.issueToken(tokenId: TokenID("tok-auditor"), role: .auditor, agentId: nil, label: "auditor",
                                     hashPrefix: "a0d1a0d1", expiresAt: nil))
        for team in 0..<shape.teams {
            for member in 0..<shape.agentsPerTeam {
                try await record(.issueToken(tokenId: TokenID("tok-agent-\(team)-\(member)-0"), role: .agent,
                                             agentId: AgentID("agent-\(team)-\(member)"), label: nil, hashPrefix: "00000000", expiresAt: nil))
            }
        }
    }

    /// A team's list for `day`: created the first time one of its agents starts a shift that day, or
    /// once `finished` is done; its agents assigned to it. Yesterday's list, if still open, is stopped
    /// (one in four failed instead).
    private mutating func list(for team: Int, day: Int, after finished: QueueID? = nil) async throws -> QueueID {
        if let list = lists[team], list.day == day, list.queue != finished { return list.queue }
        let number = lists[team].map { $0.day == day ? $0.number + 1 : 0 } ?? 0
        if let old = lists[team], let queue = state.queues[old.queue], queue.state != .completed, queue.state != .stopped, queue.state != .error {
            if (team + day) % 4 == 0 {
                try await record(.failQueue(queueId: old.queue, reason: "the list's owner withdrew it"))
            } else {
                try await record(.stopQueue(queueId: old.queue))
            }
        }
        let queueId = QueueID("list-\(team)-day-\(day)-\(number)")
        let vip = team % 10 == 0
        let contacts = (0..<shape.contactsPerList).map { index in
            NewContact(contactId: ContactID("c-\(team)-\(day)-\(index)"), name: "Contact \(team)-\(day)-\(index)", phone: nextPhone(),
                       segment: !vip && index % 40 == 0 ? "vip" : nil)
        }
        // Half the list now; the rest an hour into the day (`contacts.added`).
        let half = contacts.count / 2
        try await record(.createQueue(queueId: queueId, name: vip ? "VIP renewals \(team) day \(day) #\(number + 1)" : "Leads \(team) day \(day) #\(number + 1)",
                                      segment: vip ? "vip" : nil, maxAttempts: 3, contacts: Array(contacts[..<half]), retryDelayMs: 20 * 60_000))
        pendingContacts[queueId] = Array(contacts[half...])
        try await record(.setQueueCompliance(queueId: queueId, compliance: QueueCompliance(
            safeHarborMessage: team % 3 == 0 ? nil : "Sorry we missed you: this was Switchboard team \(team). Call us back on 1-800-555-01\(10 + team % 90).",
            abandonWarnPercent: QueueCompliance.defaultWarn, abandonCapPercent: QueueCompliance.legalCap)))
        if team % 2 == 1 {
            try await record(.setQueueCallerIds(queueId: queueId, callerIds: Array(Self.callerIds.prefix(3 + team % 3))))
        }
        for member in 0..<shape.agentsPerTeam { try await record(.assignAgent(queueId: queueId, agentId: AgentID("agent-\(team)-\(member)"))) }
        // The day's do-not-call requests, some of them for people on the list.
        try await record(.addDoNotCall([contacts[7].phone, contacts[301].phone, nextPhone()], source: .request))
        if day > 0, team == 0, number == 0 {
            // An admin's day: a token rotated, a caller ID retired and brought back, a number taken off the list.
            try await record(.revokeToken(tokenId: TokenID("tok-agent-0-0-\(day - 1)")))
            try await record(.issueToken(tokenId: TokenID("tok-agent-0-0-\(day)"), role: .agent, agentId: AgentID("agent-0-0"),
                                         label: nil, hashPrefix: "00000000", expiresAt: nil))
            try await record(.removeCallerId(Self.callerIds[5]))
            try await record(.addCallerIds([Self.callerIds[5]]))
            try await record(.unassignAgent(queueId: queueId, agentId: AgentID("agent-0-1")))
            try await record(.assignAgent(queueId: queueId, agentId: AgentID("agent-0-1")))
            if let listed = lastListed { try await record(.removeDoNotCall(listed)) }
        }
        lastListed = contacts[7].phone
        if team % 5 == 1, number == 0 {
            // A supervisor holds the list for a quarter of an hour two hours into its day.
            schedule(team * shape.agentsPerTeam, .pauseList(queueId), at: now + 2 * 3_600_000)
        }
        lists[team] = (queueId, day, number)
        addLater(queueId, at: now + 3_600_000, team: team)
        return queueId
    }

    private var pendingContacts: [QueueID: [NewContact]] = [:]
    /// A number put on the do-not-call list the day before (taken off again: a request withdrawn).
    private var lastListed: PhoneNumber?
    private var additions: [(time: Int64, queue: QueueID, team: Int)] = []

    private mutating func addLater(_ queue: QueueID, at time: Int64, team: Int) {
        additions.append((time, queue, team))
    }

    /// The second half of each list, once its hour has come.
    private mutating func addDueContacts() async throws {
        guard additions.contains(where: { $0.time <= now }) else { return }
        let due = additions.filter { $0.time <= now }
        additions.removeAll { $0.time <= now }
        for addition in due {
            guard let contacts = pendingContacts.removeValue(forKey: addition.queue) else { continue }
            try await record(.addContacts(queueId: addition.queue, contacts: contacts))
            // A quiet list (its sessions waiting for hours or retries) is worked again at once.
            for member in 0..<shape.agentsPerTeam { schedule(addition.team * shape.agentsPerTeam + member, .startBatch, at: now) }
        }
    }

    private mutating func nextPhone() -> PhoneNumber {
        defer { phones += 1 }
        let area = Self.areaCodes[phones % Self.areaCodes.count]
        let exchange = 200 + (phones / Self.areaCodes.count / 10_000) % 800
        let line = (phones / Self.areaCodes.count) % 10_000
        return PhoneNumber("+1\(area)\(exchange)\(String(format: "%04d", line))") ?? Self.callerIds[0]
    }

    // MARK: - An agent's steps

    private mutating func perform(_ step: Step, agent index: Int) async throws {
        try await addDueContacts()
        var agent = agents[index]
        defer { agents[index] = agent }
        switch step {
        case .startShift:
            let day = Int((now - Self.firstShift) / Self.day)
            agent.shift += 1
            agent.batches = 0
            agent.shiftEnds = now + 8 * 3_600_000
            try await startSession(&agent, index: index, queue: try await list(for: agent.team, day: day))
            // A break mid-shift, and a change of mode after it.
            let member = index % shape.agentsPerTeam
            schedule(index, .pause, at: now + 4 * 3_600_000 + Int64(member) * 60_000)
            schedule(index, .changeMode, at: now + 5 * 3_600_000)
        case .startBatch:
            guard let session = agent.session, let live = state.sessions[session] else { return }
            if live.state == .ended, live.endReason == .queueCompleted, now < agent.shiftEnds {
                // The list is done: on to the team's next one.
                let day = Int((agent.shiftEnds - 8 * 3_600_000 - Self.firstShift) / Self.day)
                try await startSession(&agent, index: index, queue: try await list(for: agent.team, day: day, after: live.queueId))
                return
            }
            if now >= agent.shiftEnds || live.state == .ended {
                try await endShift(&agent, index: index)
                return
            }
            guard live.state == .active, live.currentBatch == nil else { return }  // paused, or a batch runs: it comes back here
            let batchId = BatchID("b-\(batchCount + 1)")
            let decided: Result<[DialerEvent], DomainError>
            do throws(DomainError) {
                decided = .success(try state.decide(.startBatch(sessionId: session, batchId: batchId), at: Timestamp(millisecondsSinceEpoch: now)))
            } catch {
                decided = .failure(error)
            }
            switch decided {
            case .success(let events):
                try await write(events)
                guard let batch = state.batches[batchId] else {
                    // The list is done (its sessions ended), or waits for hours: look again then.
                    if case .queueWaitingForHours(let e)? = events.first { schedule(index, .startBatch, at: e.until.millisecondsSinceEpoch) }
                    if state.sessions[session]?.state == .ended { try await endShift(&agent, index: index) }
                    return
                }
                batchCount += 1
                agent.batches += 1
                for call in batch.calls {
                    let placed = now + call.offsetMs
                    schedule(index, .place(batchId, call.id), at: placed)
                    schedule(index, .ringing(batchId, call.id), at: placed + 300 + Int64(rng.next() % 400))
                    schedule(index, .outcome(batchId, call.id), at: placed + 3_000 + Int64(rng.next() % 22_000))
                }
                // One batch in fifty the agent cancels; any batch still undecided after 90 s is cancelled too.
                schedule(index, .cancel(batchId), at: now + (rng.next() % 50 == 0 ? 1_500 : 90_000))
            case .failure(let error):
                if let until = error.waitsUntil ?? error.wrapUpEnds {
                    schedule(index, .startBatch, at: max(until.millisecondsSinceEpoch, now + 1))
                } else if case .nothingToDial = error {
                    schedule(index, .startBatch, at: now + 5_000)
                } else {
                    // Anything else (the list stopped, the session ended): the shift is over.
                    try await endShift(&agent, index: index)
                }
            }
        case .place(let batchId, let callId):
            try await record(.placeCall(batchId: batchId, callId: callId))
            try await record(.recordCarrierCall(batchId: batchId, callId: callId, carrier: "simulated", carrierCallId: "SIM-\(batchId.rawValue)-\(callId.rawValue)"))
        case .ringing(let batchId, let callId):
            try await record(.recordRinging(batchId: batchId, callId: callId))
        case .outcome(let batchId, let callId):
            guard state.batches[batchId]?.call(callId)?.isLive == true else { return }
            let roll = rng.next() % 100
            let events: [DialerEvent]
            switch roll {
            case 0..<24: events = try await record(.recordAnswer(batchId: batchId, callId: callId, answeredBy: .human))
            case 24..<42: events = try await record(.recordAnswer(batchId: batchId, callId: callId, answeredBy: .machine))
            case 42..<46: events = try await record(.recordAnswer(batchId: batchId, callId: callId, answeredBy: .unknown))
            case 46..<90: events = try await record(.recordNoAnswer(batchId: batchId, callId: callId, cause: roll < 84 ? .timeout : .busy))
            default: events = try await record(.recordFailure(batchId: batchId, callId: callId, reason: roll < 98 ? "network" : "invalid-number"))
            }
            for event in events {
                switch event {
                case .callConnected(let e):
                    // The losing lines are cancelled as the engine does at once, but the carrier takes a
                    // moment; in one conversation in twelve, another person answers in it (an abandoned call).
                    if rng.next() % 12 == 0, let loser = state.batches[e.batchId]?.liveCalls.first(where: { $0.id != e.callId && $0.isPlaced }) {
                        schedule(index, .raceAnswer(e.batchId, loser.id), at: now + 80)
                        schedule(index, .endLosers(e.batchId), at: now + 250)
                    } else {
                        for followUp in DialerPolicy.followUps(after: [event]) { try await record(followUp) }
                    }
                    schedule(index, .hangUp(e.batchId, e.callId), at: now + 20_000 + Int64(rng.next() % 160_000))
                case .callAbandoned(let e) where e.safeHarbor == .requested:
                    schedule(index, .safeHarborStarted(e.batchId, e.callId), at: now + 150 + Int64(rng.next() % 600))
                default: break
                }
            }
            nextBatchIfDone(batchId, agent: index)
        case .raceAnswer(let batchId, let callId):
            for event in try await record(.recordAnswer(batchId: batchId, callId: callId, answeredBy: .human)) {
                if case .callAbandoned(let e) = event, e.safeHarbor == .requested {
                    schedule(index, .safeHarborStarted(e.batchId, e.callId), at: now + 150 + Int64(rng.next() % 600))
                }
            }
        case .endLosers(let batchId):
            try await record(.endLosingCalls(batchId: batchId))
        case .safeHarborStarted(let batchId, let callId):
            try await record(.recordSafeHarborStarted(batchId: batchId, callId: callId))
            schedule(index, .safeHarborEnded(batchId, callId), at: now + 6_000)
        case .safeHarborEnded(let batchId, let callId):
            try await record(.recordSafeHarborEnded(batchId: batchId, callId: callId))
        case .hangUp(let batchId, let callId):
            guard let session = agent.session else { return }
            if rng.next() % 2 == 0 {
                try await record(.hangUp(sessionId: session))
            } else {
                try await record(.recordHangup(batchId: batchId, callId: callId, endedBy: .contact))
            }
            schedule(index, .disposition(callId), at: now + 3_000 + Int64(rng.next() % 9_000))
            nextBatchIfDone(batchId, agent: index)
        case .disposition(let callId):
            guard let session = agent.session else { return }
            // One conversation in forty ends with the person asking not to be called again.
            let outcomes: [DispositionOutcome] = [.interested, .notInterested, .notInterested, .callback, .wrongNumber, .noDecisionMaker, .other]
            let outcome = rng.next() % 40 == 0 ? .doNotCall : outcomes[Int(rng.next() % UInt64(outcomes.count))]
            try await record(.recordDisposition(sessionId: session, callId: callId, outcome: outcome,
                                                notes: outcome == .other ? "asked about pricing" : nil,
                                                callbackAt: outcome == .callback ? Timestamp(millisecondsSinceEpoch: now + 2 * 3_600_000) : nil))
            schedule(index, .startBatch, at: now + 500)
        case .pause:
            guard let session = agent.session else { return }
            try await record(.pauseSession(sessionId: session))
            schedule(index, .resume, at: now + 10 * 60_000)
        case .resume:
            guard let session = agent.session else { return }
            try await record(.resumeSession(sessionId: session))
            schedule(index, .startBatch, at: now + 1_000)
        case .changeMode:
            guard let session = agent.session, let live = state.sessions[session] else { return }
            try await record(.changeSession(sessionId: session, mode: live.mode == .single ? .parallel : .single,
                                            patch: SettingsPatch(cooldownMs: 1_500)))
        case .cancel(let batchId):
            guard state.batches[batchId]?.isEnded == false, state.batches[batchId]?.winner == nil else { return }
            // A cancel pauses the session: the agent resumes a little later.
            try await record(.cancelBatch(batchId: batchId))
            schedule(index, .resume, at: now + 20_000)
        case .pauseList(let queueId):
            try await record(.pauseQueue(queueId: queueId))
            schedule(index, .resumeList(queueId), at: now + 15 * 60_000)
        case .resumeList(let queueId):
            try await record(.resumeQueue(queueId: queueId))
            for member in 0..<shape.agentsPerTeam { schedule(agent.team * shape.agentsPerTeam + member, .startBatch, at: now + 500) }
        }
    }

    /// A session on `queue` for the rest of the agent's shift.
    private mutating func startSession(_ agent: inout Agent, index: Int, queue: QueueID) async throws {
        let member = index % shape.agentsPerTeam
        let session = SessionID("s-\(agent.id.rawValue)-\(agent.shift)-\(queue.rawValue)")
        agent.session = session
        // One agent in five works on their own phone line (a real carrier's agent leg).
        agent.agentLeg = member == 4
        try await record(.startSession(sessionId: session, agentId: agent.id, queueId: queue, mode: member == 3 ? .single : .parallel,
                                       profile: .auto, settings: SessionSettings(wrapUpMs: 10_000 + Int64(member) * 2_000),
                                       callerIds: Self.callerIds, agentEndpoint: agent.agentLeg ? "+1512555\(String(format: "%04d", index))" : nil))
        if agent.agentLeg { try await record(.recordAgentConnected(sessionId: session, carrierCallId: "CA-\(session.rawValue)")) }
        schedule(index, .startBatch, at: now + 2_000)
    }

    /// A batch over without a conversation: the next one after the cooldown.
    private mutating func nextBatchIfDone(_ batchId: BatchID, agent index: Int) {
        guard let batch = state.batches[batchId], batch.isEnded, batch.winner == nil else { return }
        schedule(index, .startBatch, at: now + 2_000)
    }

    private mutating func endShift(_ agent: inout Agent, index: Int) async throws {
        guard let session = agent.session else { return }
        if state.sessions[session]?.state != .ended {
            if agent.agentLeg { try await record(.recordAgentDisconnected(sessionId: session, reason: "the agent hung up")) }
            try await record(.stopSession(sessionId: session))
        }
        agent.session = nil
        // The same time tomorrow.
        let started = agent.shiftEnds - 8 * 3_600_000
        schedule(index, .startShift, at: started + Self.day)
    }

    // MARK: - Deciding and writing

    private mutating func schedule(_ agent: Int, _ step: Step, at time: Int64) {
        sequence += 1
        agenda.insert(Due(time: max(time, now), sequence: sequence, agent: agent, step: step))
    }

    /// Decides `command` now and writes what it decides (nothing when refused: a late or duplicate report).
    @discardableResult
    private mutating func record(_ command: Command) async throws -> [DialerEvent] {
        let events: [DialerEvent]
        do throws(DomainError) {
            events = try state.decide(command, at: Timestamp(millisecondsSinceEpoch: now))
        } catch {
            if Self.traceRefusals { FileHandle.standardError.write(Data("refused \(command): \(error)\n".utf8)) }
            return []
        }
        try await write(events)
        return events
    }

    private mutating func write(_ events: [DialerEvent]) async throws {
        guard !events.isEmpty else { return }
        let time = Timestamp(millisecondsSinceEpoch: now)
        writer.submit(EventCodec.writes(for: events, decidedOn: state, versions: &versions, ids: ids, at: time)) { _ in }
        for event in events {
            state.apply(event, position: state.position + 1, at: time)
            eventTypes.insert(event.type.rawValue)
        }
        pending += events.count
        produced += events.count
        if pending >= 4_000 {
            try await writer.flush()  // throws what stopped the writer, if anything did
            pending = 0
        }
    }
}

extension DomainError {
    /// When a session in wrap-up may dial again.
    var wrapUpEnds: Timestamp? {
        if case .inWrapUp(_, let until) = self { until } else { nil }
    }
}
