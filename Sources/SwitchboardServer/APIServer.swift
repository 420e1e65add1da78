import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardApp
import SwitchboardJSON
import WebTransport

/// The HTTP API and the live feed, on top of a running engine.
///
/// Writes go to the engine as commands (through its clock, so they are ordered with carrier events
/// and timers); reads come from the projections, after they have caught up with the write.
public final class APIServer: WebApplication {
    let clock: SystemClock
    let projections: ProjectionHost
    let store: any EventStore
    let feed: FeedHub
    let callerIds: [PhoneNumber]
    let ids = TimeOrderedEventIDs()
    /// 500 ms pollers ask for the same group again and again: encode each version of it once.
    let encodedSummaries = SummaryCache()

    public init(clock: SystemClock, projections: ProjectionHost, store: any EventStore, callerIds: [PhoneNumber]) {
        self.clock = clock
        self.projections = projections
        self.store = store
        self.callerIds = callerIds
        feed = FeedHub(store: store, projections: projections)
    }

    /// Starts the live feed's shared pump at the log's head. Call once, before serving.
    public func startFeed() async throws { feed.start(after: try await store.headPosition()) }

    public func stopFeed() { feed.stop() }

    // MARK: - WebApplication

    public func acceptsWebSocket(path: String) -> Bool { path == "/v1/stream" }

    public func webSocketOpened(_ connection: ConnectionID, query: [String: String], server: WebServer) {
        feed.open(connection, query: query, server: server)
    }

    public func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer) {
        feed.received(connection, text: text, server: server)
    }

    public func webSocketClosed(_ connection: ConnectionID) { feed.closed(connection) }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let route = Route(method: request.method == "HEAD" ? "GET" : request.method, path: request.path)
        do {
            if route.matches("GET", "healthz") != nil {
                return json(200, ["status": "ok", "position": .int(await projections.state.position)])
            }
            if let id = route.matches("GET", "v1/calls/parallel/:id")?.first {
                return try await group(GroupID(id), ifNoneMatch: request.headers["if-none-match"])
            }
            if let id = route.matches("POST", "v1/calls/parallel/:id/terminate")?.first {
                return try await terminate(GroupID(id))
            }
            if route.matches("POST", "v1/queues") != nil { return try await createQueue(try body(request)) }
            if let id = route.matches("GET", "v1/queues/:id")?.first {
                guard let queue = await projections.state.queues[QueueID(id)] else { throw DomainError.queueNotFound(QueueID(id)) }
                return json(200, queue.summary)
            }
            if let id = route.matches("POST", "v1/queues/:id/contacts")?.first {
                return try await addContacts(QueueID(id), try body(request))
            }
            if route.matches("POST", "v1/sessions") != nil { return try await startSession(try body(request)) }
            if let id = route.matches("GET", "v1/sessions/:id")?.first {
                guard let session = await projections.state.sessions[SessionID(id)] else { throw DomainError.sessionNotFound(SessionID(id)) }
                return json(200, session.summary)
            }
            if let id = route.matches("PATCH", "v1/sessions/:id")?.first {
                return try await changeSession(SessionID(id), try body(request))
            }
            if let captured = route.matches("POST", "v1/sessions/:id/:action") {
                guard let action = Self.sessionActions[captured[1]] else {
                    return error(404, "not-found", "no such action \(captured[1]) (pause, resume, stop, hangup, cancel)")
                }
                let id = SessionID(captured[0])
                let decision = try await submit(.request(id, action, reply: nil))
                await projections.waitUntil(decision.position)
                guard let session = await projections.state.sessions[id] else { throw DomainError.sessionNotFound(id) }
                return json(200, session.summary)
            }
            if route.matches("GET", "v1/events") != nil { return try await events(request.query) }
            if route.matches("GET", "v1/overview") != nil { return json(200, await projections.overview.json) }
            if route.matches("GET", "openapi.yaml") != nil {
                return HTTPResponse(status: 200, contentType: "application/yaml", body: OpenAPIDocument.yaml)
            }
            if Self.patterns.contains(where: { route.pathMatches($0) }) {
                return error(405, "method-not-allowed", "\(request.method) is not allowed on \(request.path)")
            }
            return error(404, "not-found", "no such path \(request.path)")
        } catch let failure as APIError {
            return error(failure.status, failure.code, failure.message)
        } catch let failure as JSONError {
            return error(400, "invalid-body", failure.description)
        } catch let failure as DomainError {
            let status = switch failure.kind {
            case .notFound: 404
            case .conflict: 409
            case .invalid: 422
            }
            return error(status, failure.code, failure.description)
        } catch {
            return self.error(500, "internal", "\(error)")
        }
    }

    static let sessionActions: [String: SessionRequest] = [
        "pause": .pause, "resume": .resume, "stop": .stop, "hangup": .hangUp, "cancel": .cancel,
    ]

    static let patterns = [
        "healthz", "v1/calls/parallel/:id", "v1/calls/parallel/:id/terminate", "v1/queues", "v1/queues/:id",
        "v1/queues/:id/contacts", "v1/sessions", "v1/sessions/:id", "v1/sessions/:id/:action", "v1/events",
        "v1/overview", "openapi.yaml",
    ]

    // MARK: - Endpoints

    func group(_ id: GroupID, ifNoneMatch: String?) async throws -> HTTPResponse {
        guard let group = await projections.group(id) else { throw DomainError.groupNotFound(id) }
        let etag = "\"\(group.position)\""
        if ifNoneMatch == etag { return HTTPResponse(status: 304, headers: [("ETag", etag)]) }
        return HTTPResponse(status: 200, headers: [("ETag", etag), ("Cache-Control", "no-cache")],
                            body: encodedSummaries.body(for: group))
    }

    func terminate(_ id: GroupID) async throws -> HTTPResponse {
        let decision = try await submit(.command(.cancelBatch(groupId: id), reply: nil))
        await projections.waitUntil(decision.position)
        return try await group(id, ifNoneMatch: nil)
    }

    func createQueue(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["name", "segment", "maxAttempts", "contacts"])
        let queueId = QueueID("q-" + ids.next().lowercasedString.prefix(8) + ids.next().lowercasedString.suffix(8))
        let contacts = try parseContacts(try body.decodeIfPresent("contacts", as: [JSONObject].self) ?? [])
        let decision = try await submit(.command(.createQueue(
            queueId: queueId, name: try body.decode("name"), segment: try body.decodeIfPresent("segment"),
            maxAttempts: try body.decodeIfPresent("maxAttempts") ?? 3, contacts: contacts), reply: nil))
        await projections.waitUntil(decision.position)
        guard let queue = await projections.state.queues[queueId] else { throw DomainError.queueNotFound(queueId) }
        return json(201, queue.summary)
    }

    func addContacts(_ queueId: QueueID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["contacts"])
        let contacts = try parseContacts(try body.decode("contacts", as: [JSONObject].self))
        let decision = try await submit(.command(.addContacts(queueId: queueId, contacts: contacts), reply: nil))
        await projections.waitUntil(decision.position)
        guard let queue = await projections.state.queues[queueId] else { throw DomainError.queueNotFound(queueId) }
        return json(200, queue.summary)
    }

    func parseContacts(_ list: [JSONObject]) throws -> [NewContact] {
        try list.enumerated().map { index, contact in
            do throws(JSONError) {
                try contact.rejectUnknownKeys(["id", "name", "phone", "segment", "script"])
                return NewContact(contactId: try contact.decodeIfPresent("id") ?? ContactID("c-\(ids.next().lowercasedString.suffix(12))"),
                                  name: try contact.decodeIfPresent("name"), phone: try contact.decode("phone"),
                                  segment: try contact.decodeIfPresent("segment"), script: try contact.decodeIfPresent("script"))
            } catch {
                throw APIError(status: 400, code: "invalid-body", message: "contacts[\(index)]: \(error.message)")
            }
        }
    }

    func startSession(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["agentId", "queueId", "mode", "profile", "settings"])
        let sessionId = SessionID("s-" + ids.next().lowercasedString.suffix(12))
        let patch = try body.decodeIfPresent("settings", as: SettingsPatch.self) ?? SettingsPatch()
        let decision = try await submit(.command(.startSession(
            sessionId: sessionId, agentId: try body.decode("agentId"), queueId: try body.decode("queueId"),
            mode: try body.decodeIfPresent("mode") ?? .parallel, profile: try body.decodeIfPresent("profile") ?? .auto,
            settings: SessionSettings.default.applying(patch), callerIds: callerIds), reply: nil))
        await projections.waitUntil(decision.position)
        guard let session = await projections.state.sessions[sessionId] else { throw DomainError.sessionNotFound(sessionId) }
        return json(201, session.summary)
    }

    func changeSession(_ id: SessionID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["mode", "settings"])
        var position: Int64 = 0
        if let mode = try body.decodeIfPresent("mode", as: CallingMode.self) {
            position = try await submit(.request(id, .setMode(mode), reply: nil)).position
        }
        if let patch = try body.decodeIfPresent("settings", as: SettingsPatch.self) {
            position = try await submit(.request(id, .setSettings(patch), reply: nil)).position
        }
        await projections.waitUntil(position)
        guard let session = await projections.state.sessions[id] else { throw DomainError.sessionNotFound(id) }
        return json(200, session.summary)
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
        var bytes: [UInt8] = Array(#"{"events":["#.utf8)
        for (index, event) in page.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += event.envelopeJSON
        }
        bytes += Array(#"],"next":\#(page.last?.position ?? after)}"#.utf8)
        return HTTPResponse(status: 200, body: bytes)
    }

    // MARK: - Helpers

    /// Hands a command to the engine and waits for its decision.
    func submit(_ input: EngineInput) async throws -> Decision {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Decision, DomainError>, Never>) in
            let reply: EngineReply = { continuation.resume(returning: $0) }
            switch input {
            case .command(let command, _): clock.schedule(.command(command, reply: reply), at: clock.now)
            case .request(let session, let request, _): clock.schedule(.request(session, request, reply: reply), at: clock.now)
            default: continuation.resume(returning: .failure(.invalidTransition("unsupported")))
            }
        }
        return try result.get()
    }

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

    func json(_ status: Int, _ value: JSONValue) -> HTTPResponse { HTTPResponse(status: status, body: JSONWriter.encode(value)) }

    func error(_ status: Int, _ code: String, _ message: String) -> HTTPResponse {
        json(status, ["error": ["code": .string(code), "message": .string(message)]])
    }
}

/// An error answered as-is, with its status and code.
struct APIError: Error {
    var status: Int
    var code: String
    var message: String
}


/// Matches a request against path patterns like `v1/queues/:id`.
struct Route {
    var method: String
    var parts: [Substring]

    init(method: String, path: String) {
        self.method = method
        parts = path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// The captured `:name` segments when method and path match.
    func matches(_ method: String, _ pattern: String) -> [String]? {
        guard method == self.method else { return nil }
        return capture(pattern)
    }

    func pathMatches(_ pattern: String) -> Bool { capture(pattern) != nil }

    private func capture(_ pattern: String) -> [String]? {
        let expected = pattern.split(separator: "/")
        guard expected.count == parts.count else { return nil }
        var captured: [String] = []
        for (want, have) in zip(expected, parts) {
            if want.hasPrefix(":") {
                captured.append(String(have))
            } else if want != have {
                return nil
            }
        }
        return captured
    }
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
