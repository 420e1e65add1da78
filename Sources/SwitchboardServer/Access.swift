import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardApp
import SwitchboardBasics
import WebTransport

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
struct Principal: Sendable {
    var tokenId: TokenID
    var role: Role
    var agentId: AgentID?
    /// When the token stops being valid (a feed socket opened with it closes then).
    var expiresAt: Timestamp? = nil
}

/// Turns `Authorization: Bearer …` into a principal: the token's hash names a token id (beside the
/// log); the log says what that token may do, whether it expired, whether it was revoked.
final class Authenticator: Sendable {
    let credentials: any CredentialStore
    let projections: ProjectionHost
    let clock: SystemClock
    /// Hash → token id, once looked up (a token id never changes its hash).
    private let known = Mutex<[[UInt8]: TokenID]>([:])

    init(credentials: any CredentialStore, projections: ProjectionHost, clock: SystemClock) {
        self.credentials = credentials
        self.projections = projections
        self.clock = clock
    }

    /// A token as a client sends it: 64 hex digits.
    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 64 && token.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// The bearer token in an `Authorization` header, or in a `Sec-WebSocket-Protocol` list as
    /// `bearer.<token>` (browsers cannot set headers on a WebSocket).
    static func token(in headers: [String: String]) -> String? {
        if let header = headers["authorization"] {
            // `Bearer <token>`, the scheme in any case (read as bytes: this runs on every request).
            let bytes = Array(header.utf8)
            let scheme = Array("bearer ".utf8)
            guard bytes.count > scheme.count,
                  zip(bytes, scheme).allSatisfy({ (($0 >= 65 && $0 <= 90) ? $0 | 0x20 : $0) == $1 }) else { return nil }
            let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
            guard let first = bytes[scheme.count...].firstIndex(where: { !isSpace($0) }),
                  let last = bytes.lastIndex(where: { !isSpace($0) }) else { return nil }
            return String(decoding: bytes[first...last], as: UTF8.self)
        }
        for offered in (headers["sec-websocket-protocol"] ?? "").split(separator: ",") {
            let name = offered.trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("bearer.") { return String(name.dropFirst("bearer.".count)) }
        }
        return nil
    }

    func principal(for headers: [String: String]) async -> Principal? {
        guard let token = Self.token(in: headers), Self.isWellFormed(token) else { return nil }
        let hash = BearerToken.hash(token)
        var tokenId = known.withLock { $0[hash] }
        if tokenId == nil, let found = try? await credentials.tokenId(forHash: hash) {
            tokenId = TokenID(found)
            known.withLock { $0[hash] = TokenID(found) }
        }
        guard let tokenId, let access = await projections.read({ $0.tokens[tokenId] }), access.isValid(at: clock.now) else { return nil }
        return Principal(tokenId: tokenId, role: access.role, agentId: access.agentId, expiresAt: access.expiresAt)
    }
}

/// Ten failed authentications (by default) from one address within a minute shut that address out
/// for a minute.
public final class FailedAuthentications: Sendable {
    public static let defaultLimit = 10
    static let windowSeconds: Double = 60
    let limit: Int

    init(limit: Int = FailedAuthentications.defaultLimit) { self.limit = max(1, limit) }

    private struct Record {
        var failures: [Double] = []
        var blockedUntil: Double = 0
    }

    private let records = Mutex<[String: Record]>([:])

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Seconds until the address may try again, if it is shut out.
    func blockedFor(_ address: String) -> Int? {
        let now = Self.now()
        return records.withLock { records in
            guard let until = records[address]?.blockedUntil, until > now else { return nil }
            return Int((until - now).rounded(.up))
        }
    }

    func recordFailure(_ address: String) {
        let now = Self.now()
        records.withLock { records in
            var record = records[address] ?? Record()
            record.failures = record.failures.filter { now - $0 < Self.windowSeconds } + [now]
            if record.failures.count >= limit {
                record.blockedUntil = now + Self.windowSeconds
                record.failures = []
            }
            records[address] = record
            if records.count > 10_000 { records = records.filter { $0.value.blockedUntil > now || !$0.value.failures.isEmpty } }
        }
    }
}
