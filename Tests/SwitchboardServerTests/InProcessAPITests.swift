import DialerCore
import DialerEngine
import ReadModels
import WritePath
import EventStore
import SwitchboardBasics
import SwitchboardJSON
@testable import SwitchboardServer
import SwitchboardTestSupport
import Testing
import WebTransport

/// The API in process on the engine's virtual clock: requests go straight to `APIServer.handle`, no
/// socket, and time is exact (the HummingbirdTesting idea; the Python suite drives the same routes
/// through a real port).
@Suite("The API in process, on virtual time")
struct InProcessAPITests {
    static let start = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    /// A log with one token that expires an hour after `start`, the projections over it, and the API
    /// on a virtual clock at `start` (no engine: these requests only read).
    static func api() async throws -> (api: APIServer, clock: VirtualClock, token: String, temp: TemporaryStore) {
        let temp = try TemporaryStore()
        let writer = try await CommandHandler(store: temp.store)
        let issued = try await TokenIssuing.issue(role: .auditor, agentId: nil, label: "in process",
                                                  expiresAt: start.adding(milliseconds: 3_600_000), credentials: temp.store) { command in
            _ = try await writer.handle(command, at: start)
        }
        let projections = ProjectionHost(store: temp.store)
        try await projections.start()
        let clock = VirtualClock(startAt: start)
        let api = APIServer(engine: EngineGateway(clock: clock), projections: projections, store: temp.store, health: Health(),
                            callerIds: [], logger: .init(label: "test"))
        return (api, clock, issued.token, temp)
    }

    static func get(_ path: String, _ token: String, from api: APIServer) async -> HTTPResponse {
        await api.handle(HTTPRequest(method: "GET", path: path, headers: ["authorization": "Bearer " + token]))
    }

    @Test func aTokenOpensTheAPIUntilTheInstantItExpiresOnTheEnginesClock() async throws {
        let (api, clock, token, temp) = try await Self.api()
        _ = temp
        let me = await Self.get("/v1/me", token, from: api)
        #expect(me.status == 200)
        #expect(try JSONParser.parse(me.body)["role"] == "auditor")
        // One millisecond before the expiry the token still opens the API; at the expiry it does not.
        clock.schedule(.deferred { nil }, at: Self.start.adding(milliseconds: 3_600_000 - 1))
        _ = await clock.next()
        #expect(await Self.get("/v1/me", token, from: api).status == 200)
        clock.schedule(.deferred { nil }, at: Self.start.adding(milliseconds: 3_600_000))
        _ = await clock.next()
        let expired = await Self.get("/v1/me", token, from: api)
        #expect(expired.status == 401)
        #expect(expired.headers.contains { $0.name == "WWW-Authenticate" })
    }

    @Test func healthSaysTheEnginesTimeAndAReaderCannotWrite() async throws {
        let (api, _, token, temp) = try await Self.api()
        _ = temp
        let health = await api.handle(HTTPRequest(method: "GET", path: "/healthz"))
        #expect(health.status == 200)
        #expect(try JSONParser.parse(health.body)["time"]?.stringValue == Self.start.rfc3339)
        let write = await api.handle(HTTPRequest(method: "POST", path: "/v1/queues", headers: ["authorization": "Bearer " + token],
                                                 body: Array(#"{"name":"x"}"#.utf8)))
        #expect(write.status == 403)
        #expect(try JSONParser.parse(write.body)["error"]?["code"] == "forbidden")
    }
}

/// Issue 22: the organisation's commands do not wait for dialling. With the engine stopped, an admin
/// still issues and revokes tokens and lists a number do-not-call; anything that dials is refused 503.
@Suite("The organisation while the engine is stopped")
struct OrganisationWithoutEngineTests {
    @Test func tokensAndTheDoNotCallListAreWrittenWhileTheEngineIsStopped() async throws {
        let temp = try TemporaryStore()
        let bootstrap = try await CommandHandler(store: temp.store)
        let now = InProcessAPITests.start
        let admin = try await TokenIssuing.issue(role: .admin, agentId: nil, label: "admin", expiresAt: nil, credentials: temp.store) { command in
            _ = try await bootstrap.handle(command, at: now)
        }
        let projections = ProjectionHost(store: temp.store)
        try await projections.start()
        let following = Task { await projections.follow() }
        defer { following.cancel() }
        let gateway = EngineGateway(clock: VirtualClock(startAt: now))
        gateway.engineStopped(reason: "injected for the test")
        let api = APIServer(engine: gateway, projections: projections, store: temp.store, health: Health(), callerIds: [],
                            logger: .init(label: "test"))
        func call(_ method: String, _ path: String, _ body: String = "", token: String = admin.token) async -> HTTPResponse {
            await api.handle(HTTPRequest(method: method, path: path, headers: ["authorization": "Bearer " + token], body: Array(body.utf8)))
        }

        let issued = await call("POST", "/v1/tokens", #"{"role":"auditor","label":"while stopped"}"#)
        #expect(issued.status == 201)
        let auditor = try JSONParser.parse(issued.body)
        let token = try #require(auditor["token"]?.stringValue), tokenId = try #require(auditor["tokenId"]?.stringValue)
        #expect(await call("GET", "/v1/me", token: token).status == 200)
        #expect(await call("DELETE", "/v1/tokens/\(tokenId)").status == 200)
        #expect(await call("GET", "/v1/me", token: token).status == 401, "revoked while the engine is stopped")

        let listed = await call("POST", "/v1/dnc", #"{"phones":["+15125557301"]}"#)
        #expect(listed.status == 200)
        #expect(try JSONParser.parse(listed.body)["added"]?.intValue == 1)
        #expect(await call("POST", "/v1/caller-ids", #"{"phones":["+15125550100"]}"#).status == 200)

        let dialling = await call("POST", "/v1/queues", #"{"name":"Needs the engine"}"#)
        #expect(dialling.status == 503)
        #expect(try JSONParser.parse(dialling.body)["error"]?["code"] == "engine-stopped")
    }
}


/// The same requests over both transports get the same answers: what the route table, the middleware
/// and the handlers decide does not depend on the socket (and the socket adds nothing they did not say).
@Suite("One API over both transports")
struct BothTransportsTests {
    @Test(arguments: TestClient.Transport.allCases)
    func theAnswersAreTheSameInProcessAndOverARealPort(_ transport: TestClient.Transport) async throws {
        let (api, _, token, temp) = try await InProcessAPITests.api()
        _ = temp
        let client = try TestClient(transport, api: api)
        defer { client.close() }
        let missing = try await client.call("GET", "/v1/nothing")
        #expect(missing.status == 404)
        #expect(try JSONParser.parse(missing.body)["error"]?["code"] == "not-found")
        let wrongMethod = try await client.call("DELETE", "/v1/sessions/s-1", token: token)
        #expect(wrongMethod.status == 405)
        #expect(Set((wrongMethod.headers["allow"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) == ["GET", "PATCH"])
        let anonymous = try await client.call("GET", "/v1/queues")
        #expect(anonymous.status == 401 && anonymous.headers["www-authenticate"] == #"Bearer realm="switchboard""#)
        let me = try await client.call("GET", "/v1/me", token: token)
        #expect(me.status == 200)
        #expect(try JSONParser.parse(me.body)["role"] == "auditor")
        let forbidden = try await client.call("POST", "/v1/queues", token: token, body: #"{"name":"x"}"#)
        #expect(forbidden.status == 403)
        let health = try await client.call("GET", "/healthz")
        #expect(try JSONParser.parse(health.body)["time"]?.stringValue == InProcessAPITests.start.rfc3339)
    }
}
