import Carriers
import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import Logging
import ServiceLifecycle
import WebTransport

/// The HTTP API and the live feed, on top of a running engine.
///
/// Writes go to the engine (`EngineGateway`) and are answered once durable; reads come from the
/// projections, after they have caught up with the write. Every operation is one row of `routes`,
/// declared with its handler in the resource's file under `Handlers/`; authentication, the
/// failed-token limit, authorization, whole-log read admission and the request log are `Middleware/`.
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
    let measurements: Measurements
    /// Why a contact's `script` cannot be followed, if it cannot: the carrier's own check, handed over
    /// by the composition root (only the simulated carrier follows scripts; the API does not know them).
    let contactScriptProblem: @Sendable (JSONObject) -> String?
    /// A carrier that follows no script refuses every one.
    public static let noScripts: @Sendable (JSONObject) -> String? = { _ in "this server's carrier does not follow contact scripts" }
    /// `GET /metrics`' body (Prometheus' text format), when the composition root measures.
    let metricsText: (@Sendable () -> [UInt8])?
    /// The carrier that calls back (`/v1/carriers/{name}/…`); `nil` for the simulated one.
    let carrierWebhooks: (any CarrierWebhooks)?
    /// The headers the carrier's signature check reads.
    public var extraHeaders: [String] { carrierWebhooks?.signatureHeaders ?? [] }
    let callCounters: CallCounters
    /// Organisation commands while the engine is stopped.
    let organisation: OrganisationWriter
    /// What every routed request passes through, in order, before its handler.
    let middleware: MiddlewareChain
    /// 500 ms pollers ask for the same group again and again: encode each version of it once.
    let encodedSummaries = SummaryCache()

    public init(engine: EngineGateway, projections: ProjectionHost, store: any EventStore & CredentialStore, health: Health,
                callerIds: [PhoneNumber], allowedOrigins: [String] = [], authFailureLimit: Int = FailedAuthentications.defaultLimit,
                slowConsumerSeconds: Int = 15, measurements: Measurements = .none,
                metricsText: (@Sendable () -> [UInt8])? = nil,
                contactScriptProblem: @escaping @Sendable (JSONObject) -> String? = APIServer.noScripts,
                carrierWebhooks: (any CarrierWebhooks)? = nil, logger: Logger) {
        self.contactScriptProblem = contactScriptProblem
        self.carrierWebhooks = carrierWebhooks
        failedAuthentications = FailedAuthentications(limit: authFailureLimit, measurements: measurements)
        self.measurements = measurements
        self.metricsText = metricsText
        callCounters = CallCounters(measurements: measurements)
        organisation = OrganisationWriter(store: store)
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
        middleware = MiddlewareChain(middleware: [
            RequestLog(logger: logger, measurements: measurements), failedAuthentications, Authentication(authenticator: authenticator),
            Authorization(projections: projections), expensiveReads,
        ])
        feed = FeedHub(store: store, projections: projections, authenticator: authenticator,
                       hopelessAfter: .seconds(slowConsumerSeconds), measurements: measurements, logger: logger)
    }

    /// Starts following the projections — the call counters and the live feed — where they are.
    /// Call once, before the server accepts connections; then run `feedPump`.
    public func followProjections() async {
        await callCounters.start(following: projections)
        await feed.follow()
    }

    /// The live feed's pump and heartbeat, as a service of the application's group.
    public var feedPump: any Service { feed }

    // MARK: - Requests

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        await middleware.respond(to: Self.routes.route(request)) { routed in
            do {
                return try await routed.route.handler(self, routed)
            } catch {
                return Self.response(for: error)
            }
        }
    }

    /// The write round trip every write endpoint makes: the engine decides, the decision is durable,
    /// and the projections have folded it — so the read that answers the request sees the write. An
    /// organisation's command (tokens, caller IDs, do-not-call) is written without the engine while it
    /// is stopped.
    func write(_ command: Command) async throws {
        let position: Int64?
        do {
            position = try await engine.decide(command).position
        } catch is EngineUnavailable where command.isOrganisational {
            position = try await organisation.handle(command, at: engine.clock.now)
        }
        if let position { try await projections.waitUntil(position) }
    }

    /// The same round trip for a request an agent's session makes (pause, hang up, change settings…).
    func write(_ request: SessionRequest, session: SessionID) async throws {
        let decision = try await engine.request(request, session: session)
        try await projections.waitUntil(decision.position)
    }

    // MARK: - WebApplication

    /// A body is not read for a route that needs a token when the headers carry none, or a malformed
    /// one: refused from the headers (issue 20, D3), as the full check would refuse it afterwards.
    public func bodyRefusal(_ request: HTTPRequest) -> HTTPResponse? {
        guard case .found(let route, _) = Self.routes.lookup(method: request.method, path: request.path), !route.access.isOpen,
              !(Authenticator.token(in: request.headers).map(Authenticator.isWellFormed) ?? false) else { return nil }
        return Self.unauthorized
    }

    /// Only the feed's path; a browser only from this server's own origin or an allowed one (a page
    /// elsewhere must not ride on a user's token). Clients that send no `Origin` are not browsers.
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
}
