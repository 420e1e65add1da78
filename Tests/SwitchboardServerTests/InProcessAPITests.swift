import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
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
