import EventStore
import Foundation
import Synchronization

/// Writes the engine's decisions to the log in the order they were made, without making the engine
/// wait for each fsync: decisions queue here (synchronously, so their order is kept), and one append
/// at a time takes everything queued.
///
/// The engine acts on a decision (e.g. cancels the losing calls) as soon as it is made; the log
/// catches up a moment later. If the process dies in between, restart reconciliation ends the calls
/// the log still shows as live. If an append fails, `failure` is set and the engine stops.
final class LogAppender: Sendable {
    private struct State {
        var queued: [StreamWrite] = []
        var appending = false
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var failure: EventStoreError?
        /// The log position the next event will get; checked against what the store assigns.
        var expectedPosition: Int64
    }

    private let store: any EventStore
    private let state: Mutex<State>

    init(store: any EventStore, head: Int64) {
        self.store = store
        state = Mutex(State(expectedPosition: head + 1))
    }

    var failure: EventStoreError? { state.withLock { $0.failure } }

    func submit(_ writes: [StreamWrite]) {
        let start = state.withLock { state -> Bool in
            state.queued.append(contentsOf: writes)
            guard !state.appending else { return false }
            state.appending = true
            return true
        }
        if start { Task { await drain() } }
    }

    /// Returns once everything submitted so far is durable, or throws the failure that stopped it.
    func flush() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = state.withLock { state -> Result<Void, any Error>? in
                if let failure = state.failure { return .failure(failure) }
                if !state.appending, state.queued.isEmpty { return .success(()) }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    private func drain() async {
        enum Step {
            case append([StreamWrite], expected: Int64)
            case done([CheckedContinuation<Void, any Error>], EventStoreError?)
        }
        while true {
            let step = state.withLock { state -> Step in
                guard !state.queued.isEmpty, state.failure == nil else {
                    // Checked and ended under one lock: a later submit starts a new drain.
                    state.appending = false
                    defer { state.waiters = [] }
                    return .done(state.waiters, state.failure)
                }
                defer { state.queued = [] }
                return .append(state.queued, expected: state.expectedPosition)
            }
            switch step {
            case .done(let waiters, let failure):
                for waiter in waiters {
                    if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
                }
                return
            case .append(let taken, let expected):
                var failure: EventStoreError?
                do {
                    let result = try await store.append(taken)
                    let submitted = taken.reduce(0) { $0 + $1.events.count }
                    if let first = result.recorded.first?.position, first != expected {
                        failure = .invalidAppend("another writer appended to the log (expected position \(expected), got \(first))")
                    } else if result.recorded.count != submitted {
                        // The store skips ids it already has (idempotent retries). The engine never
                        // retries, so a skipped event means a reused id: stop rather than lose it.
                        failure = .invalidAppend("\(submitted - result.recorded.count) event ids were already in the log")
                    }
                } catch let error as EventStoreError {
                    failure = error
                } catch {
                    failure = .storage("\(error)")
                }
                let count = Int64(taken.reduce(0) { $0 + $1.events.count })
                state.withLock { state in
                    state.expectedPosition += count
                    if let failure { state.failure = failure }
                }
            }
        }
    }
}
