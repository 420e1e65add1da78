import SwitchboardJSON
import SwitchboardBasics

/// What the dialer does next on its own after some events (a process manager's reactions).
public enum DialerPolicy {
    /// Winner-take-all: once a call is connected, every other call of its batch is ended.
    public static func followUps(after events: [DialerEvent]) -> [Command] {
        events.compactMap { event in
            if case .callConnected(let e) = event { .endLosingCalls(batchId: e.batchId) } else { nil }
        }
    }
}
