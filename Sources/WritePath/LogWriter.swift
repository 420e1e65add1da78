import CoreMetrics
import EventStore
import Synchronization

/// The one way events reach the log.
///
/// Every writer — the engine, API commands, the demo, an import, later a second node — decides on the
/// state it has folded, turns the decided events into per-stream writes that expect each stream's
/// version (`EventCodec.writes`), and submits them here. Other writers are normal: when one of them
/// moved a stream first, the store refuses the append (`wrongExpectedVersion`), and the writer's owner
/// re-reads the log and decides again, at most `maxAttempts` times (then `DomainError.writeConflict`).
///
/// Writes are appended in the order they were submitted, and whatever queues while an append is in
/// flight goes into the next one (group commit): a busy engine does not wait an fsync per decision.
/// A refused append fails together with everything queued behind it (those were decided on a state
/// that included it), and the writer stays *halted* — failing every later submission at once — until
/// its owner has re-read the log and calls `resume()`.
public final class LogWriter: Sendable {
    /// How many times a command is decided before a conflict is reported.
    public static let maxAttempts = 3

    /// The recorded events of one submission, or why it was not written.
    public typealias Completion = @Sendable (Result<[RecordedEvent], any Error>) -> Void

    private struct Submission {
        var writes: [StreamWrite]
        var eventCount: Int
        var completion: Completion
    }

    private struct State {
        var queued: [Submission] = []
        var appending = false
        /// Submissions wait for `release()` (their owner is deciding more that belongs with them).
        var held = false
        var halted: (any Error)?
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    public let store: any EventStore
    private let state = Mutex(State())
    /// How long each append takes to be durable, and how many events it carries (group commit at work).
    private let appendLatency: Timer
    private let commitSize: Recorder

    public init(store: any EventStore, measurements: Measurements = .none) {
        self.store = store
        appendLatency = measurements.timer(Measurements.Name.appendSeconds)
        commitSize = measurements.histogram(Measurements.Name.commitEvents)
    }

    /// Why the writer is halted, if it is.
    public var haltedBy: (any Error)? { state.withLock { $0.halted } }

    /// Queues `writes` behind everything submitted before; `completion` runs once they are durable
    /// (or refused). Returns at once.
    public func submit(_ writes: [StreamWrite], completion: @escaping Completion) {
        let submission = Submission(writes: writes, eventCount: writes.reduce(0) { $0 + $1.events.count },
                                    completion: completion)
        enum Next { case refuse(any Error), drain, wait }
        let next = state.withLock { state -> Next in
            if let halted = state.halted { return .refuse(halted) }
            state.queued.append(submission)
            guard !state.appending, !state.held else { return .wait }
            state.appending = true
            return .drain
        }
        switch next {
        case .refuse(let error): completion(.failure(error))
        case .drain: Task { await drain() }
        case .wait: break
        }
    }

    /// Holds what is submitted from now on until `release()`, which appends it all together: decisions
    /// made in one go share a commit. Call both from the one task that submits.
    public func hold() { state.withLock { $0.held = true } }

    /// Appends what was held (behind anything in flight).
    public func release() {
        let start = state.withLock { state -> Bool in
            state.held = false
            guard !state.queued.isEmpty, !state.appending else { return false }
            state.appending = true
            return true
        }
        if start { Task { await drain() } }
    }

    /// Submits `writes` and waits until they are durable.
    public func write(_ writes: [StreamWrite]) async throws -> [RecordedEvent] {
        try await withCheckedThrowingContinuation { continuation in
            submit(writes) { continuation.resume(with: $0) }
        }
    }

    /// Returns once nothing submitted is still in flight (each submission has completed, one way or the other).
    public func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if !state.appending && state.queued.isEmpty { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Waits for everything submitted so far; throws what halted the writer, if anything did.
    public func flush() async throws {
        await idle()
        if let halted = haltedBy { throw halted }
    }

    /// Accepts submissions again after a refusal (call once the state has been re-read).
    public func resume() { state.withLock { $0.halted = nil } }

    private func drain() async {
        while true {
            enum Step { case append([Submission]), done([CheckedContinuation<Void, Never>]) }
            let step = state.withLock { state -> Step in
                guard !state.queued.isEmpty, !state.held else {
                    // Checked and ended under one lock: a later submission (or `release()`) starts a new drain.
                    state.appending = false
                    guard state.queued.isEmpty else { return .done([]) }  // held: answered after release
                    defer { state.idleWaiters = [] }
                    return .done(state.idleWaiters)
                }
                defer { state.queued = [] }
                return .append(state.queued)
            }
            switch step {
            case .done(let waiters):
                for waiter in waiters { waiter.resume() }
                return
            case .append(let batch):
                do {
                    let submitted = batch.reduce(0) { $0 + $1.eventCount }
                    let started = ContinuousClock.now
                    let result = try await store.append(batch.flatMap(\.writes))
                    appendLatency.recordElapsed(since: started)
                    commitSize.record(submitted)
                    guard result.recorded.count == submitted else {
                        // The store skips ids it already has (a retried append). Nobody here retries an
                        // append with the same ids, so a skipped event means a reused id: stop, never lose it.
                        throw EventStoreError.invalidAppend("\(submitted - result.recorded.count) event ids were already in the log")
                    }
                    var offset = 0
                    for submission in batch {
                        submission.completion(.success(Array(result.recorded[offset..<offset + submission.eventCount])))
                        offset += submission.eventCount
                    }
                } catch {
                    let behind = state.withLock { state -> [Submission] in
                        state.halted = error
                        defer { state.queued = [] }
                        return state.queued
                    }
                    for submission in batch + behind { submission.completion(.failure(error)) }
                }
            }
        }
    }
}

extension Error {
    /// Another writer moved a stream first: re-read and decide again.
    public var isWriteConflict: Bool {
        if case .wrongExpectedVersion? = self as? EventStoreError { return true }
        return false
    }
}
