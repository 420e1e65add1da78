import Synchronization

/// Which long-lived parts have failed, and why: `/healthz` answers 503 with these reasons, and
/// requests that need a failed part are refused at once instead of waiting for it.
public final class Health: Sendable {
    private let failures = Mutex<[String: String]>([:])

    public init() {}

    /// Records that `component` (e.g. `engine`, `projections`) stopped, with the reason.
    public func fail(_ component: String, reason: String) {
        failures.withLock { $0[component] = reason }
    }

    /// Records that `component` works again.
    public func recover(_ component: String) {
        _ = failures.withLock { $0.removeValue(forKey: component) }
    }

    /// Every failed component and its reason.
    public var problems: [String: String] { failures.withLock { $0 } }

    public var isHealthy: Bool { failures.withLock { $0.isEmpty } }
}
