import DialerCore
import Foundation
import HeapModule
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

/// An input as the clock hands it out.
public typealias Due = (time: Timestamp, input: EngineInput, late: Duration)

/// The engine's timers.
public enum EngineTimer: Hashable, Sendable {
    /// Place a planned call of a batch (the stagger).
    case placeCall(CallReference)
    /// Start the session's next batch (at once after a conversation, after the cooldown otherwise).
    /// It carries the batch it follows (`nil` for the first): set for another moment, it does nothing.
    case startBatch(SessionID, after: BatchID?)
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
    /// The next input, its time and how long after it was due it came out (how far the engine is
    /// behind: 0 on virtual time); `nil` when there is nothing left (virtual) or the clock was stopped.
    func next() async -> Due?
    /// The next input if it is already due (at this instant); never waits.
    func nextDue() -> Due?
    /// How far the system clock is behind `now` (it stepped back): calling hours hold on both readings.
    var wallClockBehindMs: Int64 { get }
    /// Whole hours by which this clock runs from the system's (a demo's or a test's; said in `/healthz`).
    var shiftHours: Int { get }
    /// Whether the engine waits for a call's dial to be durable before it takes its next input. On
    /// virtual time, where time moves only when the engine asks, so a call is placed at the very
    /// instant its dial was decided (runs stay identical). Not on real time, which moves on anyway:
    /// there, every input queued behind an fsync per dial — on a busy floor, an answer whose losing
    /// lines waited tens of milliseconds for their cancel.
    var waitsForDurableDials: Bool { get }
}

extension EngineClock {
    /// Virtual time has no wall clock to fall behind.
    public var wallClockBehindMs: Int64 { 0 }
    /// Virtual time is no shifted system time.
    public var shiftHours: Int { 0 }

    public func schedule(_ input: EngineInput, after milliseconds: Int64) {
        schedule(input, at: now.adding(milliseconds: milliseconds))
    }
}

/// A priority queue by (key, order inserted): inputs by time on the virtual clock, by monotonic
/// deadline on the real one. Two inputs at one key come out in the order they went in.
///
/// The heap holds only (key, number); the inputs wait beside it by number. An input is a large value
/// (a command with its settings, a reply closure), and a heap moves its entries log n times per
/// insert and pop: on a 2 000-agent floor, with ten thousand timers pending, moving whole inputs
/// was a tenth of the engine's time.
struct Timeline<Key: Comparable, Element> {
    private struct Entry: Comparable {
        let key: Key
        let sequence: UInt64

        static func < (a: Entry, b: Entry) -> Bool { a.key < b.key || (a.key == b.key && a.sequence < b.sequence) }
    }

    private var heap = Heap<Entry>()
    private var elements: [UInt64: Element] = [:]
    private var sequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var earliest: Key? { heap.min?.key }

    mutating func insert(_ element: Element, at key: Key) {
        sequence += 1
        heap.insert(Entry(key: key, sequence: sequence))
        elements[sequence] = element
    }

    mutating func popFirst() -> (key: Key, element: Element)? {
        guard let first = heap.popMin(), let element = elements.removeValue(forKey: first.sequence) else { return nil }
        return (first.key, element)
    }
}

/// Virtual time: the clock jumps straight to the next scheduled input. Nothing waits for real, so a
/// simulated day runs in milliseconds and every run of the same inputs is identical.
public final class VirtualClock: EngineClock {
    private struct State {
        var now: Timestamp
        var timeline = Timeline<Timestamp, EngineInput>()
        /// Inputs at or after this time are not delivered (the end of a simulation).
        var horizon: Timestamp?
    }

    private let state: Mutex<State>

    public init(startAt: Timestamp) { state = Mutex(State(now: startAt)) }

    public var waitsForDurableDials: Bool { true }

    public var now: Timestamp { state.withLock { $0.now } }

    public func schedule(_ input: EngineInput, at time: Timestamp) {
        state.withLock { state in state.timeline.insert(input, at: max(time, state.now)) }
    }

    /// Stops delivering inputs scheduled after `time`.
    public func stop(at time: Timestamp) { state.withLock { $0.horizon = time } }

    public func next() async -> Due? {
        state.withLock { state in
            if let horizon = state.horizon, let earliest = state.timeline.earliest, earliest > horizon { return nil }
            guard let next = state.timeline.popFirst() else { return nil }
            state.now = next.key
            return (next.key, next.element, .zero)
        }
    }

    public func nextDue() -> Due? {
        state.withLock { state in
            guard let earliest = state.timeline.earliest, earliest <= state.now, let next = state.timeline.popFirst() else { return nil }
            return (next.key, next.element, .zero)
        }
    }
}

/// Real time, for the server. Inputs from outside (carrier webhooks, API requests) arrive with
/// `schedule(_:at: now)`.
///
/// Timers wait on the monotonic clock: an input scheduled at `time` is due `time − now` from when it
/// was scheduled, whatever the wall clock does meanwhile — a step forward (NTP, an operator) does not
/// fire every pending timer at once, a step back does not hold them for an hour. The wall clock only
/// stamps: `now` follows it, but never goes back; after a step back it runs on from the last stamp at
/// the monotonic clock's pace until the wall clock catches up, and `wallClockBehindMs` says by how much.
public final class SystemClock: EngineClock {
    /// Where the time comes from: the system's clocks, or a test's (to step the wall clock).
    public struct Sources: Sendable {
        /// Milliseconds since the epoch (CLOCK_REALTIME).
        public var wall: @Sendable () -> Int64
        public var monotonic: @Sendable () -> ContinuousClock.Instant
        /// How many hours `shifted` moved the wall clock (reported by `/healthz`).
        public private(set) var shiftHours = 0
        public init(wall: @escaping @Sendable () -> Int64, monotonic: @escaping @Sendable () -> ContinuousClock.Instant) {
            self.wall = wall; self.monotonic = monotonic
        }

        public static let system = Sources(wall: SystemClock.wallMilliseconds, monotonic: { ContinuousClock.now })

        /// These clocks with the wall clock `hours` ahead (behind when negative): for the demo and the
        /// tests, which must find the US inside its calling hours whenever they run. Never where a
        /// real phone rings (`Configuration.problem` refuses it with a real carrier).
        public func shifted(byHours hours: Int) -> Sources {
            let wall = self.wall, offset = Int64(hours) * 3_600_000
            var shifted = Sources(wall: { wall() + offset }, monotonic: monotonic)
            shifted.shiftHours = shiftHours + hours
            return shifted
        }
    }

    private struct State {
        var timeline = Timeline<ContinuousClock.Instant, (time: Timestamp, input: EngineInput)>()
        var waiter: CheckedContinuation<Void, Never>?
        /// When the sleeping task that wakes the loop for the next timer fires (one at a time: a task per
        /// wait put hundreds of sleepers a second on the dispatch timers of a busy floor).
        var sleeperDue: ContinuousClock.Instant?
        var stopped = false
        /// The last stamp handed out and the monotonic instant it was read at.
        var stamp: Int64
        var stampedAt: ContinuousClock.Instant
        var behindMs: Int64 = 0

        /// The stamp for this instant: the wall clock, unless it is behind the last stamp plus the
        /// monotonic time since (it stepped back): then that.
        mutating func stamp(_ sources: Sources) -> (Timestamp, ContinuousClock.Instant) {
            let mono = sources.monotonic(), wall = sources.wall()
            let running = stamp + (mono - stampedAt).wholeMilliseconds
            if wall >= running {
                (stamp, stampedAt, behindMs) = (wall, mono, 0)
                return (Timestamp(millisecondsSinceEpoch: wall), mono)
            }
            behindMs = running - wall
            return (Timestamp(millisecondsSinceEpoch: running), mono)
        }
    }

    private let sources: Sources
    private let state: Mutex<State>

    /// `notBefore`: the log's last event time — stamps never go back across a restart either (a clock
    /// stepped back while the server was down, a store moved from a machine whose clock ran ahead).
    public init(sources: Sources = .system, notBefore: Timestamp? = nil) {
        self.sources = sources
        let wall = sources.wall()
        var state = State(stamp: max(wall, notBefore?.millisecondsSinceEpoch ?? wall), stampedAt: sources.monotonic())
        state.behindMs = state.stamp - wall
        self.state = Mutex(state)
    }

    public var now: Timestamp { state.withLock { $0.stamp(sources).0 } }

    /// Hours the wall clock runs from the system's (the demo's and the tests' shift); 0 normally.
    public var shiftHours: Int { sources.shiftHours }

    public var waitsForDurableDials: Bool { false }

    /// How far the wall clock is behind the event times (it stepped back); 0 normally.
    public var wallClockBehindMs: Int64 { state.withLock { $0.behindMs } }

    public static func wallMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    public func schedule(_ input: EngineInput, at time: Timestamp) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let (now, mono) = state.stamp(sources)
            let due = mono + .milliseconds(max(0, time.milliseconds(since: now)))
            state.timeline.insert((time, input), at: due)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    public func nextDue() -> Due? {
        state.withLock { state in
            let (now, mono) = state.stamp(sources)
            guard !state.stopped, let earliest = state.timeline.earliest, earliest <= mono,
                  let next = state.timeline.popFirst() else { return nil }
            return (max(next.element.time, now), next.element.input, mono - next.key)
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

    public func next() async -> Due? {
        while true {
            enum Step { case deliver(Due), wait(ContinuousClock.Instant?, ContinuousClock.Instant), stop }
            let step: Step = state.withLock { state in
                if state.stopped { return .stop }
                let (now, mono) = state.stamp(sources)
                if let earliest = state.timeline.earliest, earliest <= mono, let next = state.timeline.popFirst() {
                    return .deliver((max(next.element.time, now), next.element.input, mono - next.key))
                }
                return .wait(state.timeline.earliest, mono)
            }
            switch step {
            case .stop: return nil
            case .deliver(let due): return due
            case .wait(let earliest, let mono):
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let (resumeNow, sleeper) = state.withLock { state -> (Bool, ContinuousClock.Instant?) in
                        if state.stopped { return (true, nil) }
                        if let current = state.timeline.earliest, current != earliest || current <= mono { return (true, nil) }
                        state.waiter = continuation
                        // A sleeper due by then already wakes the loop in time; else one more, for `earliest`.
                        guard let earliest, state.sleeperDue.map({ $0 > earliest }) ?? true else { return (false, nil) }
                        state.sleeperDue = earliest
                        return (false, earliest)
                    }
                    if resumeNow {
                        continuation.resume()
                    } else if let sleeper {
                        Task { [weak self] in
                            try? await Task.sleep(until: sleeper, clock: .continuous)
                            self?.wake(sleeper: sleeper)
                        }
                    }
                }
            }
        }
    }

    private func wake(sleeper: ContinuousClock.Instant) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.sleeperDue == sleeper { state.sleeperDue = nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
