import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardApp
import SwitchboardJSON
import SwitchboardBasics
import Logging
import WebTransport

/// The HTTP API and the live feed, on top of a running engine.
///
/// Writes go to the engine (`EngineGateway`) and are answered once durable; reads come from the
/// projections, after they have caught up with the write. Every operation is one row of `routes`.
public final class APIServer: WebApplication {
    let engine: EngineGateway
    let projections: ProjectionHost
    let store: any EventStore
    let health: Health
    let audit: Audit
    let feed: FeedHub
    let callerIds: [PhoneNumber]
    let credentials: any CredentialStore
    let authenticator: Authenticator
    let failedAuthentications: FailedAuthentications
    /// Reads of the whole log: one at a time per token, a few on the node (429 beyond).
    let expensiveReads = ExpensiveReads()
    /// Origins (`scheme://host:port`) a browser's WebSocket may come from besides the server's own.
    let allowedOrigins: Set<String>
    let logger: Logger
    let ids = TimeOrderedEventIDs()
    /// 500 ms pollers ask for the same group again and again: encode each version of it once.
    let encodedSummaries = SummaryCache()

    public init(engine: EngineGateway, projections: ProjectionHost, store: any EventStore & CredentialStore, health: Health,
                callerIds: [PhoneNumber], allowedOrigins: [String] = [], authFailureLimit: Int = FailedAuthentications.defaultLimit,
                slowConsumerSeconds: Int = 15, logger: Logger) {
        failedAuthentications = FailedAuthentications(limit: authFailureLimit)
        self.engine = engine
        credentials = store
        authenticator = Authenticator(credentials: store, projections: projections, clock: engine.clock)
        self.allowedOrigins = Set(allowedOrigins)
        self.projections = projections
        self.store = store
        self.health = health
        audit = Audit(store: store)
        self.callerIds = callerIds
        self.logger = logger
        feed = FeedHub(store: store, projections: projections, authenticator: authenticator,
                       hopelessAfter: .seconds(slowConsumerSeconds), logger: logger)
    }

    /// Starts the live feed's shared pump where the projections are. Call once, before serving.
    public func startFeed() async { await feed.start() }

    public func stopFeed() { feed.stop() }

    // MARK: - Routes

    /// Every operation of the API, each once. `openapi.yaml` documents exactly these (a test checks both ways).
    static let routes = RouteTable(routes: [
        Route("GET", "", .open) { _, _ in HTTPResponse(status: 303, headers: [("Location", "/console")]) },
        Route("GET", "console", .open) { _, _ in WebAssets.shared.page("console") },
        Route("GET", "supervisor", .open) { _, _ in WebAssets.shared.page("supervisor") },
        Route("GET", "audit", .open) { _, _ in WebAssets.shared.page("audit") },
        Route("GET", "assets/{version}/{file}", .open) { _, request in
            WebAssets.shared.asset(request.parameter("file"), version: request.parameter("version"))
        },
        Route("GET", "healthz", .open) { api, _ in await api.healthz() },
        Route("GET", "openapi.yaml", .open) { _, _ in
            HTTPResponse(status: 200, contentType: "application/yaml", body: OpenAPIDocument.yaml)
        },
        Route("GET", "v1/calls/parallel/{groupId}", .readers(agent: .ownBatch)) { api, request in
            let id = GroupID(request.parameter("groupId"))
            if let at = try APIServer.point(request.http.query) { return try await api.group(id, at: at) }
            return try await api.group(id, ifNoneMatch: request.http.headers["if-none-match"])
        },
        Route("POST", "v1/calls/parallel/{groupId}/terminate", .staff(agent: .ownBatch)) { api, request in
            try await api.terminate(GroupID(request.parameter("groupId")))
        },
        Route("GET", "v1/queues", .anyone) { api, _ in await api.queues() },
        Route("POST", "v1/queues", .staff()) { api, request in try await api.createQueue(try api.body(request.http)) },
        Route("GET", "v1/queues/{queueId}", .readers(agent: .assignedQueue), readsWholeLog: pastPoint) { api, request in
            let id = QueueID(request.parameter("queueId"))
            if let at = try APIServer.point(request.http.query) { return try await api.queue(id, at: at) }
            return try await api.queue(id)
        },
        Route("PATCH", "v1/queues/{queueId}", .staff()) { api, request in
            try await api.changeQueue(QueueID(request.parameter("queueId")), try api.body(request.http))
        },
        Route("POST", "v1/queues/{queueId}/contacts", .staff()) { api, request in
            try await api.addContacts(QueueID(request.parameter("queueId")), try api.body(request.http))
        },
        Route("POST", "v1/queues/{queueId}/pause", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.pauseQueue(queueId: id), on: id)
        },
        Route("POST", "v1/queues/{queueId}/resume", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.resumeQueue(queueId: id), on: id)
        },
        Route("POST", "v1/queues/{queueId}/stop", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.stopQueue(queueId: id), on: id)
        },
        Route("PUT", "v1/queues/{queueId}/agents/{agentId}", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.assignAgent(queueId: id, agentId: try APIServer.pathAgent(request)), on: id)
        },
        Route("DELETE", "v1/queues/{queueId}/agents/{agentId}", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.unassignAgent(queueId: id, agentId: try APIServer.pathAgent(request)), on: id)
        },
        Route("GET", "v1/sessions", .readers(agent: .itself)) { api, request in try await api.sessions(request.http.query) },
        Route("POST", "v1/sessions", .staff(agent: .itselfOnAssignedQueue)) { api, request in try await api.startSession(try api.body(request.http)) },
        Route("GET", "v1/sessions/{sessionId}", .readers(agent: .ownSession)) { api, request in
            let id = SessionID(request.parameter("sessionId"))
            if let at = try APIServer.point(request.http.query) { return try await api.session(id, at: at) }
            return try await api.session(id)
        },
        Route("GET", "v1/sessions/{sessionId}/timeline", .readers(agent: .ownSession)) { api, request in
            try await api.timeline(SessionID(request.parameter("sessionId")), request.http.query)
        },
        Route("PATCH", "v1/sessions/{sessionId}", .staff(agent: .ownSession)) { api, request in
            try await api.changeSession(SessionID(request.parameter("sessionId")), try api.body(request.http))
        },
        Route("POST", "v1/sessions/{sessionId}/disposition", .staff(agent: .ownSession)) { api, request in
            try await api.recordDisposition(SessionID(request.parameter("sessionId")), try api.body(request.http))
        },
        Route("POST", "v1/sessions/{sessionId}/{action}", .staff(agent: .ownSession)) { api, request in
            try await api.sessionAction(SessionID(request.parameter("sessionId")), request.parameter("action"))
        },
        Route("GET", "v1/events", .readers()) { api, request in try await api.events(request.http.query) },
        Route("GET", "v1/reports/compliance", .readers(), readsWholeLog: always) { api, request in try await api.complianceReport(request.http.query) },
        Route("GET", "v1/audit/verify", .readers(), readsWholeLog: always) { api, _ in try await api.verify() },
        Route("GET", "v1/audit/export", .readers(), readsWholeLog: { $0.query["format"] == "csv" }) { api, request in try await api.export(request.http.query) },
        Route("GET", "v1/me", .anyone) { api, request in api.me(request.principal) },
        Route("GET", "v1/meta", .anyone) { _, _ in .json(200, ProductVocabulary.json) },
        Route("GET", "v1/tokens", .admin) { api, _ in await api.tokens() },
        Route("POST", "v1/tokens", .admin) { api, request in try await api.issueToken(try api.body(request.http)) },
        Route("DELETE", "v1/tokens/{tokenId}", .admin) { api, request in
            try await api.revokeToken(TokenID(request.parameter("tokenId")))
        },
        Route("GET", "v1/caller-ids", .admin) { api, _ in await api.callerIdList() },
        Route("POST", "v1/caller-ids", .admin) { api, request in try await api.addCallerIds(try api.body(request.http)) },
        Route("DELETE", "v1/caller-ids/{phone}", .admin) { api, request in try await api.removeCallerId(request.parameter("phone")) },
        Route("GET", "v1/dnc", .readers()) { api, request in await api.doNotCallLookup(request.http.query) },
        Route("POST", "v1/dnc", .staff()) { api, request in try await api.addDoNotCall(try api.body(request.http)) },
        Route("DELETE", "v1/dnc/{phone}", .admin) { api, request in try await api.removeDoNotCall(request.parameter("phone")) },
        Route("GET", "v1/overview", .readers(), readsWholeLog: pastPoint) { api, request in
            if let at = try APIServer.point(request.http.query) { return try await api.overview(at: at) }
            let now = api.engine.clock.now
            return HTTPResponse.json(200, await api.projections.read { SupervisorOverview($0).json(at: now) })
        },
    ])

    /// `?at=` a past point: a fold of the log up to it.
    private static let pastPoint: @Sendable (HTTPRequest) -> Bool = { $0.query["at"] != nil }
    private static let always: @Sendable (HTTPRequest) -> Bool = { _ in true }

    // MARK: - WebApplication

    /// Only the feed's path; a browser only from this server's own origin or an allowed one (a page
    /// elsewhere must not ride on a user's token). Clients that send no `Origin` are not browsers.
    /// The `{agentId}` of a path: URL-safe characters, as `openapi.yaml`'s `PathId` says.
    static func pathAgent(_ request: RouteRequest) throws -> AgentID {
        let text = request.parameter("agentId")
        let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || "._~:-".contains(c)) }
        guard (1...200).contains(text.count), text.allSatisfy(allowed) else {
            throw DomainError.invalidValue(field: "agentId", message: "must be 1 to 200 of A–Z, a–z, 0–9 and . _ ~ : -")
        }
        return AgentID(text)
    }

    static var unauthorized: HTTPResponse {
        var response = HTTPResponse.error(401, code: "unauthorized", message: "send a valid bearer token: Authorization: Bearer <token>")
        response.headers.append(("WWW-Authenticate", #"Bearer realm="switchboard""#))
        return response
    }

    /// A body is not read for a route that needs a token when the headers carry none, or a malformed
    /// one: refused from the headers (issue 20, D3), as the full check would refuse it afterwards.
    public func bodyRefusal(_ request: HTTPRequest) -> HTTPResponse? {
        guard case .found(let route, _) = Self.routes.lookup(method: request.method, path: request.path), !route.access.isOpen,
              !(Authenticator.token(in: request.headers).map(Authenticator.isWellFormed) ?? false) else { return nil }
        return Self.unauthorized
    }

    public func webSocketRefusal(_ upgrade: HTTPRequest) -> HTTPResponse? {
        guard upgrade.path == "/v1/stream" else { return .error(404, code: "not-found", message: "no WebSocket endpoint at this path") }
        if let origin = upgrade.headers["origin"], !allows(origin: origin, host: upgrade.headers["host"]) {
            return .error(403, code: "forbidden-origin", message: "WebSockets from \(origin) are not allowed")
        }
        return nil
    }

    func allows(origin: String, host: String?) -> Bool {
        if allowedOrigins.contains(origin) { return true }
        guard let host, let separator = origin.range(of: "://") else { return false }
        return origin[separator.upperBound...] == host
    }

    public func webSocketOpened(_ connection: ConnectionID, upgrade: HTTPRequest, server: WebServer) {
        feed.open(connection, upgrade: upgrade, failures: failedAuthentications, server: server)
    }

    public func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer) {
        feed.received(connection, text: text, server: server)
    }

    public func webSocketClosed(_ connection: ConnectionID) { feed.closed(connection) }

    /// A path as the info log keeps it: no person's number (`DELETE /v1/dnc/+12125551234` logs
    /// `/v1/dnc/{phone}`); ids of queues, sessions and batches stay, they name no one.
    static func loggable(_ path: String) -> String {
        func isPhone(_ segment: Substring) -> Bool {
            var digits = segment
            for sign in ["+", "%2B", "%2b"] where digits.hasPrefix(sign) {
                digits = digits.dropFirst(sign.count)
                break
            }
            return digits.count >= 10 && digits.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { isPhone($0) ? "{phone}" : String($0) }.joined(separator: "/")
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let started = ContinuousClock.now
        let response = await dispatch(request)
        if logger.logLevel <= .info {
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            logger.info("http", metadata: ["method": "\(request.method)", "path": "\(Self.loggable(request.path))",
                                           "status": "\(response.status)", "ms": "\((ms * 100).rounded() / 100)"])
        }
        return response
    }

    private func dispatch(_ request: HTTPRequest) async -> HTTPResponse {
        let method = request.method == "HEAD" ? "GET" : request.method
        switch Self.routes.lookup(method: method, path: request.path) {
        case .notFound:
            return .error(404, code: "not-found", message: "no such path \(request.path)")
        case .methodNotAllowed(let allowed):
            var response = HTTPResponse.error(405, code: "method-not-allowed", message: "\(request.method) is not allowed on \(request.path)")
            response.headers.append(("Allow", allowed.joined(separator: ", ")))
            return response
        case .found(let route, let parameters):
            var routed = RouteRequest(http: request, parameters: parameters, principal: nil)
            if !route.access.isOpen {
                guard let principal = await authenticator.principal(for: request.headers) else {
                    // An address that guessed too often is shut out — its guesses, never a valid token
                    // (a colleague behind the same NAT, or the operator locked out by a broken script).
                    // A request with no token guesses nothing (401 below).
                    if Authenticator.token(in: request.headers) != nil, let wait = failedAuthentications.blockedFor(request.peer) {
                        var response = HTTPResponse.error(429, code: "too-many-failed-authentications",
                                                          message: "too many failed authentications from this address; try again in \(wait) s")
                        response.headers.append(("Retry-After", String(wait)))
                        return response
                    }
                    // A token that opens nothing counts against the address; no token at all is not a guess.
                    if Authenticator.token(in: request.headers) != nil { failedAuthentications.recordFailure(request.peer) }
                    return Self.unauthorized
                }
                guard await admits(principal, to: route.access, routed) else {
                    return .error(403, code: "forbidden", message: "a \(principal.role.rawValue) token may not \(request.method) \(request.path)")
                }
                routed.principal = principal
            }
            if let token = routed.principal?.tokenId, route.readsWholeLog(request) {
                if let refusal = expensiveReads.admit(token) { return refusal.response }
                defer { expensiveReads.finish(token) }
                return await run(route, routed)
            }
            return await run(route, routed)
        }
    }

    private func run(_ route: Route, _ request: RouteRequest) async -> HTTPResponse {
        do {
            return try await route.handler(self, request)
        } catch {
            return Self.response(for: error)
        }
    }

    /// Whether `principal` may make this request: its role is admitted, or it is an agent's token and
    /// the request concerns that agent as the route's scope says.
    func admits(_ principal: Principal, to access: Access, _ request: RouteRequest) async -> Bool {
        if principal.role == .admin || access.roles.contains(principal.role) { return true }
        guard principal.role == .agent, let agent = principal.agentId, let scope = access.agent else { return false }
        switch scope {
        case .ownSession:
            let id = SessionID(request.parameter("sessionId"))
            return await projections.read { $0.sessions[id]?.agentId == agent }
        case .ownBatch:
            let id = GroupID(request.parameter("groupId"))
            return await projections.read { $0.groups[id]?.agentId == agent }
        case .assignedQueue:
            let queueId = QueueID(request.parameter("queueId"))
            return await projections.read { $0.queues[queueId]?.agents.contains(agent) == true }
        case .itself:
            if let named = request.http.query["agent"] { return named == agent.rawValue }
            guard request.http.method != "GET", let body = try? JSONParser.parse(request.http.body) else { return false }
            return body["agentId"]?.stringValue == agent.rawValue
        case .itselfOnAssignedQueue:
            guard let body = try? JSONParser.parse(request.http.body), body["agentId"]?.stringValue == agent.rawValue,
                  let queueId = body["queueId"]?.stringValue.map(QueueID.init) else { return false }
            return await projections.read { $0.queues[queueId]?.agents.contains(agent) == true }
        }
    }

    /// How each kind of failure is answered.
    static func response(for error: any Error) -> HTTPResponse {
        switch error {
        case let failure as APIError: return .error(failure.status, code: failure.code, message: failure.message)
        case let failure as JSONError: return .error(400, code: "invalid-body", message: failure.description)
        case let failure as DomainError:
            let status = switch failure.kind {
            case .notFound: 404
            case .conflict: 409
            case .invalid: 422
            }
            guard !failure.fieldProblems.isEmpty else { return .error(status, code: failure.code, message: failure.description) }
            let fields = failure.fieldProblems.map { JSONValue.object(["field": .string($0.field), "message": .string($0.message)]) }
            return .json(status, ["error": ["code": .string(failure.code), "message": .string(failure.description),
                                            "fields": .array(fields)]])
        case let failure as EngineUnavailable: return .error(503, code: "engine-stopped", message: failure.description)
        case let failure as ProjectionFailure: return .error(503, code: "projections-stopped", message: failure.description)
        default: return .error(500, code: "internal", message: "\(error)")
        }
    }

    // MARK: - Endpoints

    func group(_ id: GroupID, ifNoneMatch: String?) async throws -> HTTPResponse {
        guard let group = await projections.group(id) else { throw DomainError.groupNotFound(id) }
        let etag = "\"\(group.position)\""
        if ifNoneMatch == etag { return HTTPResponse(status: 304, headers: [("ETag", etag)]) }
        return HTTPResponse(status: 200, headers: [("ETag", etag), ("Cache-Control", "no-cache")],
                            body: encodedSummaries.body(for: group))
    }

    func terminate(_ id: GroupID) async throws -> HTTPResponse {
        let decision = try await engine.decide(.cancelBatch(groupId: id))
        try await projections.waitUntil(decision.position)
        return try await group(id, ifNoneMatch: nil)
    }

    func healthz() async -> HTTPResponse {
        var problems = health.problems
        if let failure = await projections.failure { problems["projections"] = failure.reason }
        let position = JSONValue.int(await projections.read { $0.position })
        let time = engine.clock.now.json  // the pages correct their clocks by it
        guard problems.isEmpty else {
            let reasons = JSONObject(fields: problems.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })
            return .json(503, ["status": "failing", "position": position, "problems": .object(reasons)])
        }
        var fields: [JSONObject.Field] = [.init(key: "status", value: "ok"), .init(key: "position", value: position),
                                          .init(key: "time", value: time)]
        // The wall clock stepped back: event times run on from the last stamp until it catches up.
        let behind = engine.clock.wallClockBehindMs
        if behind > 1000 { fields.append(.init(key: "wallClockBehindMs", value: .int(behind))) }
        // A demo's or a test's clock, shifted so the US is inside its calling hours: say so.
        if engine.clock.shiftHours != 0 { fields.append(.init(key: "clockShiftHours", value: .int(Int64(engine.clock.shiftHours)))) }
        return .json(200, .object(JSONObject(fields: fields)))
    }

    /// Every queue without its contacts, in id order.
    func queues() async -> HTTPResponse {
        let now = engine.clock.now
        let briefs = await projections.read { state in state.queues.values.sorted { $0.id < $1.id }.map { $0.brief(at: now) } }
        return .json(200, ["queues": .array(briefs)])
    }

    /// Sessions, newest first: of an agent, of a queue, started on a day (UTC), at most `limit`.
    func sessions(_ query: [String: String]) async throws -> HTTPResponse {
        let limit = Int(try Self.integer(query["limit"], name: "limit", default: 100, range: 1...1000))
        var start: Timestamp?, end: Timestamp?
        if let day = query["day"] {
            guard day.count == 10, let midnight = Timestamp(rfc3339: day + "T00:00:00Z") else {
                throw APIError(status: 400, code: "invalid-query", message: "day must be a date (YYYY-MM-DD)")
            }
            start = midnight
            end = midnight.adding(milliseconds: 86_400_000)
        }
        let agent = query["agent"].map(AgentID.init), queue = query["queue"].map(QueueID.init)
        let matching = await projections.read { state in
            state.sessions.values.filter { session in
                (agent.map { session.agentId == $0 } ?? true) && (queue.map { session.queueId == $0 } ?? true)
                    && (start.map { session.startedAt >= $0 } ?? true) && (end.map { session.startedAt < $0 } ?? true)
            }
        }
        let newestFirst = matching.sorted { ($0.startedAt, $0.id) > ($1.startedAt, $1.id) }.prefix(limit)
        return .json(200, ["sessions": .array(newestFirst.map(\.summary))])
    }

    func queue(_ id: QueueID) async throws -> HTTPResponse {
        let now = engine.clock.now
        guard let summary = await projections.read({ $0.queues[id]?.summary(at: now) }) else { throw DomainError.queueNotFound(id) }
        return .json(200, summary)
    }

    /// A supervisor's queue-wide pause, resume or stop; answers with the queue after it.
    func queueAct(_ command: Command, on queueId: QueueID) async throws -> HTTPResponse {
        let decision = try await engine.decide(command)
        try await projections.waitUntil(decision.position)
        return try await queue(queueId)
    }

    func session(_ id: SessionID) async throws -> HTTPResponse {
        guard let session = await projections.read({ $0.sessions[id] }) else { throw DomainError.sessionNotFound(id) }
        return .json(200, session.summary)
    }

    static let sessionActions: [String: SessionRequest] = [
        "pause": .pause, "resume": .resume, "stop": .stop, "hangup": .hangUp, "cancel": .cancel,
    ]

    func recordDisposition(_ id: SessionID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["callId", "outcome", "notes", "callbackAt"])
        let decision = try await engine.decide(.recordDisposition(
            sessionId: id, callId: try body.decode("callId"), outcome: try body.decode("outcome"),
            notes: try body.decodeIfPresent("notes"), callbackAt: try body.decodeIfPresent("callbackAt")))
        try await projections.waitUntil(decision.position)
        return try await session(id)
    }

    func sessionAction(_ id: SessionID, _ name: String) async throws -> HTTPResponse {
        guard let action = Self.sessionActions[name] else {
            throw APIError(status: 404, code: "not-found", message: "no such action \(name) (pause, resume, stop, hangup, cancel)")
        }
        let decision = try await engine.request(action, session: id)
        try await projections.waitUntil(decision.position)
        return try await session(id)
    }

    func createQueue(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["name", "segment", "maxAttempts", "retryDelayMs", "contacts", "callerIds", "callingHours",
                                    "safeHarborMessage", "abandonWarnPercent", "abandonCapPercent"])
        let subset: [PhoneNumber]? = try body.decodeIfPresent("callerIds")
        if let subset {  // checked before the queue exists, so a refused subset creates nothing
            let pool = await projections.read { $0.callerIds }
            guard !subset.isEmpty else { throw DomainError.invalidValue(field: "callerIds", message: "must name at least one number") }
            if let outside = subset.first(where: { !pool.contains($0) }) { throw DomainError.callerIdNotInPool(outside) }
        }
        let queueId = QueueID("q-" + ids.next().lowercasedString.prefix(8) + ids.next().lowercasedString.suffix(8))
        let contacts = try parseContacts(try body.decodeIfPresent("contacts", as: [JSONObject].self) ?? [])
        let decision = try await engine.decide(.createQueue(
            queueId: queueId, name: try body.decode("name"), segment: try body.decodeIfPresent("segment"),
            maxAttempts: try body.decodeIfPresent("maxAttempts") ?? 3, contacts: contacts,
            retryDelayMs: try body.decodeIfPresent("retryDelayMs") ?? Queue.defaultRetryDelayMs,
            callingHours: try body.decodeIfPresent("callingHours"),
            compliance: try Self.compliance(body, over: .standard)))
        try await projections.waitUntil(decision.position)
        if let subset {
            let set = try await engine.decide(.setQueueCallerIds(queueId: queueId, callerIds: subset))
            try await projections.waitUntil(set.position)
        }
        var response = try await queue(queueId)
        response.status = 201
        return response
    }

    func addContacts(_ queueId: QueueID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["contacts"])
        let contacts = try parseContacts(try body.decode("contacts", as: [JSONObject].self))
        let decision = try await engine.decide(.addContacts(queueId: queueId, contacts: contacts))
        try await projections.waitUntil(decision.position)
        // The queue without its contacts, and how many were added: an upload of a long list in
        // pieces costs each piece, not the whole queue again (issue 20, D12).
        let now = engine.clock.now
        guard case .object(var brief)? = await projections.read({ $0.queues[queueId]?.brief(at: now) }) else {
            throw DomainError.queueNotFound(queueId)
        }
        brief["added"] = .int(Int64(contacts.count))
        return .json(200, .object(brief))
    }

    func parseContacts(_ list: [JSONObject]) throws -> [NewContact] {
        try list.enumerated().map { index, contact in
            let parsed: NewContact
            do throws(JSONError) {
                try contact.rejectUnknownKeys(["id", "name", "phone", "segment", "script", "timeZone"])
                parsed = NewContact(contactId: try contact.decodeIfPresent("id") ?? ContactID("c-\(ids.next().lowercasedString.suffix(12))"),
                                    name: try contact.decodeIfPresent("name"), phone: try contact.decode("phone"),
                                    segment: try contact.decodeIfPresent("segment"), script: try contact.decodeIfPresent("script"),
                                    timeZone: try contact.decodeIfPresent("timeZone"))
            } catch {
                throw APIError(status: 400, code: "invalid-body", message: "contacts[\(index)]: \(error.message)")
            }
            if let script = parsed.script, let problem = SimulatedScript.problem(with: script) {
                throw DomainError.invalidValue(field: "contacts[\(index)].script", message: problem)
            }
            return parsed
        }
    }

    func startSession(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["agentId", "queueId", "mode", "profile", "settings"])
        let sessionId = SessionID("s-" + ids.next().lowercasedString.suffix(12))
        let patch = try body.decodeIfPresent("settings", as: SettingsPatch.self) ?? SettingsPatch()
        let decision = try await engine.decide(.startSession(
            sessionId: sessionId, agentId: try body.decode("agentId"), queueId: try body.decode("queueId"),
            mode: try body.decodeIfPresent("mode") ?? .single, profile: try body.decodeIfPresent("profile") ?? .auto,
            settings: SessionSettings.default.applying(patch), callerIds: callerIds))
        try await projections.waitUntil(decision.position)
        var response = try await session(sessionId)
        response.status = 201
        return response
    }

    func changeSession(_ id: SessionID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["mode", "settings"])
        // One decision for both: the change applies whole or not at all.
        let decision = try await engine.request(.change(mode: try body.decodeIfPresent("mode"),
                                                        settings: try body.decodeIfPresent("settings")), session: id)
        try await projections.waitUntil(decision.position)
        return try await session(id)
    }

    // MARK: - Access and caller IDs

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
            let decision = try await engine.decide(command)
            try await projections.waitUntil(decision.position)
        }
        guard let token = await projections.read({ $0.tokens[issued.tokenId] }),
            case .object(var object) = Self.tokenJSON(token, now: engine.clock.now)
        else { throw DomainError.tokenNotFound(issued.tokenId) }
        object["token"] = .string(issued.token)
        return .json(201, .object(object))
    }

    func revokeToken(_ id: TokenID) async throws -> HTTPResponse {
        let decision = try await engine.decide(.revokeToken(tokenId: id))
        try await projections.waitUntil(decision.position)
        guard let token = await projections.read({ $0.tokens[id] }) else { throw DomainError.tokenNotFound(id) }
        return .json(200, Self.tokenJSON(token, now: engine.clock.now))
    }

    func callerIdList() async -> HTTPResponse {
        .json(200, ["callerIds": .array(await projections.read { $0.callerIds }.map(\.json))])
    }

    func addCallerIds(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["phones"])
        let decision = try await engine.decide(.addCallerIds(try body.decode("phones")))
        try await projections.waitUntil(decision.position)
        return await callerIdList()
    }

    /// A phone number in a path: `+1…` or `%2B1…`.
    static func phone(inPath text: String, notFound code: String) throws -> PhoneNumber {
        let decoded = text.hasPrefix("%2B") || text.hasPrefix("%2b") ? "+" + text.dropFirst(3) : text
        guard let phone = PhoneNumber(decoded) else { throw APIError(status: 404, code: code, message: "\(decoded) is not an E.164 number") }
        return phone
    }

    func removeCallerId(_ text: String) async throws -> HTTPResponse {
        let phone = try Self.phone(inPath: text, notFound: "caller-id-not-found")
        let decision = try await engine.decide(.removeCallerId(phone))
        try await projections.waitUntil(decision.position)
        return await callerIdList()
    }

    /// `?phone=`: whether that number is listed; without it, how many are.
    func doNotCallLookup(_ query: [String: String]) async -> HTTPResponse {
        let list = await projections.read { $0.doNotCall }
        guard let text = query["phone"] else { return .json(200, ["count": .int(Int64(list.count))]) }
        guard let phone = PhoneNumber(text) else {
            return .error(400, code: "invalid-query", message: "phone must be an E.164 number")
        }
        return .json(200, ["phone": phone.json, "listed": .bool(list.contains(phone))])
    }

    func addDoNotCall(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["phones"])
        let phones: [PhoneNumber] = try body.decode("phones")
        let before = await projections.read { $0.doNotCall.count }
        let decision = try await engine.decide(.addDoNotCall(phones, source: .request))
        try await projections.waitUntil(decision.position)
        let after = await projections.read { $0.doNotCall.count }
        return .json(200, ["added": .int(Int64(after - before)), "count": .int(Int64(after))])
    }

    func removeDoNotCall(_ text: String) async throws -> HTTPResponse {
        let phone = try Self.phone(inPath: text, notFound: "not-on-do-not-call-list")
        let decision = try await engine.decide(.removeDoNotCall(phone))
        try await projections.waitUntil(decision.position)
        return .json(200, ["phone": phone.json, "listed": .bool(false)])
    }

    /// A queue's own caller IDs (`callerIds`: a subset of the organisation's, or null for all of them)
    /// and its compliance settings (`safeHarborMessage`, null for the organisation's; the abandonment
    /// thresholds). Whatever the body names changes; everything is checked before anything is written.
    func changeQueue(_ id: QueueID, _ body: JSONObject) async throws -> HTTPResponse {
        let complianceKeys = ["safeHarborMessage", "abandonWarnPercent", "abandonCapPercent"]
        try body.rejectUnknownKeys(Set(["callerIds"] + complianceKeys))
        guard !body.fields.isEmpty else {
            throw APIError(status: 400, code: "invalid-body", message: "name at least one of callerIds, " + complianceKeys.joined(separator: ", "))
        }
        guard let current = await projections.read({ $0.queues[id]?.compliance }) else { throw DomainError.queueNotFound(id) }
        var compliance: QueueCompliance?
        if complianceKeys.contains(where: { body[$0] != nil }) {
            let changed = try Self.compliance(body, over: current)
            let violations = changed.violations
            guard violations.isEmpty else { throw DomainError.invalidSettings(violations) }
            compliance = changed
        }
        var subset: [PhoneNumber]??
        if body["callerIds"] != nil {
            let list: [PhoneNumber]? = try body.decodeIfPresent("callerIds")
            let pool = await projections.read { $0.callerIds }
            if let list, let outside = list.first(where: { !pool.contains($0) }) { throw DomainError.callerIdNotInPool(outside) }
            subset = .some(list)
        }
        var position: Int64?
        if let subset { position = try await engine.decide(.setQueueCallerIds(queueId: id, callerIds: subset)).position }
        if let compliance { position = try await engine.decide(.setQueueCompliance(queueId: id, compliance: compliance)).position }
        if let position { try await projections.waitUntil(position) }
        return try await queue(id)
    }

    /// `base` with the compliance fields `body` names (`safeHarborMessage: null` clears the queue's own).
    static func compliance(_ body: JSONObject, over base: QueueCompliance) throws -> QueueCompliance {
        var compliance = base
        if body["safeHarborMessage"] != nil { compliance.safeHarborMessage = try body.decodeIfPresent("safeHarborMessage") }
        if let warn: Percent = try body.decodeIfPresent("abandonWarnPercent") { compliance.abandonWarnPercent = warn }
        if let cap: Percent = try body.decodeIfPresent("abandonCapPercent") { compliance.abandonCapPercent = cap }
        return compliance
    }

    // MARK: - Audit: the past, from the log alone

    /// `?at=N` (a log position) or `?at=<RFC 3339 time>` (the last position at or before it).
    static func point(_ query: [String: String]) throws -> Audit.Point? {
        guard let text = query["at"] else { return nil }
        if let position = Int64(text), position >= 0 { return .position(position) }
        if let time = Timestamp(rfc3339: text) { return .time(time) }
        throw APIError(status: 400, code: "invalid-query", message: "at must be a log position (0 or more) or an RFC 3339 time")
    }

    /// A projection as it was at a past position, answered with that position in `X-Log-Position`.
    private func past(_ position: Int64, _ value: JSONValue) -> HTTPResponse {
        var response = HTTPResponse.json(200, value)
        response.headers.append(("X-Log-Position", String(position)))
        return response
    }

    func session(_ id: SessionID, at point: Audit.Point) async throws -> HTTPResponse {
        let position = try await audit.position(of: point)
        guard let session = try await audit.sessionState(id, at: position).sessions[id] else {
            throw DomainError.sessionNotFound(id)
        }
        return past(position, session.summary)
    }

    func group(_ id: GroupID, at point: Audit.Point) async throws -> HTTPResponse {
        // A batch belongs to one session for its whole life: fold that session's events only.
        guard let sessionId = await projections.group(id)?.sessionId else { throw DomainError.groupNotFound(id) }
        let position = try await audit.position(of: point)
        guard let group = try await audit.sessionState(sessionId, at: position).groups[id] else {
            throw DomainError.groupNotFound(id)
        }
        return past(position, group.summary)
    }

    func queue(_ id: QueueID, at point: Audit.Point) async throws -> HTTPResponse {
        let position = try await audit.position(of: point)
        let state = try await audit.state(at: position)
        guard let queue = state.queues[id] else { throw DomainError.queueNotFound(id) }
        return past(position, queue.summary(at: try await time(at: position)))
    }

    /// The time of the event at `position`: "now" as it was then.
    private func time(at position: Int64) async throws -> Timestamp {
        try await store.readAll(after: max(0, position - 1), limit: 1).first?.time ?? .epoch
    }

    func overview(at point: Audit.Point) async throws -> HTTPResponse {
        let position = try await audit.position(of: point)
        return past(position, SupervisorOverview(try await audit.state(at: position)).json(at: try await time(at: position)))
    }

    /// `ndjson`: the stored envelopes of positions `from...to` and a trailer anyone can check against
    /// the chain (a contiguous slice, so `queue`/`session` do not apply); `csv`: the call-detail
    /// records of the calls placed in `from...to`, of `queue` / `session` when given.
    func export(_ query: [String: String]) async throws -> HTTPResponse {
        let head = try await store.headPosition()
        let from = try Self.integer(query["from"], name: "from", default: 1, range: 1...Int64.max)
        let to = min(try Self.integer(query["to"], name: "to", default: head, range: 1...Int64.max), head)
        let format = query["format"] ?? "ndjson"
        for name in ["queue", "session"] where query[name]?.isEmpty == true {
            throw APIError(status: 400, code: "invalid-query", message: "\(name) must not be empty")
        }
        switch format {
        case "ndjson":
            let queue = query["queue"], session = query["session"]
            let keep = queue == nil && session == nil ? nil : try await exportFilter(queue: queue.map(QueueID.init),
                                                                                     session: session.map(SessionID.init))
            // Streamed: one page of the log in memory at a time, however long the slice.
            let reader = ChainExport.Reader(store: store, from: from, to: to, keeping: { keep?($0) ?? true })
            var response = HTTPResponse(status: 200, contentType: "application/x-ndjson")
            response.bodyStream = { try await reader.next() }
            return response
        case "csv":
            let records = try await CallDetailRecord.records(store, from: from, to: to, queue: query["queue"].map(QueueID.init),
                                                             session: query["session"].map(SessionID.init))
            return HTTPResponse(status: 200, contentType: "text/csv; charset=utf-8", body: Array(CallDetailRecord.csv(records).utf8))
        default:
            throw APIError(status: 400, code: "invalid-query", message: "format must be ndjson or csv")
        }
    }

    /// Which events a queue's or a session's export keeps: their streams' and their sessions' events.
    private func exportFilter(queue: QueueID?, session: SessionID?) async throws -> @Sendable (RecordedEvent) -> Bool {
        var sessions = Set<String>()
        if let session { sessions.insert(session.rawValue) }
        if let queue {
            sessions.formUnion(await projections.read { state in state.sessions.values.filter { $0.queueId == queue }.map(\.id.rawValue) })
        }
        let queueStream = queue.map { EventSubject.Stream.queue($0).name }
        return { [sessions] event in event.correlationId.map(sessions.contains) ?? false || event.stream == queueStream }
    }

    /// The whole chain walked again (`switchboard verify`): intact up to which position, or where it breaks.
    func verify() async throws -> HTTPResponse {
        let report = try await store.verify()
        return .json(200, [
            "intact": .bool(report.firstBadPosition == nil), "eventsChecked": .int(report.eventsChecked),
            "headHash": .string(report.headHash), "firstBadPosition": report.firstBadPosition.map(JSONValue.int) ?? .null,
            "problem": report.problem.map(JSONValue.string) ?? .null,
        ])
    }

    func complianceReport(_ query: [String: String]) async throws -> HTTPResponse {
        func day(_ name: String) throws -> Timestamp? {
            guard let text = query[name] else { return nil }
            if let time = Timestamp(rfc3339: text) ?? Timestamp(rfc3339: text + "T00:00:00Z") { return time }
            throw APIError(status: 400, code: "invalid-query", message: "\(name) must be a date (YYYY-MM-DD) or an RFC 3339 time")
        }
        if query["queue"]?.isEmpty == true { throw APIError(status: 400, code: "invalid-query", message: "queue must not be empty") }
        let format = query["format"] ?? "json"
        guard format == "json" || format == "csv" else {
            throw APIError(status: 400, code: "invalid-query", message: "format must be json or csv")
        }
        let report = try await ComplianceReport.build(store, queue: query["queue"].map(QueueID.init),
                                                      from: try day("from"), to: try day("to"))
        if format == "csv" {
            return HTTPResponse(status: 200, contentType: "text/csv; charset=utf-8", body: Array(report.csv.utf8))
        }
        return .json(200, report.json)
    }

    func timeline(_ id: SessionID, _ query: [String: String]) async throws -> HTTPResponse {
        let after = try Self.integer(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = Int(try Self.integer(query["limit"], name: "limit", default: 100, range: 1...1000))
        guard await projections.read({ $0.sessions[id] != nil }) else { throw DomainError.sessionNotFound(id) }
        let page = try await audit.timeline(of: id, after: after, limit: limit)
        return HTTPResponse(status: 200, body: Self.eventPage(page, after: after))
    }

    /// `{"events": [envelope, …], "next": <last position>}`.
    static func eventPage(_ page: [RecordedEvent], after: Int64) -> [UInt8] {
        var bytes: [UInt8] = Array(#"{"events":["#.utf8)
        for (index, event) in page.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += event.envelopeJSON
        }
        bytes += Array(#"],"next":\#(page.last?.position ?? after)}"#.utf8)
        return bytes
    }

    func events(_ query: [String: String]) async throws -> HTTPResponse {
        let after = try Self.integer(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = Int(try Self.integer(query["limit"], name: "limit", default: 100, range: 1...1000))
        var page: [RecordedEvent]
        if let stream = query["stream"] {
            page = try await store.readStream(stream, afterPosition: after, limit: limit)
        } else {
            page = try await store.readAll(after: after, limit: limit)
        }
        return HTTPResponse(status: 200, body: Self.eventPage(page, after: after))
    }

    // MARK: - Helpers

    func body(_ request: HTTPRequest) throws -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body)
        } catch {
            throw APIError(status: 400, code: "malformed-json", message: "the body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw APIError(status: 400, code: "invalid-body", message: "the body must be a JSON object")
        }
        return object
    }

    static func integer(_ text: String?, name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
        guard let text else { return value }
        guard let number = Int64(text), range.contains(number) else {
            throw APIError(status: 400, code: "invalid-query", message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

}

extension HTTPResponse {
    static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse { HTTPResponse(status: status, body: JSONWriter.encode(value)) }
}

/// An error answered as-is, with its status and code.
struct APIError: Error {
    var status: Int
    var code: String
    var message: String
}


/// Encoded group summaries by group and log position (a version never changes once written).
final class SummaryCache: Sendable {
    static let capacity = 4096
    private let entries = Mutex<[GroupID: (position: Int64, body: [UInt8])]>([:])

    func body(for group: Group) -> [UInt8] {
        if let hit = entries.withLock({ $0[group.id] }), hit.position == group.position { return hit.body }
        let body = JSONWriter.encode(group.summary)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[group.id] = (group.position, body)
        }
        return body
    }
}
