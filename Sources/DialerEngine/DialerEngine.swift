import DialerCore
import EventStore
import Foundation
import CoreMetrics
import Synchronization
import WritePath
import SwitchboardJSON
import SwitchboardBasics

/// The engine that works the queues: the service shell around `EngineCore`.
///
/// One loop takes inputs from the clock in time order (carrier events, timers, requests, events other
/// writers logged), decides them on the state folded from the log, hands the resulting events to the
/// `LogWriter` and carries out the actions they call for. It keeps no state the log cannot rebuild: on
/// start it folds the log and reconciles batches that were live when the process stopped.
///
/// **Write-ahead for what cannot be undone.** A call is placed with the carrier only once its
/// `call.dialed` is durable. What reduces harm — cancelling a losing call, hanging up — is sent at once
/// and recorded right after.
///
/// **Other writers are normal.** The engine follows the log and folds what others write (a supervisor's
/// pause, contacts added, sessions started elsewhere). When one of its own appends is refused because
/// another writer moved a stream first, it re-reads the log and decides those commands again (bounded).
///
/// The engine is owned by the task that runs it; other tasks talk to it through `clock.schedule`.
public final class DialerEngine<Clock: EngineClock> {
    public let clock: Clock
    public let carrier: any CarrierAdapter
    public internal(set) var state = DialerState()
    let store: any EventStore
    let writer: LogWriter
    let ids: any EventIDGenerator
    let batchIds: @Sendable () -> BatchID
    /// Which agents' sessions this engine works (every agent unless told otherwise).
    let drives: (@Sendable (AgentID) -> Bool)?
    var streamVersions: [String: Int64] = [:]
    /// Events folded from the log after start-up to recover from write conflicts (each catch-up reads
    /// only what its durable fold lacks).
    public internal(set) var caughtUpEvents = 0
    /// Decisions handed to the writer and not yet known to be durable, in the order they were made.
    var inFlight: [InFlight] = []
    var nextTicket = 0
    let shared = WriteTracking()
    var follower: Task<Void, Never>?
    /// Every decided batch of events, in order (for observers such as tests and the live feed).
    public var onEvents: (([DialerEvent], Timestamp) -> Void)?
    /// Called as a carrier event is taken up, before anything is decided (for latency measurements).
    public var onCarrierEvent: ((CarrierEvent) -> Void)?
    /// When each batch's answer was taken up, until its losing calls are cancelled (a batch whose
    /// answer has no sibling to cancel is forgotten with the next cancel, or when the table fills).
    var answeredAt: [BatchID: ContinuousClock.Instant] = [:]
    let answerToLastCancel: CoreMetrics.Timer
    /// The CPU time of deciding (`switchboard_work_seconds_total{stage="engine"}`).
    let work: WorkMeter
    let writeConflicts: Counter
    /// Called (on the log's thread) each time a decision of this engine is durable, with the position:
    /// proof that the log can be written (health recovers on it after a failed write).
    public var onDurable: (@Sendable (Int64) -> Void)?

    /// A decision on its way to the log: what to decide again if another writer got in first, and
    /// the calls to place once it is durable.
    struct InFlight {
        var ticket: Int
        var command: Command
        var attempt: Int
        var ids: [UUID]
        var placements: [PlaceCallRequest]
        /// Who waits for this decision: answered when it is durable, or after it is decided again.
        var reply: EngineReply?
    }

    public init(store: any EventStore, clock: Clock, carrier: any CarrierAdapter,
                ids: any EventIDGenerator = TimeOrderedEventIDs(),
                batchIds: @escaping @Sendable () -> BatchID = { BatchID(TimeOrderedEventIDs().next().lowercasedString) },
                drives: (@Sendable (AgentID) -> Bool)? = nil, measurements: Measurements = .none) {
        self.store = store
        self.clock = clock
        self.carrier = carrier
        self.ids = ids
        self.batchIds = batchIds
        self.drives = drives
        writer = LogWriter(store: store, measurements: measurements)
        answerToLastCancel = measurements.timer(Measurements.Name.answerToLastCancelSeconds)
        work = measurements.work.engine
        writeConflicts = measurements.counter(Measurements.Name.writeConflicts)
    }

    deinit { follower?.cancel() }

    /// Folds the log, starts following it, and reconciles what was live when the engine last stopped.
    /// Call once, before `run`.
    public func start() async throws {
        try await reread()
        let head = state.position
        shared.durablePosition.withLock { $0 = head }
        let subscription = store.subscribe(after: head)
        let (clock, shared) = (self.clock, self.shared)
        follower = Task {
            do {
                for try await recorded in subscription {
                    shared.durable.withLock { try? $0.fold(recorded) }  // a stalled fold is read again by a catch-up
                    let own = shared.ownIds.withLock { $0.remove(recorded.id) != nil }
                    if !own { clock.schedule(.logged(recorded), at: clock.now) }
                }
            } catch {}  // cancelled, or the store closed: the writer reports store failures
        }
        var placed: [CallReference: String?] = [:]
        for batch in state.batches.values where !batch.isEnded {
            for call in batch.calls where call.isLive && call.isPlaced {
                placed[CallReference(batchId: batch.id, callId: call.id)] = .some(call.carrierCallId)
            }
        }
        var agents: [SessionID: AgentCall] = [:]
        for session in state.sessions.values where session.state != .ended {
            if let call = session.agentLegCallId { agents[session.id] = AgentCall(agent: session.agentId, carrierCallId: call) }
        }
        await carrier.prepare(placed: placed, agents: agents)
        carrier.connect(ClockSink(clock: clock))
        reconcile()
    }

    /// Processes inputs until the clock has none left (virtual time) or is stopped (real time), then
    /// waits for the log. Throws when the log cannot be written.
    public func run() async throws {
        while true {
            try await settle()
            if let (time, input, late) = await clock.next() {
                // What is due at this instant is decided before the log is written, so it shares one
                // commit (a batch ending and the next starting: one fsync, one write to each feed
                // socket) — up to the first decision that places a call, whose dial goes to the log
                // at once (the call is placed once it is durable).
                work.measure {
                    let before = inFlight.count
                    writer.hold()
                    handle(input, at: time, late: late)
                    while !inFlight.dropFirst(before).contains(where: { !$0.placements.isEmpty }),
                          let (time, input, late) = clock.nextDue() {
                        handle(input, at: time, late: late)
                    }
                    writer.release()
                }
                continue
            }
            // Nothing left to do: wait for the log. A conflict found now is decided again, which may
            // schedule more inputs.
            await writer.idle()
            guard !inFlight.isEmpty || writer.haltedBy != nil else { return }
        }
    }

    /// Waits until every decision so far is in the log.
    public func flush() async throws { try await writer.flush() }

    // MARK: - Inputs

    /// `late`: how long after it was due the input came out of the clock (an answer's cancels are
    /// measured from when the carrier reported it, the engine's own queue included).
    func handle(_ input: EngineInput, at now: Timestamp, late: Duration = .zero) {
        switch input {
        case .carrier(let event):
            onCarrierEvent?(event)
            if case .answered(let reference, _) = event {
                if answeredAt.count >= 1024 { answeredAt.removeAll(keepingCapacity: true) }
                answeredAt[reference.batchId] = answeredAt[reference.batchId] ?? .now - late
            }
            guard let command = EngineCore.command(for: event, in: state) else { return }
            decide(command, at: now)
        case .timer(let timer):
            let actions = EngineCore.actions(for: timer, in: state, minimumStaggerMs: carrier.minimumStaggerMs, newGroupId: batchIds)
            for action in actions {
                if case .decide(let command) = action {
                    var result = decide(command, at: now)
                    // A batch name already taken (ids restarted after a crash): take another.
                    for _ in 0..<5 {
                        guard case .failure(.groupAlreadyExists) = result, case .startBatch(let sessionId, _, let minimum) = command
                        else { break }
                        result = decide(.startBatch(sessionId: sessionId, batchId: batchIds(), minimumStaggerMs: minimum), at: now)
                    }
                    if case .failure(.nothingToDial) = result, case .startBatch(let sessionId, _) = timer {
                        execute(EngineCore.retryAfterStarved(sessionId, in: state, now: now), at: now)
                    }
                    // Everyone left waits for a retry time or their calling hours: wake when the first one comes.
                    if case .failure(let refusal) = result, let until = refusal.waitsUntil,
                        case .startBatch(let sessionId, let after) = timer
                    {
                        execute([.startTimer(.startBatch(sessionId, after: after), at: until)], at: now)
                    }
                } else {
                    execute([action], at: now)
                }
            }
        case .command(let command, let reply):
            decide(command, at: now, reply: reply)
        case .request(let sessionId, let request, let reply):
            switch EngineCore.command(for: request, session: sessionId, in: state) {
            case .failure(let error): reply?(.failure(error))
            case .success(let command): decide(command, at: now, reply: reply)
            }
        case .deferred(let work):
            if let next = work() { handle(next, at: now, late: late) }
        case .logged(let recorded):
            fold(foreign: recorded, at: now)
        }
    }

    /// Decides `command`, folds its events and hands them to the log, and carries out their reactions:
    /// harm-reducing ones at once, placing calls once the log has them. `reply` gets the durable position.
    @discardableResult
    func decide(_ command: Command, at now: Timestamp, attempt: Int = 1,
                        reply: EngineReply? = nil) -> Result<[DialerEvent], DomainError> {
        let behind = clock.wallClockBehindMs
        let result = Result { () throws(DomainError) in try state.decide(command, at: now, wallClockBehindMs: behind) }
        let events: [DialerEvent]
        switch result {
        case .failure(let error):
            reply?(.failure(error))
            execute(EngineCore.actionsForRefused(command, error: error), at: now)
            return result
        case .success(let decided):
            events = decided
        }
        guard !events.isEmpty else {
            reply?(.success(Decision(events: [], position: shared.durablePosition.withLock { $0 })))
            return result
        }
        let writes = EventCodec.writes(for: events, decidedOn: state, versions: &streamVersions, ids: ids, at: now)
        let eventIds = writes.flatMap { $0.events.map(\.id) }
        shared.ownIds.withLock { $0.formUnion(eventIds) }
        for event in events { state.apply(event, position: state.position + 1, at: now) }
        onEvents?(events, now)
        var placements: [PlaceCallRequest] = []
        var immediate: [EngineAction] = []
        for action in EngineCore.reactions(to: events, in: state, now: now) where isMine(action) {
            if case .placeCall(let request) = action { placements.append(request) } else { immediate.append(action) }
        }
        let ticket = nextTicket
        nextTicket += 1
        inFlight.append(InFlight(ticket: ticket, command: command, attempt: attempt, ids: eventIds, placements: placements,
                                 reply: reply))
        let (shared, clock, onDurable) = (self.shared, self.clock, self.onDurable)
        let placing = !placements.isEmpty && !clock.waitsForDurableDials
        writer.submit(writes) { written in
            switch written {
            case .success(let recorded):
                let position = recorded.last?.position ?? 0
                shared.durablePosition.withLock { $0 = max($0, position) }
                shared.outcomes.withLock { $0[ticket] = true }
                onDurable?(position)
                reply?(.success(Decision(events: events, position: position)))
                // Its calls are placed by the loop (`settle`): wake it, if it waits for its next input.
                if placing { clock.schedule(.deferred({ nil }), at: clock.now) }
            case .failure:
                shared.outcomes.withLock { $0[ticket] = false }  // decided again (and replied) after a re-read
                // The loop may be waiting for its next input: wake it, so a failed write is answered
                // now (a conflict decided again, anything else stopping the engine), not at the next input.
                clock.schedule(.deferred({ nil }), at: clock.now)
            }
        }
        execute(immediate, at: now)
        return result
    }

    /// Called when a command is given up after losing to other writers `LogWriter.maxAttempts` times.
    public var onRefusal: ((DomainError) -> Void)?

    func execute(_ actions: [EngineAction], at now: Timestamp) {
        var cancelled: BatchID?
        defer {
            // A batch's losing calls are cancelled together, in one reaction: the last one is sent now.
            if let cancelled, let answered = answeredAt.removeValue(forKey: cancelled) {
                answerToLastCancel.recordElapsed(since: answered)
            }
        }
        for action in actions {
            switch action {
            case .decide(let command): clock.schedule(.command(command, reply: nil), at: now)
            case .placeCall(let request): carrier.placeCall(request)
            case .cancelCall(let reference):
                carrier.cancel(reference)
                cancelled = reference.batchId
            case .hangUpCall(let reference): carrier.hangUp(reference)
            case .bridge(let reference, let agent): carrier.bridge(reference, to: agent)
            case .playSafeHarbor(let reference, let message): carrier.playSafeHarbor(reference, message: message)
            case .connectAgent(let session, let agent, let endpoint, let callerId):
                carrier.connectAgent(session, agent: agent, endpoint: endpoint, callerId: callerId)
            case .disconnectAgent(let session): carrier.disconnectAgent(session)
            case .startTimer(let timer, let time): clock.schedule(.timer(timer), at: time)
            }
        }
    }
}


/// What the engine's loop and the writer's completions share.
final class WriteTracking: Sendable {
    /// Whether each in-flight decision (by ticket) was written (`true`) or refused (`false`).
    let outcomes = Mutex<[Int: Bool]>([:])
    /// Ids of events this engine submitted, so the log follower can tell them from other writers'.
    let ownIds = Mutex<Set<UUID>>([])
    /// The log position of the engine's last durable decision.
    let durablePosition = Mutex<Int64>(0)
    /// The log folded as far as the follower has read it — own decisions and other writers' alike,
    /// in log order: a prefix of the log, so a write conflict catches up from here, not position 0.
    let durable = Mutex(DurableFold())
}

/// A fold of a prefix of the log, with each stream's version in it.
struct DurableFold: Sendable {
    var state = DialerState()
    var versions: [String: Int64] = [:]
    /// An event could not be folded: what follows it is not folded either (it would no longer be a
    /// prefix), and a catch-up reads the whole log, as start-up does.
    var stalled = false

    mutating func fold(_ recorded: RecordedEvent) throws {
        guard !stalled, recorded.position > state.position else { return }  // had already (a catch-up read it first)
        do {
            try state.apply(recorded)
        } catch {
            stalled = true
            throw error
        }
        versions[recorded.stream] = recorded.streamVersion
    }
}

/// Carrier events enter the engine through its clock, so they are ordered with everything else.
struct ClockSink<Clock: EngineClock>: CarrierEventSink {
    let clock: Clock
    func deliver(_ event: CarrierEvent) { clock.schedule(.carrier(event), at: clock.now) }
}

extension Command {
    /// The batch a command is about, if any (to tell whose work it is).
    var batchId: BatchID? {
        switch self {
        case .cancelBatch(let g), .endLosingCalls(let g): g
        case .placeCall(let g, _), .recordRinging(let g, _), .recordAnswer(let g, _, _), .recordNoAnswer(let g, _, _),
             .recordFailure(let g, _, _), .recordHangup(let g, _, _): g
        case .startBatch(_, let g, _): g
        default: nil
        }
    }

    /// The session a command is about, if any.
    var sessionId: SessionID? {
        switch self {
        case .startSession(let s, _, _, _, _, _, _, _), .changeSession(let s, _, _), .stopSession(let s),
             .hangUp(let s), .startBatch(let s, _, _): s
        case .pauseSession(let s), .resumeSession(let s): s
        case .recordAgentConnected(let s, _), .recordAgentDisconnected(let s, _): s
        case .recordDisposition(let s, _, _, _, _): s
        default: nil
        }
    }
}
