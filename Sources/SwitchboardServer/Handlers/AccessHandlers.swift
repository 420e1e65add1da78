import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// Who may do what: the caller's own token (`/v1/me`), tokens issued and revoked, and the
/// organisation's caller IDs (admins only).
extension APIServer {
    static let accessRoutes: [Route] = [
        Route("GET", "v1/me", .anyone) { api, request in api.me(request.principal) },
        Route("GET", "v1/tokens", .admin) { api, _ in await api.tokens() },
        Route("POST", "v1/tokens", .admin) { api, request in try await api.issueToken(try api.body(request.http)) },
        Route("DELETE", "v1/tokens/{tokenId}", .admin) { api, request in
            try await api.revokeToken(TokenID(request.parameter("tokenId")))
        },
        Route("GET", "v1/caller-ids", .admin) { api, _ in await api.callerIdList() },
        Route("POST", "v1/caller-ids", .admin) { api, request in try await api.addCallerIds(try api.body(request.http)) },
        Route("DELETE", "v1/caller-ids/{phone}", .admin) { api, request in try await api.removeCallerId(request.parameter("phone")) },
    ]

    func me(_ principal: Principal?) -> HTTPResponse {
        guard let principal else { return .error(401, code: "unauthorized", message: "no token") }
        return .json(200, ["tokenId": principal.tokenId.json, "role": principal.role.json,
                           "agentId": principal.agentId?.json ?? .null])
    }

    static func tokenJSON(_ token: AccessToken, now: Timestamp) -> JSONValue {
        [
            "tokenId": token.id.json, "role": token.role.json, "agentId": token.agentId?.json ?? .null,
            "label": token.label.map(JSONValue.string) ?? .null, "hashPrefix": .string(token.hashPrefix),
            "issuedAt": token.issuedAt.json, "expiresAt": token.expiresAt?.json ?? .null,
            "revokedAt": token.revokedAt?.json ?? .null, "valid": .bool(token.isValid(at: now)),
        ]
    }

    func tokens() async -> HTTPResponse {
        let now = engine.clock.now
        let tokens = await projections.read { state in state.tokens.values.sorted { ($0.issuedAt, $0.id) < ($1.issuedAt, $1.id) } }
        return .json(200, ["tokens": .array(tokens.map { Self.tokenJSON($0, now: now) })])
    }

    /// A new token, answered once with the token itself (only its hash is kept).
    func issueToken(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["role", "agentId", "label", "expiresAt", "expiresInSeconds"])
        var expiresAt: Timestamp? = try body.decodeIfPresent("expiresAt")
        if let seconds = try body.decodeIfPresent("expiresInSeconds", as: Int64.self) {
            guard expiresAt == nil, (1...315_360_000).contains(seconds) else {
                throw DomainError.invalidValue(field: "expiresInSeconds", message: "must be 1 to 315360000 (10 years), and not given with expiresAt")
            }
            expiresAt = engine.clock.now.adding(milliseconds: seconds * 1000)
        }
        let issued = try await TokenIssuing.issue(
            role: try body.decode("role"), agentId: try body.decodeIfPresent("agentId"), label: try body.decodeIfPresent("label"),
            expiresAt: expiresAt, credentials: credentials
        ) { command in
            try await write(command)
        }
        guard let token = await projections.read({ $0.tokens[issued.tokenId] }),
            case .object(var object) = Self.tokenJSON(token, now: engine.clock.now)
        else { throw DomainError.tokenNotFound(issued.tokenId) }
        object["token"] = .string(issued.token)
        return .json(201, .object(object))
    }

    func revokeToken(_ id: TokenID) async throws -> HTTPResponse {
        try await write(.revokeToken(tokenId: id))
        guard let token = await projections.read({ $0.tokens[id] }) else { throw DomainError.tokenNotFound(id) }
        return .json(200, Self.tokenJSON(token, now: engine.clock.now))
    }

    func callerIdList() async -> HTTPResponse {
        .json(200, ["callerIds": .array(await projections.read { $0.callerIds }.map(\.json))])
    }

    func addCallerIds(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["phones"])
        try await write(.addCallerIds(try body.decode("phones")))
        return await callerIdList()
    }

    func removeCallerId(_ text: String) async throws -> HTTPResponse {
        let phone = try Self.phone(inPath: text, notFound: "caller-id-not-found")
        try await write(.removeCallerId(phone))
        return await callerIdList()
    }

}
