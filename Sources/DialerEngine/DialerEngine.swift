import DialerCore
import EventStore
import Foundation
import SwitchboardApp
import SwitchboardJSON

/// The engine that works the queues: the service shell around `EngineCore`.
///
/// One loop takes inputs from the clock in time order (carrier events, timers, requests), decides
/// them on the state folded from the log, hands the resulting events to the log and carries out the
/// actions they call for. It keeps no state the log cannot rebuild: on start it folds the log and
/// reconciles batches that were live when the process stopped.
///
/// The engine is owned by the task that runs it; other tasks talk to it through `clock.schedule`.
public final class DialerEngine<Clock: EngineClock> {
    public let clock: Clock
    public let carrier: any CarrierAdapter
    public private(set) var state = DialerState()
    private let store: any EventStore
    private let ids: any EventIDGenerator
    private let groupIds: @Sendable () -> GroupID
    private var streamVersions: [String: Int64] = [:]
    private var appender: LogAppender
    /// Every decided batch of events, in order (for observers such as tests and the live feed).
    public var onEvents: (([DialerEvent], Timestamp) -> Void)?
    /// Called as a carrier event is taken up, before anything is decided (for latency measurements).
    public var onCarrierEvent: ((CarrierEvent) -> Void)?

    public init(store: any EventStore, clock: Clock, carrier: any CarrierAdapter,
                ids: any EventIDGenerator = TimeOrderedEventIDs(),
                groupIds: @escaping @Sendable () -> GroupID = { GroupID(TimeOrderedEventIDs().next().lowercasedString) }) {
        self.store = store
        self.clock = clock
        self.carrier = carrier
        self.ids = ids
        self.groupIds = groupIds
        appender = LogAppender(store: store, head: 0)
    }

    /// Folds the log and reconciles what was live when the engine last stopped. Call once, before `run`.
    public func start() async throws {
        var position: Int64 = 0
        while true {
            let page = try await store.readAll(after: position, limit: 4096)
            guard let last = page.last else { break }
            for recorded in page {
                try state.apply(recorded)
                streamVersions[recorded.stream] = recorded.streamVersion
            }
            position = last.position
        }
        appender = LogAppender(store: store, head: state.position)
        carrier.connect(ClockSink(clock: clock))
        reconcile()
    }

    /// Processes inputs until the clock has none left (virtual time) or is stopped (real time).
    public func run() async throws {
        while let (time, input) = await clock.next() {
            handle(input, at: time)
            if let failure = appender.failure { throw failure }
        }
        try await appender.flush()
    }

    /// Waits until every decision so far is in the log.
    public func flush() async throws { try await appender.flush() }

    // MARK: - Inputs

    private func handle(_ input: EngineInput, at now: Timestamp) {
        switch input {
        case .carrier(let event):
            onCarrierEvent?(event)
            guard let command = EngineCore.command(for: event, in: state) else { return }
            if case .failure(let error) = decide(command, at: now) {
                execute(EngineCore.actionsForRefused(event, error: error), at: now)
            }
        case .timer(let timer):
            let actions = EngineCore.actions(for: timer, in: state, newGroupId: groupIds)
            for action in actions {
                if case .decide(let command) = action {
                    var result = decide(command, at: now)
                    // A batch name already taken (ids restarted after a crash): take another.
                    for _ in 0..<5 {
                        guard case .failure(.groupAlreadyExists) = result, case .startBatch(let sessionId, _) = command
                        else { break }
                        result = decide(.startBatch(sessionId: sessionId, groupId: groupIds()), at: now)
                    }
                    if case .failure(.nothingToDial) = result, case .startBatch(let sessionId) = timer {
                        execute(EngineCore.retryAfterStarved(sessionId, in: state, now: now), at: now)
                    }
                } else {
                    execute([action], at: now)
                }
            }
        case .command(let command, let reply):
            // Decide first: `reply?(decide(...))` would skip the decision when there is no reply.
            let outcome = decide(command, at: now)
            reply?(outcome.map { Decision(events: $0, position: state.position) })
        case .request(let sessionId, let request, let reply):
            switch EngineCore.commands(for: request, session: sessionId, in: state) {
            case .failure(let error): reply?(.failure(error))
            case .success(let commands):
                var all: [DialerEvent] = []
                for command in commands {
                    switch decide(command, at: now) {
                    case .success(let events): all += events
                    case .failure(let error):
                        reply?(.failure(error))
                        return
                    }
                }
                reply?(.success(Decision(events: all, position: state.position)))
            }
        case .deferred(let work):
            if let next = work() { handle(next, at: now) }
        }
    }

    /// Decides `command`, folds and logs its events, and carries out their reactions.
    @discardableResult
    private func decide(_ command: Command, at now: Timestamp) -> Result<[DialerEvent], DomainError> {
        let result = Result { () throws(DomainError) in try state.decide(command) }
        guard case .success(let events) = result, !events.isEmpty else { return result }
        appender.submit(EventCodec.writes(for: events, decidedOn: state, versions: &streamVersions, ids: ids, at: now))
        for event in events { state.apply(event, position: state.position + 1, at: now) }
        onEvents?(events, now)
        execute(EngineCore.reactions(to: events, in: state, now: now), at: now)
        return result
    }

    private func execute(_ actions: [EngineAction], at now: Timestamp) {
        for action in actions {
            switch action {
            case .decide(let command): clock.schedule(.command(command, reply: nil), at: now)
            case .placeCall(let request): carrier.placeCall(request)
            case .cancelCall(let reference): carrier.cancel(reference)
            case .hangUpCall(let reference): carrier.hangUp(reference)
            case .bridge(let reference, let agent): carrier.bridge(reference, to: agent)
            case .startTimer(let timer, let time): clock.schedule(.timer(timer), at: time)
            }
        }
    }

    // MARK: - Restart

    /// Batches that were live when the engine stopped: calls the carrier no longer has end as failed
    /// (`engine-restart`); calls it still has go on; planned calls of a batch without a winner are
    /// placed as planned; sessions go on (or stay paused) as the log says. Nothing is dialled twice.
    private func reconcile() {
        let now = clock.now
        let live = carrier.liveCalls()
        // Sessions that were between batches; those with a live batch go on when it ends (below).
        let idle = state.sessions.values.filter { $0.state == .active && $0.currentGroup == nil }.map(\.id).sorted()
        for group in state.groups.values.sorted(by: { $0.id < $1.id }) where !group.isEnded {
            for call in group.calls where call.isLive {
                let reference = CallReference(groupId: group.id, callId: call.id)
                if call.isPlaced {
                    if !live.contains(reference) {
                        decide(.recordFailure(groupId: group.id, callId: call.id, reason: "engine-restart"), at: now)
                    }
                } else if group.winner == nil {
                    clock.schedule(.timer(.placeCall(reference)),
                                   at: max(now, group.startedAt.adding(milliseconds: call.offsetMs)))
                }
            }
            if group.winner != nil, state.groups[group.id]?.isEnded == false {
                decide(.endLosingCalls(groupId: group.id), at: now)
            }
        }
        for sessionId in idle { clock.schedule(.timer(.startBatch(sessionId)), at: now) }
    }
}

/// Carrier events enter the engine through its clock, so they are ordered with everything else.
struct ClockSink<Clock: EngineClock>: CarrierEventSink {
    let clock: Clock
    func deliver(_ event: CarrierEvent) { clock.schedule(.carrier(event), at: clock.now) }
}
