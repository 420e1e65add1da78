import DialerCore
import EventStore
import WritePath
import SwitchboardJSON
import SwitchboardBasics

/// The read side: every projection, rebuilt by folding the log at start-up and then kept current
/// from the store's subscription. API reads, the live feed and dashboards read from here.
public actor ProjectionHost {
    public let store: any EventStore
    public private(set) var state = DialerState()
    /// The compliance report's counts, kept as the log is followed (read, not folded per request).
    public private(set) var compliance = ComplianceTally()
    /// Where each session's events lie (the call-detail export reads only the sessions of its slice).
    public private(set) var sessionSpans = SessionSpans()
    private var waiters: [(position: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
    /// Why the projections stopped following the log; once set, every wait fails at once.
    public private(set) var failure: ProjectionFailure?
    /// Told of each commit as soon as it is folded (the live feed).
    private var commitObservers: [CommitObserver] = []

    /// A commit's stored events, the same decoded, and the state right after them. Called inside the
    /// actor: take what is needed from the state and hand it off (keeping the state would make the
    /// next fold copy what it changes).
    public typealias CommitObserver = @Sendable (_ commit: [RecordedEvent], _ events: [DialerEvent], _ state: DialerState) -> Void

    /// The CPU time of folding each commit (not its observers': the feed counts its own).
    let work: WorkMeter

    public init(store: any EventStore, work: WorkMeter = WorkMeter()) {
        self.store = store
        self.work = work
    }

    /// Folds the log up to its current head (call before serving reads).
    public func start() async throws {
        var compliance = ComplianceTally()
        var spans = SessionSpans()
        state = try await DialerState.replay(store) { event, position, time, found in
            compliance.count(event, at: time, found: found)
            // As the writer named it (the state it decided on is at most this one).
            spans.note(found.subject(of: event).sessionId, at: position)
        }
        self.compliance = compliance
        sessionSpans = spans
    }

    /// Follows the log from where `start` left off until cancelled. When the log cannot be read or
    /// folded, every waiting request is answered with the failure at once, and so are later ones.
    public func follow() async {
        do {
            for try await commit in store.subscribe(after: state.position).batches {
                let events = try work.measure { () throws -> [DialerEvent] in
                    var events: [DialerEvent] = []
                    events.reserveCapacity(commit.count)
                    for recorded in commit {
                        let event = try EventCodec.decode(recorded)
                        compliance.count(event, at: recorded.time, found: state)
                        sessionSpans.note(recorded.correlationId.map(SessionID.init), at: recorded.position)
                        state.apply(event, position: recorded.position, at: recorded.time)
                        events.append(event)
                    }
                    return events
                }
                for observer in commitObservers { observer(commit, events, state) }
                resumeWaiters()
            }
        } catch is CancellationError {
        } catch {
            fail(error)
        }
    }

    /// Calls `observer` with every commit folded from now on, in log order, and returns the position
    /// it starts after. The live feed hears of a commit here, not from a subscription of its own and a
    /// wait for the projections to reach it: one hand-over fewer between the log and the sockets.
    public func observeCommits(_ observer: @escaping CommitObserver) -> Int64 {
        commitObservers.append(observer)
        return state.position
    }

    /// Returns once the projections include `position` (read-your-writes for the API); throws if
    /// they stopped following the log.
    public func waitUntil(_ position: Int64) async throws {
        if state.position >= position { return }
        if let failure { throw failure }
        try await withCheckedThrowingContinuation { continuation in
            waiters.append((position, continuation))
        }
    }

    /// Reads what `body` takes from the projections, here where they live. Prefer it to `state` on
    /// hot paths: a copy of the whole state held elsewhere while events keep being folded makes each
    /// fold copy what it changes (a queue's every contact, for one call's event) — measured as tens of
    /// milliseconds of feed latency with a 6 000-contact queue.
    public func read<Value: Sendable>(_ body: (DialerState) throws -> Value) rethrows -> Value { try body(state) }

    /// The compliance report from the live counts, as of the projections' position.
    public func complianceReport(queue: QueueID?, from: Timestamp?, to: Timestamp?) -> ComplianceReport {
        compliance.report(queue: queue, from: from, to: to)
    }

    /// The sessions with events in `from...to` (of `queue`, when given).
    public func sessions(overlapping from: Int64, _ to: Int64, queue: QueueID?) -> [SessionID] {
        sessionSpans.sessions(overlapping: from, to).filter { queue == nil || state.sessions[$0]?.queueId == queue }
    }

    /// One group, without handing the whole state across the actor boundary.
    public func group(_ id: BatchID) -> Batch? { state.batches[id] }

    private func resumeWaiters() {
        guard !waiters.isEmpty else { return }
        let ready = waiters.filter { $0.position <= state.position }
        waiters.removeAll { $0.position <= state.position }
        for waiter in ready { waiter.continuation.resume() }
    }

    private func fail(_ error: any Error) {
        let failure = ProjectionFailure(reason: "\(error)")
        self.failure = failure
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter.continuation.resume(throwing: failure) }
    }
}

/// The projections stopped following the log: reads would be stale, so requests that need them fail.
public struct ProjectionFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "the projections stopped following the log: \(reason)" }
}
