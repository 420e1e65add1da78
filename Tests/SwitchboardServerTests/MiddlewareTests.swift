import DialerEngine
import MetricsTestKit
import ReadModels
import WritePath
@testable import SwitchboardServer
import Synchronization
import SwitchboardTestSupport
import Testing
import WebTransport

/// The middleware, each alone, without a socket or an engine: what it answers itself, what it passes
/// on, and what it measures.
@Suite("Middleware")
struct MiddlewareTests {
    static let wrongToken = String(repeating: "0", count: 64)

    func request(_ path: String, method: String = "GET", token: String? = nil, peer: String = "10.0.0.7") -> RouteRequest {
        var headers: [String: String] = [:]
        if let token { headers["authorization"] = "Bearer " + token }
        return APIServer.routes.route(HTTPRequest(method: method, path: path, headers: headers, peer: peer))
    }

    /// What a chain did, in order (shared by the marks and the handler).
    final class Trace: Sendable {
        private let names = Mutex<[String]>([])
        func add(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }
    }

    struct Mark: Middleware {
        let name: String
        let answers: Bool
        let trace: Trace
        func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
            trace.add(name)
            return answers ? .error(418, code: name, message: name) : await next(request)
        }
    }

    @Test func theChainRunsInOrderAndAMiddlewareThatAnswersStopsIt() async {
        let passing = Trace()
        let chain = MiddlewareChain(middleware: [Mark(name: "a", answers: false, trace: passing), Mark(name: "b", answers: false, trace: passing)])
        let answered = await chain.respond(to: request("/v1/queues")) { _ in
            passing.add("handler")
            return HTTPResponse(status: 204)
        }
        #expect(answered.status == 204 && passing.all == ["a", "b", "handler"])
        let stopped = Trace()
        let stopping = MiddlewareChain(middleware: [Mark(name: "a", answers: true, trace: stopped), Mark(name: "b", answers: false, trace: stopped)])
        let refused = await stopping.respond(to: request("/v1/queues")) { _ in
            stopped.add("handler")
            return HTTPResponse(status: 204)
        }
        #expect(refused.status == 418 && stopped.all == ["a"])
    }

    /// In process, through the whole chain: a path that does not exist, or not with this method, is
    /// answered by the route that stands in for it — before any token is asked for.
    @Test func aMissingRouteIsARouteThatAnswers404And405WithAllow() async throws {
        let temp = try TemporaryStore()
        let api = APIServer(engine: EngineGateway(clock: SystemClock()), projections: ProjectionHost(store: temp.store), store: temp.store,
                            health: Health(), callerIds: [], logger: .init(label: "test"))
        let unknown = await api.handle(HTTPRequest(method: "GET", path: "/v1/nothing"))
        #expect(unknown.status == 404)
        let wrongMethod = await api.handle(HTTPRequest(method: "DELETE", path: "/v1/sessions/s-1"))
        #expect(wrongMethod.status == 405)
        let allowed = wrongMethod.headers.first { $0.name == "Allow" }?.value ?? ""
        #expect(Set(allowed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) == ["GET", "PATCH"])
        #expect(await api.handle(HTTPRequest(method: "GET", path: "/v1/queues")).status == 401)
    }

    @Test func wrongTokensFromOneAddressAreCountedUntilItIsShutOutAndNoTokenIsNoGuess() async throws {
        let metrics = TestMetrics()
        let limit = FailedAuthentications(limit: 3, measurements: Measurements(factory: metrics))
        let refuse: (RouteRequest) async -> HTTPResponse = { _ in APIServer.unauthorized }
        // No token: 401, and nothing counted (it guesses nothing).
        for _ in 0..<5 { #expect(await limit.handle(request("/v1/queues"), next: refuse).status == 401) }
        // Three wrong tokens: 401 each, the third shuts the address out.
        for _ in 0..<3 { #expect(await limit.handle(request("/v1/queues", token: Self.wrongToken), next: refuse).status == 401) }
        let shut = await limit.handle(request("/v1/queues", token: Self.wrongToken), next: refuse)
        #expect(shut.status == 429 && shut.headers.contains { $0.name == "Retry-After" })
        // Another address is not shut out; a request that passes is never counted.
        #expect(await limit.handle(request("/v1/queues", token: Self.wrongToken, peer: "10.0.0.8"), next: refuse).status == 401)
        let passed = await limit.handle(request("/v1/queues", token: Self.wrongToken, peer: "10.0.0.9")) { _ in HTTPResponse(status: 200) }
        #expect(passed.status == 200)
        #expect(try metrics.expectCounter(Measurements.Name.failedAuthentications).totalValue == 4)
    }

    @Test func theRequestLogTimesEachRequestByItsRoutesPatternNeverItsIds() async throws {
        let metrics = TestMetrics()
        let log = RequestLog(logger: .init(label: "test"), measurements: Measurements(factory: metrics))
        _ = await log.handle(request("/v1/queues/q-secret-1")) { _ in HTTPResponse(status: 200) }
        _ = await log.handle(request("/v1/queues/q-secret-2")) { _ in HTTPResponse(status: 200) }
        _ = await log.handle(request("/v1/nothing")) { _ in HTTPResponse(status: 404) }
        let read = try metrics.expectTimer(Measurements.Name.httpRequestSeconds,
                                           [("method", "GET"), ("route", "/v1/queues/{queueId}"), ("status", "200")])
        #expect(read.values.count == 2)
        #expect(try metrics.expectTimer(Measurements.Name.httpRequestSeconds,
                                        [("method", "GET"), ("route", "/(unmatched)"), ("status", "404")]).values.count == 1)
        #expect(!metrics.timers.contains { $0.dimensions.contains { $0.1.contains("secret") } })
    }

    @Test func theInfoLogNamesNoPersonsNumber() {
        #expect(RequestLog.loggable("/v1/dnc/+12125551234") == "/v1/dnc/{phone}")
        #expect(RequestLog.loggable("/v1/caller-ids/%2B12125551234") == "/v1/caller-ids/{phone}")
        #expect(RequestLog.loggable("/v1/queues/q-1/agents/agent-7") == "/v1/queues/q-1/agents/agent-7")
    }
}
