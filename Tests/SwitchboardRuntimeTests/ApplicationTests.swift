import DialerCore
import EventStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SwitchboardApp
import SwitchboardJSON
import SwitchboardRuntime
@testable import SwitchboardServer
import SwitchboardTestSupport
import Testing
import WebTransport

@Suite("Every route declared once")
struct RouteTableTests {
    /// `METHOD /path/{param}` for every operation `openapi.yaml` documents.
    static func documentedOperations() -> Set<String> {
        var operations: Set<String> = []
        var path: String?
        for line in String(decoding: OpenAPIDocument.yaml, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("  "), !line.hasPrefix("   "), !line.hasPrefix("  /") {
                path = nil
            } else if let current = path, line.hasPrefix("    "), !line.hasPrefix("     "),
                ["get:", "post:", "patch:", "put:", "delete:"].contains(line.trimmingCharacters(in: .whitespaces))
            {
                operations.insert(line.trimmingCharacters(in: .whitespaces).dropLast().uppercased() + " " + current)
            } else if !line.hasPrefix(" ") {
                path = nil
            }
        }
        return operations
    }

    @Test func theRouteTableAndOpenAPIDescribeTheSameOperations() {
        let routed = Set(APIServer.routes.routes.map { "\($0.method) /\($0.pattern)" })
        let documented = Self.documentedOperations()
        #expect(!documented.isEmpty)
        #expect(routed.subtracting(documented).isEmpty, "routed but not documented")
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed")
    }

    @Test func aKnownPathWithAnotherMethodIsAnsweredWithItsAllowedMethods() {
        guard case .methodNotAllowed(let allowed) = APIServer.routes.lookup(method: "DELETE", path: "/v1/sessions/s1") else {
            Issue.record("expected 405")
            return
        }
        #expect(Set(allowed) == ["GET", "PATCH"])
        guard case .found(let route, let parameters) = APIServer.routes.lookup(method: "POST", path: "/v1/calls/parallel/g-1/terminate")
        else {
            Issue.record("expected a route")
            return
        }
        #expect(route.pattern == "v1/calls/parallel/{groupId}/terminate")
        #expect(parameters == ["groupId": "g-1"])
        // A literal segment wins over a template: the timeline is GET only, not a session action.
        guard case .methodNotAllowed(let timeline) = APIServer.routes.lookup(method: "POST", path: "/v1/sessions/s1/timeline")
        else {
            Issue.record("expected 405")
            return
        }
        #expect(timeline == ["GET"])
        // A literal segment wins over a template: the timeline is GET only, not a session action.
        guard case .methodNotAllowed(let timeline) = APIServer.routes.lookup(method: "POST", path: "/v1/sessions/s1/timeline")
        else {
            Issue.record("expected 405")
            return
        }
        #expect(timeline == ["GET"])
        guard case .notFound = APIServer.routes.lookup(method: "GET", path: "/v1/nothing") else {
            Issue.record("expected 404")
            return
        }
    }

    @Test func errorBodiesAreEscapedJSON() throws {
        let response = HTTPResponse.error(400, code: "bad", message: #"a "quoted" \ path"#)
        let parsed = try JSONParser.parse(response.body)
        #expect(parsed["error"]?["message"]?.stringValue == #"a "quoted" \ path"#)
        #expect(parsed["error"]?["code"] == "bad")
    }
}

@Suite("The composition root", .serialized)
struct ApplicationTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }()

    func configuration(_ folder: TemporaryFolder) -> Configuration {
        var configuration = Configuration()
        configuration.storePath = folder.file("log.sqlite")
        configuration.port = 0
        configuration.demo = true
        return configuration
    }

    @Test(.timeLimit(.minutes(1)))
    func theDemoRunsOnARealPortAndStopsInReverseOrder() async throws {
        let folder = try TemporaryFolder()
        let app = try await SwitchboardApplication.build(configuration(folder), logger: Self.logger)
        let running = Task { try await app.run() }
        // The demo dials: events reach the log through the engine, and /healthz reports them.
        var position: Int64 = 0
        for _ in 0..<100 where position < 20 {
            try await Task.sleep(for: .milliseconds(50))
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(app.port)/healthz")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            position = try JSONParser.parse(Array(data))["position"]?.intValue ?? 0
        }
        #expect(position >= 20)
        await app.shutdown()
        try await running.value
        // The log was closed last, after the engine's writes finished.
        await #expect(throws: EventStoreError.closed) { try await app.store.readAll(after: 0, limit: 1) }
        let reopened = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { reopened.close() }
        #expect(try await reopened.verify().isIntact)
        #expect(try await reopened.headPosition() >= position)
    }

    @Test(.timeLimit(.minutes(1)))
    func whenTheLogCannotBeWrittenRequestsAreRefusedAtOnceAndHealthSaysWhy() async throws {
        let folder = try TemporaryFolder()
        let real = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { real.close() }
        let broken = FaultyStore(real) { _ in .fail }
        let app = try await SwitchboardApplication.build(configuration(folder), logger: Self.logger, store: broken)
        let running = Task { try await app.run() }
        // The demo's first command cannot be written: the engine stops.
        for _ in 0..<100 where app.health.isHealthy { try await Task.sleep(for: .milliseconds(20)) }
        let health = await app.api.handle(HTTPRequest(method: "GET", path: "/healthz"))
        #expect(health.status == 503)
        #expect(try JSONParser.parse(health.body)["problems"]?["engine"]?.stringValue?.contains("injected failure") == true)
        let create = await app.api.handle(HTTPRequest(method: "POST", path: "/v1/queues",
                                                      body: Array(#"{"name":"Later"}"#.utf8)))
        #expect(create.status == 503)
        #expect(try JSONParser.parse(create.body)["error"]?["code"] == "engine-stopped")
        await app.shutdown()
        try await running.value
    }

    @Test(.timeLimit(.minutes(1)))
    func whenTheProjectionsCannotFollowTheLogWaitingRequestsFailAtOnceAndHealthSaysWhy() async throws {
        let folder = try TemporaryFolder()
        let real = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { real.close() }
        let unreadable = FaultyStore(real, failsSubscriptions: true)
        var configuration = configuration(folder)
        configuration.demo = false
        let app = try await SwitchboardApplication.build(configuration, logger: Self.logger, store: unreadable)
        let running = Task { try await app.run() }
        var health = await app.api.handle(HTTPRequest(method: "GET", path: "/healthz"))
        for _ in 0..<100 where health.status == 200 {
            try await Task.sleep(for: .milliseconds(20))
            health = await app.api.handle(HTTPRequest(method: "GET", path: "/healthz"))
        }
        #expect(health.status == 503)
        #expect(try JSONParser.parse(health.body)["problems"]?["projections"]?.stringValue?.contains("injected read failure") == true)
        // The write is decided and logged, but its answer needs the projections: refused at once.
        let create = await app.api.handle(HTTPRequest(method: "POST", path: "/v1/queues", body: Array(#"{"name":"Later"}"#.utf8)))
        #expect(create.status == 503)
        #expect(try JSONParser.parse(create.body)["error"]?["code"] == "projections-stopped")
        await app.shutdown()
        try await running.value
    }
}
