import DialerCore
import Foundation
import Synchronization
import EventStore
import SwitchboardJSON
import SwitchboardBasics

/// Something the engine reacts to.
public enum EngineInput: Sendable {
    /// A carrier's report about a call.
    case carrier(CarrierEvent)
    /// One of the engine's own timers.
    case timer(EngineTimer)
    /// A request from an agent, a supervisor or the engine itself (a follow-up decision).
    case command(Command, reply: EngineReply?)
    /// A request about a session (cancel its batch, pause, hang up, …).
    case request(SessionID, SessionRequest, reply: EngineReply?)
    /// Work a component scheduled for later (the simulated carrier's next step); it may produce an input.
    case deferred(@Sendable () -> EngineInput?)
    /// An event another writer put in the log (an API on another node, an import, a second engine).
    case logged(RecordedEvent)
}

/// What a command came to once durable: its events and the log position after them (wait for a
/// projection to reach it to read your own write), or why it was refused.
public struct Decision: Sendable {
    public var events: [DialerEvent]
    public var position: Int64
}

public typealias EngineReply = @Sendable (Result<Decision, DomainError>) -> Void

/// The engine's timers.
public enum EngineTimer: Hashable, Sendable {
    /// Place a planned call of a batch (the stagger).
    case placeCall(CallReference)
    /// Start the session's next batch (at once after a conversation, after the cooldown otherwise).
    /// It carries the batch it follows (`nil` for the first): set for another moment, it does nothing.
    case startBatch(SessionID, after: GroupID?)
    /// A safety net in case the carrier never reports the end of an unanswered call.
    case ringGuard(CallReference)
}

/// The engine's source of time and of inputs in time order.
///
/// `VirtualClock` runs a discrete-event timeline: deterministic, instant, for tests and simulations.
/// `SystemClock` runs on real time for the server. The engine is written against this protocol only.
public protocol EngineClock: Sendable {
    var now: Timestamp { get }
    /// Delivers `input` at `time` (or at once, if `time` has passed). Inputs due at the same instant are
    /// delivered in the order they were scheduled.
    func schedule(_ input: EngineInput, at time: Timestamp)
    /// The next input and its time; `nil` when there is nothing left (virtual) or the clock was stopped.
    func next() async -> (time: Timestamp, input: EngineInput)?
    /// The next input if it is already due (at this instant); never waits.
    func nextDue() -> (time: Timestamp, input: EngineInput)?
}

extension EngineClock {
    public func schedule(_ input: EngineInput, after milliseconds: Int64) {
        schedule(input, at: now.adding(milliseconds: milliseconds))
    }
}

/// A priority queue of inputs by (time, order scheduled).
struct Timeline {
    private var heap: [(time: Timestamp, sequence: UInt64, input: EngineInput)] = []
    private var sequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var earliest: Timestamp? { heap.first?.time }

    mutating func insert(_ input: EngineInput, at time: Timestamp) {
        sequence += 1
        heap.append((time, sequence, input))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> (time: Timestamp, input: EngineInput)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, Self.precedes(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, Self.precedes(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.time, first.input)
    }

    private static func precedes(_ a: (time: Timestamp, sequence: UInt64, input: EngineInput),
                                 _ b: (time: Timestamp, sequence: UInt64, input: EngineInput)) -> Bool {
        a.time < b.time || (a.time == b.time && a.sequence < b.sequence)
    }
}

/// Virtual time: the clock jumps straight to the next scheduled input. Nothing waits for real, so a
/// simulated day runs in milliseconds and every run of the same inputs is identical.
public final class VirtualClock: EngineClock {
    private struct State {
        var now: Timestamp
        var timeline = Timeline()
        /// Inputs at or after this time are not delivered (the end of a simulation).
        var horizon: Timestamp?
    }

    private let state: Mutex<State>

    public init(startAt: Timestamp) { state = Mutex(State(now: startAt)) }

    public var now: Timestamp { state.withLock { $0.now } }

    public func schedule(_ input: EngineInput, at time: Timestamp) {
        state.withLock { state in state.timeline.insert(input, at: max(time, state.now)) }
    }

    /// Stops delivering inputs scheduled after `time`.
    public func stop(at time: Timestamp) { state.withLock { $0.horizon = time } }

    public func next() async -> (time: Timestamp, input: EngineInput)? {
        state.withLock { state in
            if let horizon = state.horizon, let earliest = state.timeline.earliest, earliest > horizon { return nil }
            guard let next = state.timeline.popFirst() else { return nil }
            state.now = next.time
            return next
        }
    }

    public func nextDue() -> (time: Timestamp, input: EngineInput)? {
        state.withLock { state in
            guard let earliest = state.timeline.earliest, earliest <= state.now else { return nil }
            return state.timeline.popFirst()
        }
    }
}

/// Real time, for the server. Inputs from outside (carrier webhooks, API requests) arrive with
/// `schedule(_:at: now)`; timers wait on the system's continuous clock.
public final class SystemClock: EngineClock {
    private struct State {
        var timeline = Timeline()
        var waiter: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Timestamp { Self.wallClock() }

    static func wallClock() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public func schedule(_ input: EngineInput, at time: Timestamp) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.timeline.insert(input, at: time)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    public func nextDue() -> (time: Timestamp, input: EngineInput)? {
        let now = now
        return state.withLock { state in
            guard !state.stopped, let earliest = state.timeline.earliest, earliest <= now,
                  let next = state.timeline.popFirst() else { return nil }
            return (max(next.time, now), next.input)
        }
    }

    /// Makes `next()` return `nil` (the server is shutting down).
    public func stop() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopped = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    public func next() async -> (time: Timestamp, input: EngineInput)? {
        while true {
            enum Step { case deliver(Timestamp, EngineInput), wait(Timestamp?), stop }
            let now = now
            let step: Step = state.withLock { state in
                if state.stopped { return .stop }
                if let earliest = state.timeline.earliest, earliest <= now, let next = state.timeline.popFirst() {
                    return .deliver(max(next.time, now), next.input)
                }
                return .wait(state.timeline.earliest)
            }
            switch step {
            case .stop: return nil
            case .deliver(let time, let input): return (time, input)
            case .wait(let earliest):
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.stopped { return true }
                        if let current = state.timeline.earliest, current != earliest || current <= now { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow {
                        continuation.resume()
                    } else if let earliest {
                        let delay = max(0, earliest.milliseconds(since: now))
                        Task { [weak self] in
                            try? await Task.sleep(for: .milliseconds(delay))
                            self?.wake()
                        }
                    }
                }
            }
        }
    }

    private func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
