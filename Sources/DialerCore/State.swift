import SwitchboardJSON
import SwitchboardBasics

/// Every projection the dialer needs, folded from the log: the state `decide` reads.
public struct DialerState: Hashable, Sendable {
    public var queues: [QueueID: Queue] = [:]
    public var sessions: [SessionID: Session] = [:]
    /// Every token ever issued (revoked and expired ones stay, for the audit).
    public var tokens: [TokenID: AccessToken] = [:]
    /// The organisation's caller IDs, in the order they were added (the first is the fallback).
    public var callerIds: [PhoneNumber] = []
    /// The organisation's do-not-call list.
    public var doNotCall: Set<PhoneNumber> = []
    /// The organisation's safe-harbor message (queues without their own play it).
    public var safeHarborMessage: String?
    public var batches: [BatchID: Batch] = [:]
    /// Every contact of every queue by its number: the do-not-call list settles them without a walk
    /// through every list.
    public var contactsByPhone: [PhoneNumber: [ContactAddress]] = [:]
    /// Position of the last event folded in.
    public var position: Int64 = 0

    public init() {}
}
