import SwitchboardJSON
import SwitchboardBasics

// Who may do what, and the organisation's caller IDs: facts in the same log as the dialing, so who
// had access and which numbers were in use at any past position can be rebuilt like everything else.
// A token itself is never in the log: `token.issued` carries the first characters of its hash only;
// the full hash lives beside the log (the credential table) and is only an index into these events.

/// What a bearer may do; an agent's token is bound to one agent id.
public enum Role: String, Sendable, CaseIterable, JSONConvertible {
    /// Everything, including tokens and caller IDs.
    case admin
    /// Every queue, session and report; queue-wide and agent-session actions.
    case supervisor
    /// Its own sessions and batches, the queues it works.
    case agent
    /// Read-only: every read, timelines, `?at=`, exports, reports, the feed.
    case auditor
}

public struct TokenID: Identifier { public let rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }

public struct TokenIssued: Hashable, Sendable {
    public var tokenId: TokenID
    public var role: Role
    public var agentId: AgentID?
    public var label: String?
    /// The first 8 hex digits of the token's SHA-256: enough to tell tokens apart in an audit, useless to an attacker.
    public var hashPrefix: String
    public var expiresAt: Timestamp?
    public init(tokenId: TokenID, role: Role, agentId: AgentID?, label: String?, hashPrefix: String, expiresAt: Timestamp?) {
        self.tokenId = tokenId; self.role = role; self.agentId = agentId; self.label = label
        self.hashPrefix = hashPrefix; self.expiresAt = expiresAt
    }
}

extension TokenIssued: DialerEventPayload {
    public static let type = EventType("token.issued")
    public var subject: EventSubject { EventSubject(stream: .organisation) }
}

public struct TokenRevoked: Hashable, Sendable {
    public var tokenId: TokenID
    public init(tokenId: TokenID) { self.tokenId = tokenId }
}

extension TokenRevoked: DialerEventPayload {
    public static let type = EventType("token.revoked")
    public var subject: EventSubject { EventSubject(stream: .organisation) }
}

/// Numbers the organisation may call from (local presence picks among them).
public struct CallerIdsAdded: Hashable, Sendable {
    public var phones: [PhoneNumber]
    public init(phones: [PhoneNumber]) { self.phones = phones }
}

extension CallerIdsAdded: DialerEventPayload {
    public static let type = EventType("caller-ids.added")
    public var subject: EventSubject { EventSubject(stream: .organisation) }
}

public struct CallerIdRemoved: Hashable, Sendable {
    public var phone: PhoneNumber
    public init(phone: PhoneNumber) { self.phone = phone }
}

extension CallerIdRemoved: DialerEventPayload {
    public static let type = EventType("caller-id.removed")
    public var subject: EventSubject { EventSubject(stream: .organisation) }
}

/// A queue's own subset of the organisation's caller IDs (`nil`: the whole pool).
public struct QueueCallerIdsSet: Hashable, Sendable {
    public var queueId: QueueID
    public var callerIds: [PhoneNumber]?
    public init(queueId: QueueID, callerIds: [PhoneNumber]?) { self.queueId = queueId; self.callerIds = callerIds }
}

extension QueueCallerIdsSet: DialerEventPayload {
    public static let type = EventType("queue.caller-ids-set")
    public var subject: EventSubject { .queue(queueId) }
}

/// An agent is assigned to a queue: it may work it and read its contacts. A supervisor's or an admin's act.
public struct QueueAgentAssigned: Hashable, Sendable {
    public var queueId: QueueID
    public var agentId: AgentID
    public init(queueId: QueueID, agentId: AgentID) { self.queueId = queueId; self.agentId = agentId }
}

extension QueueAgentAssigned: DialerEventPayload {
    public static let type = EventType("queue.agent-assigned")
    public var subject: EventSubject { .queue(queueId) }
    public var summary: String { "\(agentId) assigned to the queue" }
}

/// An agent is no longer assigned to a queue (its token's access to it ends).
public struct QueueAgentUnassigned: Hashable, Sendable {
    public var queueId: QueueID
    public var agentId: AgentID
    public init(queueId: QueueID, agentId: AgentID) { self.queueId = queueId; self.agentId = agentId }
}

extension QueueAgentUnassigned: DialerEventPayload {
    public static let type = EventType("queue.agent-unassigned")
    public var subject: EventSubject { .queue(queueId) }
    public var summary: String { "\(agentId) no longer assigned to the queue" }
}

/// A token as the log knows it.
public struct AccessToken: Hashable, Sendable {
    public var id: TokenID
    public var role: Role
    public var agentId: AgentID?
    public var label: String?
    public var hashPrefix: String
    public var issuedAt: Timestamp
    public var expiresAt: Timestamp?
    public var revokedAt: Timestamp?

    public func isValid(at now: Timestamp) -> Bool { revokedAt == nil && (expiresAt.map { now < $0 } ?? true) }
}

extension TokenIssued: JSONShaped {
    public static let shape = JSONShape(
        TokenIssued.init(tokenId:role:agentId:label:hashPrefix:expiresAt:),
        JSONField("tokenId", \TokenIssued.tokenId),
        JSONField("role", \TokenIssued.role),
        JSONField("agentId", \TokenIssued.agentId),
        JSONField("label", \TokenIssued.label),
        JSONField("hashPrefix", \TokenIssued.hashPrefix),
        JSONField("expiresAt", \TokenIssued.expiresAt)
    )
}

extension TokenRevoked: JSONShaped {
    public static let shape = JSONShape(TokenRevoked.init(tokenId:), JSONField("tokenId", \TokenRevoked.tokenId))
}

extension CallerIdsAdded: JSONShaped {
    public static let shape = JSONShape(CallerIdsAdded.init(phones:), JSONField("phones", \CallerIdsAdded.phones))
}

extension CallerIdRemoved: JSONShaped {
    public static let shape = JSONShape(CallerIdRemoved.init(phone:), JSONField("phone", \CallerIdRemoved.phone))
}

extension QueueAgentAssigned: JSONShaped {
    public static let shape = JSONShape(
        QueueAgentAssigned.init(queueId:agentId:),
        JSONField("queueId", \QueueAgentAssigned.queueId),
        JSONField("agentId", \QueueAgentAssigned.agentId)
    )
}

extension QueueAgentUnassigned: JSONShaped {
    public static let shape = JSONShape(
        QueueAgentUnassigned.init(queueId:agentId:),
        JSONField("queueId", \QueueAgentUnassigned.queueId),
        JSONField("agentId", \QueueAgentUnassigned.agentId)
    )
}

extension QueueCallerIdsSet: JSONShaped {
    public static let shape = JSONShape(
        QueueCallerIdsSet.init(queueId:callerIds:),
        JSONField("queueId", \QueueCallerIdsSet.queueId),
        JSONField("callerIds", \QueueCallerIdsSet.callerIds)
    )
}

extension DialerState {
    /// Longest token label accepted.
    public static let maxLabelLength = 200

    func decideAccess(_ command: Command, at now: Timestamp) throws(DomainError) -> [DialerEvent] {
        switch command {
        case .issueToken(let tokenId, let role, let agentId, let label, let hashPrefix, let expiresAt):
            guard tokens[tokenId] == nil else { throw .invalidTransition("token \(tokenId) already exists") }
            if role == .agent {
                guard let agentId else { throw .invalidValue(field: "agentId", message: "is required for an agent's token") }
                try Self.validateAgentId(agentId)
            } else if agentId != nil {
                throw .invalidValue(field: "agentId", message: "only an agent's token names an agent")
            }
            if let label { try Self.validateName(label, field: "label") }
            guard hashPrefix.utf8.count == 8, hashPrefix.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
                throw .invalidValue(field: "hashPrefix", message: "must be 8 lower-case hex digits")
            }
            if let expiresAt, expiresAt <= now { throw .invalidValue(field: "expiresAt", message: "must be in the future") }
            return [.tokenIssued(.init(tokenId: tokenId, role: role, agentId: agentId, label: label, hashPrefix: hashPrefix,
                                       expiresAt: expiresAt))]

        case .revokeToken(let tokenId):
            guard let token = tokens[tokenId] else { throw .tokenNotFound(tokenId) }
            return token.revokedAt == nil ? [.tokenRevoked(.init(tokenId: tokenId))] : []

        case .addCallerIds(let phones):
            guard !phones.isEmpty else { throw .invalidValue(field: "phones", message: "must name at least one number") }
            var new: [PhoneNumber] = []
            for phone in phones where !callerIds.contains(phone) && !new.contains(phone) { new.append(phone) }
            return new.isEmpty ? [] : [.callerIdsAdded(.init(phones: new))]

        case .removeCallerId(let phone):
            guard callerIds.contains(phone) else { throw .callerIdNotFound(phone) }
            return [.callerIdRemoved(.init(phone: phone))]

        case .setQueueCallerIds(let queueId, let subset):
            _ = try queue(queueId)
            if let subset {
                guard !subset.isEmpty else { throw .invalidValue(field: "callerIds", message: "must name at least one number, or be null") }
                for phone in subset where !callerIds.contains(phone) { throw .callerIdNotInPool(phone) }
            }
            return queues[queueId]?.callerIds == subset ? [] : [.queueCallerIdsSet(.init(queueId: queueId, callerIds: subset))]

        case .assignAgent(let queueId, let agentId):
            guard !agentId.rawValue.isEmpty else { throw .invalidValue(field: "agentId", message: "must not be empty") }
            return try queue(queueId).agents.contains(agentId) ? [] : [.agentAssigned(.init(queueId: queueId, agentId: agentId))]

        case .unassignAgent(let queueId, let agentId):
            return try queue(queueId).agents.contains(agentId) ? [.agentUnassigned(.init(queueId: queueId, agentId: agentId))] : []

        default:
            return []
        }
    }

    mutating func foldAccess(_ event: DialerEvent, at time: Timestamp) {
        switch event {
        case .tokenIssued(let e):
            tokens[e.tokenId] = AccessToken(id: e.tokenId, role: e.role, agentId: e.agentId, label: e.label,
                                            hashPrefix: e.hashPrefix, issuedAt: time, expiresAt: e.expiresAt)
        case .tokenRevoked(let e):
            if tokens[e.tokenId]?.revokedAt == nil { tokens[e.tokenId]?.revokedAt = time }
        case .callerIdsAdded(let e):
            callerIds += e.phones.filter { !callerIds.contains($0) }
        case .callerIdRemoved(let e):
            callerIds.removeAll { $0 == e.phone }
        case .queueCallerIdsSet(let e):
            queues[e.queueId]?.callerIds = e.callerIds
        case .agentAssigned(let e):
            queues[e.queueId]?.agents.insert(e.agentId)
        case .agentUnassigned(let e):
            queues[e.queueId]?.agents.remove(e.agentId)
        default:
            break
        }
    }

    /// The numbers a batch of this queue may call from: the queue's subset of the organisation's pool,
    /// else the pool, else what the session was started with (the server's configured numbers). The
    /// first stays the fallback when no number matches the called area code.
    public func callerIds(for queue: Queue, session: Session) -> [PhoneNumber] {
        if let subset = queue.callerIds?.filter(callerIds.contains), !subset.isEmpty { return subset }
        return callerIds.isEmpty ? session.callerIds : callerIds
    }
}
