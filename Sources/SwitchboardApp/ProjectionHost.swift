import DialerCore
import EventStore
import SwitchboardJSON

/// The read side: every projection, rebuilt by folding the log at start-up and then kept current
/// from the store's subscription. API reads, the live feed and dashboards read from here.
public actor ProjectionHost {
    public let store: any EventStore
    public private(set) var state = DialerState()
    private var follower: Task<Void, Never>?
    private var waiters: [(position: Int64, continuation: CheckedContinuation<Void, Never>)] = []
    public private(set) var failure: String?

    public init(store: any EventStore) {
        self.store = store
    }

    /// Folds the log up to its current head, then follows it live.
    public func start() async throws {
        state = try await DialerState.replay(store)
        let after = state.position
        let subscription = store.subscribe(after: after)
        follower = Task { [weak self] in
            do {
                for try await recorded in subscription {
                    guard let self else { return }
                    try await self.fold(recorded)
                }
            } catch is CancellationError {
            } catch {
                await self?.fail(error)
            }
        }
    }

    public func stop() {
        follower?.cancel()
        follower = nil
    }

    /// Returns once the projections include `position` (read-your-writes for the API).
    public func waitUntil(_ position: Int64) async {
        if state.position >= position { return }
        await withCheckedContinuation { continuation in
            waiters.append((position, continuation))
        }
    }

    public var overview: SupervisorOverview { SupervisorOverview(state) }

    /// One group, without handing the whole state across the actor boundary.
    public func group(_ id: GroupID) -> Group? { state.groups[id] }

    private func fold(_ recorded: RecordedEvent) throws {
        try state.apply(recorded)
        guard !waiters.isEmpty else { return }
        let ready = waiters.filter { $0.position <= state.position }
        waiters.removeAll { $0.position <= state.position }
        for waiter in ready { waiter.continuation.resume() }
    }

    private func fail(_ error: any Error) {
        failure = "\(error)"
    }
}
