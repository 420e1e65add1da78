import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// An agent's sessions: started on a queue, changed (mode, settings), paused, resumed, stopped, a call
/// hung up or a batch cancelled, a disposition recorded; and what happened in one (its timeline).
extension APIServer {
    static let sessionRoutes: [Route] = [
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
    ]

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

    func session(_ id: SessionID) async throws -> HTTPResponse {
        guard let session = await projections.read({ $0.sessions[id] }) else { throw DomainError.sessionNotFound(id) }
        return .json(200, session.summary)
    }

    func session(_ id: SessionID, at point: Audit.Point) async throws -> HTTPResponse {
        let position = try await audit.position(of: point)
        guard let session = try await audit.sessionState(id, at: position).sessions[id] else {
            throw DomainError.sessionNotFound(id)
        }
        return past(position, session.summary)
    }

    func timeline(_ id: SessionID, _ query: [String: String]) async throws -> HTTPResponse {
        let after = try Self.integer(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = Int(try Self.integer(query["limit"], name: "limit", default: 100, range: 1...1000))
        guard await projections.read({ $0.sessions[id] != nil }) else { throw DomainError.sessionNotFound(id) }
        let page = try await audit.timeline(of: id, after: after, limit: limit)
        return HTTPResponse(status: 200, body: Self.eventPage(page, after: after))
    }

    static let sessionActions: [String: SessionRequest] = [
        "pause": .pause, "resume": .resume, "stop": .stop, "hangup": .hangUp, "cancel": .cancel,
    ]

    func startSession(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["agentId", "queueId", "mode", "profile", "settings", "agentEndpoint"])
        let sessionId = SessionID("s-" + ids.next().lowercasedString.suffix(12))
        let patch = try body.decodeIfPresent("settings", as: SettingsPatch.self) ?? SettingsPatch()
        let agentEndpoint: String? = try body.decodeIfPresent("agentEndpoint")
        // A real carrier bridges winners into a room the agent must be in: no endpoint, no one to bridge to.
        if carrierWebhooks != nil, agentEndpoint == nil {
            throw DomainError.invalidValue(field: "agentEndpoint", message: "is required with a real carrier: the phone number (+E.164), client:NAME or sip:user@host the agent answers on")
        }
        try await write(.startSession(
            sessionId: sessionId, agentId: try body.decode("agentId"), queueId: try body.decode("queueId"),
            mode: try body.decodeIfPresent("mode") ?? .single, profile: try body.decodeIfPresent("profile") ?? .auto,
            settings: SessionSettings.default.applying(patch), callerIds: callerIds, agentEndpoint: agentEndpoint))
        var response = try await session(sessionId)
        response.status = 201
        return response
    }

    func changeSession(_ id: SessionID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["mode", "settings"])
        // One decision for both: the change applies whole or not at all.
        try await write(.change(mode: try body.decodeIfPresent("mode"),
                                                        settings: try body.decodeIfPresent("settings")), session: id)
        return try await session(id)
    }

    func recordDisposition(_ id: SessionID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["callId", "outcome", "notes", "callbackAt"])
        try await write(.recordDisposition(
            sessionId: id, callId: try body.decode("callId"), outcome: try body.decode("outcome"),
            notes: try body.decodeIfPresent("notes"), callbackAt: try body.decodeIfPresent("callbackAt")))
        return try await session(id)
    }

    func sessionAction(_ id: SessionID, _ name: String) async throws -> HTTPResponse {
        guard let action = Self.sessionActions[name] else {
            throw APIError(status: 404, code: "not-found", message: "no such action \(name) (pause, resume, stop, hangup, cancel)")
        }
        try await write(action, session: id)
        return try await session(id)
    }

}
