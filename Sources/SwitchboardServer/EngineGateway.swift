import DialerCore
import DialerEngine
import Synchronization

/// How API requests reach the engine: through its clock, so they are ordered with carrier events and
/// timers, and answered once the engine's decision is durable.
///
/// If the engine stops (its log cannot be written), every request still waiting is answered with
/// `EngineUnavailable` at once, and so is every later one until an engine runs again — nothing is
/// left hanging.
public final class EngineGateway: Sendable {
    private struct State {
        var waiting: [UInt64: CheckedContinuation<Decision, any Error>] = [:]
        var nextId: UInt64 = 0
        var stopped: String?
    }

    /// The engine's clock: real in a server, virtual in a test (the API then runs on exact time too).
    let clock: any EngineClock
    private let state = Mutex(State())

    public init(clock: any EngineClock) { self.clock = clock }

    /// Hands `command` to the engine and waits for its decision.
    func decide(_ command: Command) async throws -> Decision {
        try await submit { .command(command, reply: $0) }
    }

    /// Hands a session request to the engine and waits for its decision.
    func request(_ request: SessionRequest, session: SessionID) async throws -> Decision {
        try await submit { .request(session, request, reply: $0) }
    }

    /// The engine stopped: answer everyone waiting, and refuse what comes later.
    public func engineStopped(reason: String) {
        let waiting = state.withLock { state in
            state.stopped = reason
            defer { state.waiting = [:] }
            return state.waiting
        }
        for continuation in waiting.values { continuation.resume(throwing: EngineUnavailable(reason: reason)) }
    }

    /// The engine runs again (a new one, after the fault that stopped the last one cleared).
    public func engineRunning() { state.withLock { $0.stopped = nil } }

    private func submit(_ input: (@escaping EngineReply) -> EngineInput) async throws -> Decision {
        try await withCheckedThrowingContinuation { continuation in
            let admitted = state.withLock { state -> Result<UInt64, EngineUnavailable> in
                if let reason = state.stopped { return .failure(EngineUnavailable(reason: reason)) }
                state.nextId += 1
                state.waiting[state.nextId] = continuation
                return .success(state.nextId)
            }
            switch admitted {
            case .failure(let unavailable): continuation.resume(throwing: unavailable)
            case .success(let id):
                let reply: EngineReply = { [self] result in
                    guard let waiting = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return }
                    waiting.resume(with: result.mapError { $0 as any Error })
                }
                clock.schedule(input(reply), at: clock.now)
            }
        }
    }
}

/// The engine is not running: the request cannot be decided (503).
public struct EngineUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "the dialer engine has stopped: \(reason)" }
}
