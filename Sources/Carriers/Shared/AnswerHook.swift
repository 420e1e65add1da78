import Synchronization

/// A carrier's request that waits for the engine's word: Twilio fetches the answered call's
/// instructions (TwiML) and takes our reply as what the call does next, so the engine's decision
/// (bridge, safe-harbor message, hang up) is the reply — no REST round trip after the answer.
///
/// One-shot: the first `fulfil` wins; `wait` returns it, whether it came before or after.
final class AnswerHook: Sendable {
    private struct State {
        var reply: String?
        var waiter: CheckedContinuation<String, Never>?
    }
    private let state = Mutex(State())

    /// Gives the reply; `false` when one was already given.
    @discardableResult
    func fulfil(_ reply: String) -> Bool {
        let waiter: CheckedContinuation<String, Never>?? = state.withLock { state in
            guard state.reply == nil else { return .none }
            state.reply = reply
            defer { state.waiter = nil }
            return .some(state.waiter)
        }
        guard case .some(let waiting) = waiter else { return false }
        waiting?.resume(returning: reply)
        return true
    }

    func wait() async -> String {
        await withCheckedContinuation { continuation in
            let ready: String? = state.withLock { state in
                if let reply = state.reply { return reply }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
