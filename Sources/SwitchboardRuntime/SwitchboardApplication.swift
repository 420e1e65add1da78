import DialerCore
import Foundation
import DialerEngine
import EventStore
import Logging
import ServiceLifecycle
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardServer
import WebTransport
import DialerSimulation
import Carriers
import SwitchboardBasics

/// The whole running application, built from one `Configuration`: the log, the projections, the
/// engine on the simulated carrier, and the HTTP + WebSocket server — the composition root that
/// `serve`, the tests and the benchmark share.
///
/// Its long-lived parts run as services of one `ServiceGroup`, started in order (log, projections,
/// engine, the feed's pump, web) and, on SIGINT/SIGTERM or `shutdown()`, stopped in reverse: WebSockets close with
/// 1001, the engine finishes its log writes, the projections stop following, the log closes.
public final class SwitchboardApplication: Sendable {
    public let configuration: Configuration
    /// The port the server listens on (the one picked when the configuration said 0).
    public let port: Int
    public let store: any EventStore
    public let clock: SystemClock
    public let health: Health
    public let api: APIServer
    private let group: ServiceGroup
    /// What the operator should know at start (where the tokens are; never a token).
    public let notes: [String]
    /// A real carrier's answer → bridge and answer → cancel as they leave (`nil` on the simulated one).
    public let carrierDecisions: DecisionTimes?

    /// Opens the log, folds the projections, binds the port and, for the demo on an empty log, queues
    /// the demo's commands. Nothing dials until `run`.
    public static func build(_ configuration: Configuration, logger: Logger,
                             store given: (any EventStore & CredentialStore)? = nil) async throws -> SwitchboardApplication {
        if let problem = configuration.problem { throw ConfigurationError(description: problem) }
        let store: any EventStore & CredentialStore
        let close: @Sendable () -> Void
        let writes: WorkMeter
        if let given {
            (store, close, writes) = (given, {}, WorkMeter())
        } else {
            let file = try SQLiteEventStore(path: configuration.storePath)
            (store, close, writes) = (file, { file.close() }, file.writerWork)
        }
        // One timeline from the log's last event on, shifted only where the configuration says (or the demo needs).
        let head = try await store.headPosition()
        let last = head > 0 ? try await store.readAll(after: head - 1, limit: 1).last?.time : nil
        let offsetHours = configuration.clockOffsetHours
            ?? (configuration.demo ? Demo.clockOffsetHours(at: SystemClock().now) : 0)
        let clock = SystemClock(sources: SystemClock.Sources.system.shifted(byHours: offsetHours), notBefore: last)
        let metrics = MetricsExposition(work: WorkMeters(writes: writes))
        let carrier: any CarrierAdapter
        let webhooks: (any CarrierWebhooks)?
        var decisions: DecisionTimes?
        let scriptCheck: @Sendable (JSONObject) -> String?
        switch configuration.carrier {
        case .simulated(let seed, let latencyMs):
            carrier = SimulatedCarrier(clock: clock, seed: seed, distributions: Demo.distributions, requestLatencyMs: latencyMs)
            (webhooks, scriptCheck) = (nil, SimulatedScript.problem(with:))
        case .twilio(let account):
            let twilio = TwilioCarrier(account: account, publicURL: configuration.publicURL ?? "", clock: clock,
                                       timing: configuration.carrierTiming, measurements: metrics.measurements,
                                       logger: Logger(label: "switchboard.carrier.twilio"))
            (carrier, webhooks, scriptCheck) = (twilio, twilio, APIServer.noScripts)
            decisions = twilio.decisions
        case .telnyx(let account):
            let telnyx = try TelnyxCarrier(account: account, publicURL: configuration.publicURL ?? "", clock: clock,
                                           timing: configuration.carrierTiming, measurements: metrics.measurements,
                                           logger: Logger(label: "switchboard.carrier.telnyx"))
            (carrier, webhooks, scriptCheck) = (telnyx, telnyx, APIServer.noScripts)
            decisions = telnyx.decisions
        }
        var notes: [String] = []
        if offsetHours != 0 {
            notes.append("clock shifted \(offsetHours > 0 ? "+" : "")\(offsetHours) h from the system's (the simulated carrier only), so the US is inside its calling hours")
        }
        var access = AccessBootstrap(store: store, clock: clock)
        if let path = configuration.adminTokenFile { notes.append(try await access.ensureAdminToken(at: path).description) }
        // Fresh: nothing in the log yet but the bootstrap's own access events.
        let bootstrapped = try await store.headPosition()
        let first = try await store.readAll(after: 0, limit: 16)
        let fresh = bootstrapped <= 16 && first.allSatisfy { $0.stream == EventSubject.Stream.organisation.name }
        if configuration.demo, fresh {
            notes.append(try await access.seedDemo(callerIds: configuration.callerIds, tokensFile: configuration.demoTokensFile).description)
        } else if configuration.demo, FileManager.default.fileExists(atPath: configuration.demoTokensFile) {
            notes.append(AccessBootstrap.Note.demoTokens(path: configuration.demoTokensFile).description)
        }
        let health = Health()
        let projections = ProjectionHost(store: store, work: metrics.measurements.work.projections)
        try await projections.start()
        let gateway = EngineGateway(clock: clock)
        let api = APIServer(engine: gateway, projections: projections, store: store, health: health,
                            callerIds: configuration.callerIds, allowedOrigins: configuration.allowedOrigins,
                            authFailureLimit: configuration.authFailureLimit,
                            slowConsumerSeconds: configuration.slowConsumerSeconds, measurements: metrics.measurements,
                            metricsText: { metrics.render() }, contactScriptProblem: scriptCheck, carrierWebhooks: webhooks,
                            logger: logger)
        await api.followProjections()
        var limits = WebServer.Limits()
        limits.pingSeconds = configuration.pingSeconds
        limits.hangUpSeconds = configuration.hangUpSeconds
        limits.maxWebSockets = configuration.maxFeedSockets
        let tls = configuration.tls.map { WebServer.TLS(certificatePath: $0.certificate, privateKeyPath: $0.privateKey) }
        let server = WebServer(port: configuration.port, host: configuration.host, application: api, limits: limits, tls: tls,
                               work: metrics.measurements.work.transport)
        metrics.attach(server.statistics)
        let port = try server.start()
        // The organisation's safe-harbor message: the server's setting, recorded when it changes.
        if let message = configuration.safeHarborMessage ?? (configuration.demo && fresh ? Demo.safeHarborMessage : nil) {
            clock.schedule(.command(.setOrganisationSafeHarbor(message: message.isEmpty ? nil : message), reply: nil), at: clock.now)
        }
        if configuration.demo, fresh {
            for command in Demo.commands(callerIds: configuration.callerIds) {
                clock.schedule(.command(command, reply: nil), at: clock.now)
            }
        }
        let services: [any Service] = [
            LogService(close: close),
            ProjectionService(projections: projections, logger: logger),
            EngineService(store: store, clock: clock, carrier: carrier, gateway: gateway, health: health,
                          measurements: metrics.measurements, logger: logger),
            api.feedPump,
            WebService(server: server),
        ]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        return SwitchboardApplication(configuration: configuration, port: port, store: store, clock: clock, health: health,
                           api: api, group: group, notes: notes, carrierDecisions: decisions)
    }

    private init(configuration: Configuration, port: Int, store: any EventStore, clock: SystemClock, health: Health,
                 api: APIServer, group: ServiceGroup, notes: [String], carrierDecisions: DecisionTimes?) {
        self.notes = notes
        self.carrierDecisions = carrierDecisions
        self.configuration = configuration
        self.port = port
        self.store = store
        self.clock = clock
        self.health = health
        self.api = api
        self.group = group
    }

    /// Runs until SIGINT/SIGTERM or `shutdown()`, then stops every part in reverse order.
    public func run() async throws { try await group.run() }

    /// Stops the application as SIGTERM would.
    public func shutdown() async { await group.triggerGracefulShutdown() }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
}

/// The log: open while the application runs, closed last.
struct LogService: Service {
    let close: @Sendable () -> Void

    func run() async throws {
        try? await gracefulShutdown()
        close()
    }
}

/// The projections follow the log. If they cannot, waiting requests fail at once, `/healthz` says
/// why, and the rest keeps running until shut down.
struct ProjectionService: Service {
    let projections: ProjectionHost
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await projections.follow() }
        if let failure = await projections.failure {
            logger.critical("projections stopped following the log", metadata: ["reason": "\(failure.reason)"])
            try? await gracefulShutdown()
        }
    }
}

/// The engine on the real clock. If it stops (its log cannot be written: disk full, an I/O error),
/// every waiting and later request is answered 503 at once, `/healthz` says why, and the process
/// logs it; then, after a pause that grows while the fault lasts, a new engine folds the log as it is
/// (nothing of the failed write is in it) and takes over — the service recovers by itself once the
/// fault clears, as PostgreSQL carries on after a full disk.
struct EngineService: Service {
    let store: any EventStore
    let clock: SystemClock
    let carrier: any CarrierAdapter
    let gateway: EngineGateway
    let health: Health
    let measurements: Measurements
    let logger: Logger
    /// The pause before the first restart, doubled after each failure up to `maxPause`.
    var firstPause: Duration = .milliseconds(500)
    var maxPause: Duration = .seconds(30)

    func run() async throws {
        let thread = EngineThread()
        defer { thread.stop() }
        try await withTaskExecutorPreference(thread) { try await runEngines() }
    }

    /// Runs an engine, and another after each failure, on the engine's own thread.
    private func runEngines() async throws {
        var pause = firstPause
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let engine = DialerEngine(store: store, clock: clock, carrier: carrier, measurements: measurements)
                engine.onRefusal = { [logger] refusal in
                    logger.warning("engine gave up a command", metadata: ["reason": "\(refusal)"])
                }
                if health.problems["engine"] != nil {
                    // Requests are let in again (one that still fails is answered 503 at once); health
                    // turns green only once a write has succeeded, so a lasting fault never looks healed.
                    engine.onDurable = { [health, logger] _ in
                        guard health.problems["engine"] != nil else { return }
                        health.recover("engine")
                        logger.notice("engine writing again")
                    }
                    gateway.engineRunning()
                }
                try await engine.start()
                try await withGracefulShutdownHandler {
                    try await engine.run()
                } onGracefulShutdown: {
                    clock.stop()
                }
                return
            } catch {
                let reason = "\(error)"
                logger.critical("engine stopped", metadata: ["reason": "\(reason)", "retryInMs": "\(pause.wholeMilliseconds)"])
                health.fail("engine", reason: reason)
                gateway.engineStopped(reason: reason)
                let wait = pause
                let paused: Void? = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                guard paused != nil, !Task.isShuttingDownGracefully else { return }
                pause = min(pause * 2, maxPause)
            }
        }
    }
}


/// HTTP and WebSocket: stopped first, so no request arrives at a part that is going away (the feed's
/// pump, started before it, stops after it).
struct WebService: Service {
    let server: WebServer

    func run() async throws {
        try? await gracefulShutdown()
        server.shutdown()
    }
}
