#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The CPU time one part of the node spends, counted on the thread doing the work, around the work:
/// where a node's time goes (engine, writes, projections, feed, transport) is read from these, not
/// guessed from a profile. Only synchronous work is measured — a thread's clock means nothing across
/// an `await`.
public final class WorkMeter: Sendable {
    private let nanoseconds = Atomic<UInt64>(0)

    public init() {}

    public func measure<Value, Failure: Error>(_ body: () throws(Failure) -> Value) throws(Failure) -> Value {
        let start = Self.threadNanoseconds()
        defer { nanoseconds.add(Self.threadNanoseconds() &- start, ordering: .relaxed) }
        return try body()
    }

    /// CPU seconds counted so far.
    public var seconds: Double { Double(nanoseconds.load(ordering: .relaxed)) / 1e9 }

    /// This thread's CPU time (a system call on Linux, well under a microsecond: a meter measures work per
    /// input or per commit, never per event).
    static func threadNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return UInt64(truncatingIfNeeded: now.tv_sec) &* 1_000_000_000 &+ UInt64(truncatingIfNeeded: now.tv_nsec)
    }
}

/// The node's parts, one meter each, as `/metrics` shows them (`switchboard_work_seconds_total{stage}`).
public struct WorkMeters: Sendable {
    /// Deciding: the engine's folds and decisions, between its waits.
    public let engine: WorkMeter
    /// The log's writer thread: encoding, hashing and committing each batch (fsync waits are not CPU).
    public let writes: WorkMeter
    /// Folding each commit into the projections the API and the feed read.
    public let projections: WorkMeter
    /// The feed: what a commit is about, its messages encoded, each subscriber's share.
    public let feed: WorkMeter
    /// The service thread: HTTP, WebSocket frames, the sockets' writes.
    public let transport: WorkMeter

    public init(engine: WorkMeter = WorkMeter(), writes: WorkMeter = WorkMeter(), projections: WorkMeter = WorkMeter(),
                feed: WorkMeter = WorkMeter(), transport: WorkMeter = WorkMeter()) {
        self.engine = engine
        self.writes = writes
        self.projections = projections
        self.feed = feed
        self.transport = transport
    }

    public var stages: [(stage: String, meter: WorkMeter)] {
        [("engine", engine), ("writes", writes), ("projections", projections), ("feed", feed), ("transport", transport)]
    }
}
