import DialerCore
import SwitchboardBasics

/// Who may call a route: declared with the route, enforced by the dispatcher (no handler checks).
///
/// An admin may call everything. `roles` are admitted outright; an agent's token, bound to one agent,
/// only as `agent` says (its own session or batch, a queue it works, or naming itself).
struct Access: Sendable {
    var roles: Set<Role>
    var agent: AgentScope?
    var isOpen = false

    /// Pages, their assets, `/healthz` and `/openapi.yaml`.
    static let open = Access(roles: [], agent: nil, isOpen: true)
    /// Tokens and caller IDs.
    static let admin = Access(roles: [.admin])
    /// Writes a supervisor makes (and an agent, on its own things, when `agent` says so).
    static func staff(agent: AgentScope? = nil) -> Access { Access(roles: [.admin, .supervisor], agent: agent) }
    /// Reads: supervisors and auditors (and agents as `agent` says).
    static func readers(agent: AgentScope? = nil) -> Access { Access(roles: [.admin, .supervisor, .auditor], agent: agent) }
    /// Anyone with a valid token.
    static let anyone = Access(roles: Set(Role.allCases))

    /// As OpenAPI's `x-roles` lists it: `["admin", "supervisor", "agent:own-session"]`, or `["public"]`.
    var documented: [String] {
        if isOpen { return ["public"] }
        var names = Role.allCases.filter { roles.contains($0) || $0 == .admin }.map(\.rawValue)
        if let agent, !roles.contains(.agent) { names.append("agent:" + agent.rawValue) }
        return names
    }
}

/// How an agent's token is admitted to a route.
enum AgentScope: String, Sendable {
    /// The session in `{sessionId}` is the agent's.
    case ownSession = "own-session"
    /// The batch in `{groupId}` is one of the agent's.
    case ownBatch = "own-batch"
    /// The agent is assigned to the queue in `{queueId}` (a supervisor's `queue.agent-assigned`).
    case assignedQueue = "assigned-queue"
    /// The request names the agent itself (`agentId` in the body, `agent` in the query).
    case itself = "self"
    /// The request names the agent itself and a queue it is assigned to (`agentId` and `queueId` in the body).
    case itselfOnAssignedQueue = "self-on-assigned-queue"
}

/// The bearer of a valid token.
struct Principal: Sendable, Equatable {
    var tokenId: TokenID
    var role: Role
    var agentId: AgentID?
    /// When the token stops being valid (a feed socket opened with it closes then).
    var expiresAt: Timestamp? = nil
}
