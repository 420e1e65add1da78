import Foundation
import SwitchboardJSON
import Synchronization

/// The transport's sockets as the service thread last saw them: stored by that thread after each turn
/// of its loop (relaxed atomics: a scrape needs a recent value, not a consistent snapshot).
public final class TransportStatistics: Sendable {
    let openWebSocketCount = Atomic<Int>(0)
    let queuedByteCount = Atomic<Int>(0)
    let slowConsumerCloseCount = Atomic<Int>(0)
    let supersededStateCount = Atomic<Int>(0)

    public var openWebSockets: Int { openWebSocketCount.load(ordering: .relaxed) }
    /// Bytes queued for WebSockets and not yet written.
    public var queuedBytes: Int { queuedByteCount.load(ordering: .relaxed) }
    /// WebSockets closed 4008 since the server started (too much queued, or a catch-up that took nothing).
    public var slowConsumerCloses: Int { slowConsumerCloseCount.load(ordering: .relaxed) }
    /// State messages dropped from long queues because a newer state of the same topic came behind them.
    public var supersededStates: Int { supersededStateCount.load(ordering: .relaxed) }
}
