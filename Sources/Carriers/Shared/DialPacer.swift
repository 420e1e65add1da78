import DialerCore

/// The carrier account's calls-per-second limit, kept across every session of the node: each new call
/// gets the next free slot, `1000 / callsPerSecond` ms after the one before and 5 % more, so no window
/// of one second ever holds more than the limit at the carrier's end even when the network delivers
/// one request a little later than the next (Twilio queues calls over the limit and starts their ring
/// late; Telnyx refuses them with 429). A refusal pushes every later slot back by a growing pause.
///
/// A spacing rather than a bucket with a burst: a burst of `n` plus its refill can put `2n` calls in
/// one second, which is what the limit forbids.
public struct DialPacer: Sendable {
    public let spacingMs: Int64
    private var nextFreeMs: Int64 = .min
    /// The pause after the last refusal (doubled while refusals go on, reset by a success).
    private var backoffMs: Int64 = 0
    public static let firstBackoffMs: Int64 = 1000
    public static let maxBackoffMs: Int64 = 30_000

    public init(callsPerSecond: Int) {
        let perSecond = Int64(max(1, callsPerSecond))
        spacingMs = (1050 + perSecond - 1) / perSecond
    }

    /// The time the next call may be sent, from `nowMs` on; that slot is taken.
    public mutating func reserve(nowMs: Int64) -> Int64 {
        let slot = max(nowMs, nextFreeMs)
        nextFreeMs = slot + spacingMs
        return slot
    }

    /// The carrier said "too many" (429): nothing is sent before the pause is over. Returns the pause.
    @discardableResult
    public mutating func refused(nowMs: Int64, retryAfterMs: Int64? = nil) -> Int64 {
        backoffMs = min(Self.maxBackoffMs, max(retryAfterMs ?? 0, backoffMs == 0 ? Self.firstBackoffMs : backoffMs * 2))
        nextFreeMs = max(nextFreeMs, nowMs + backoffMs)
        return backoffMs
    }

    public mutating func accepted() { backoffMs = 0 }
    public var isBackingOff: Bool { backoffMs > 0 }
    /// The first free slot (what a refusal pushed back).
    public var nextFreeAtMs: Int64 { nextFreeMs }
}

/// How the carrier's limit holds the node's calls back right now: what a queue shows beside its own
/// state (`GET /v1/queues/{queueId}`'s `carrier`), since a call waiting for its slot rings late.
public struct CarrierPacingStatus: Sendable, Equatable {
    public var carrier: String
    public var callsPerSecond: Int
    /// Calls waiting for their slot (or for a refusal's pause to end), by queue.
    public var waiting: [String: Int]
    /// While the carrier refuses (429): when the next call may go (the engine's clock, ms since 1970).
    public var backingOffUntilMs: Int64?
    /// Refusals (429) since the server started.
    public var refusals: Int

    public init(carrier: String, callsPerSecond: Int, waiting: [String: Int], backingOffUntilMs: Int64?, refusals: Int) {
        self.carrier = carrier; self.callsPerSecond = callsPerSecond; self.waiting = waiting
        self.backingOffUntilMs = backingOffUntilMs; self.refusals = refusals
    }
}

extension CarrierPacingStatus {
    /// The status an adapter reports: `pacer` as it stands at `nowMs`, and the queues of the calls still
    /// waiting for their slot.
    init(carrier: String, callsPerSecond: Int, pacer: DialPacer, refusals: Int, waitingQueues: some Sequence<QueueID?>,
         nowMs: Int64) {
        var waiting: [String: Int] = [:]
        for case let queue? in waitingQueues { waiting[queue.rawValue, default: 0] += 1 }
        let until = pacer.isBackingOff && pacer.nextFreeAtMs > nowMs ? pacer.nextFreeAtMs : nil
        self.init(carrier: carrier, callsPerSecond: callsPerSecond, waiting: waiting, backingOffUntilMs: until, refusals: refusals)
    }
}

/// A carrier that paces the node's calls and can say how.
public protocol CarrierPacingReporting: Sendable {
    func pacingStatus() -> CarrierPacingStatus
}
