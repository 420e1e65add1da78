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
}
