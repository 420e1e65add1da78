/// The bounds an HTTP carrier adapter keeps, whatever the carrier.
public struct CarrierTiming: Sendable {
    /// How long an answer is held for its AMD verdict before it counts as `unknown` (see `CallProgress`).
    /// 1.5 s: a person who said "hello" hears us within the 2-second rule's reach; Twilio's own
    /// detection needs 2.4 s of speech to call a machine, so a longer greeting comes out `unknown`
    /// and the AMD policy decides (human-or-unknown connects it, human-only does not).
    public var verdictWaitMs: Int64 = 1500
    /// A REST request unanswered after this long is given up. For a create that means "maybe placed":
    /// the account's calls are listed before anything else is decided.
    public var requestTimeoutMs: Int64 = 10_000
    /// How long Twilio's fetch of an answered call's instructions waits for the engine's word before it
    /// is told to pause and ask again (Twilio gives up on a webhook after 15 s).
    public var hookWaitMs: Int64 = 5000
    /// Attempts at a request that never reached the carrier (refused connection) before the call fails.
    public var unreachableAttempts = 3

    public init() {}
}
