import DialerCore
import DialerEngine
import SwitchboardBasics
@testable import EventStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardRuntime
@testable import SwitchboardServer
import SwitchboardTestSupport
import Testing
import WebTransport
import DialerSimulation

@Suite("The composition root", .serialized)
struct ApplicationTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }()

    /// The `Authorization` header with the admin token the application made in `folder`.
    func admin(_ folder: TemporaryFolder) throws -> [String: String] {
        let token = try String(contentsOfFile: folder.file("admin-token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return ["authorization": "Bearer " + token]
    }

    func configuration(_ folder: TemporaryFolder) -> Configuration {
        var configuration = Configuration()
        configuration.storePath = folder.file("log.sqlite")
        configuration.adminTokenFile = folder.file("admin-token")
        configuration.port = 0
        configuration.demo = true
        return configuration
    }

    /// The demo's numbers ring in New York, Austin, Houston and San Francisco: at any hour of a winter
    /// or a summer day its clock is shifted to where all of them are well inside their calling hours.
    @Test func theDemoShiftsItsClockToWhereItsContactsAreInsideTheirCallingHours() throws {
        let zones = ["America/New_York", "America/Chicago", "America/Los_Angeles"]
        for day in ["2026-12-03T00:00:00Z", "2026-07-01T00:00:00Z", "2026-03-08T00:00:00Z"] {
            let midnight = try #require(Timestamp(rfc3339: day))
            for quarter in 0..<96 {
                let now = midnight.adding(milliseconds: Int64(quarter) * 900_000)
                let hours = Demo.clockOffsetHours(at: now)
                let shifted = now.adding(milliseconds: Int64(hours) * 3_600_000)
                #expect(CallingHours.allows(zones, CallingWindow(start: 8 * 60, end: 19 * 60), at: shifted), "\(now) + \(hours) h")
                #expect((-12...12).contains(hours))
                if CallingHours.allows(zones, CallingWindow(start: 8 * 60, end: 19 * 60), at: now) { #expect(hours == 0) }
            }
        }
    }

    @Test func aClockShiftIsWholeHoursWithinADay() {
        var configuration = Configuration()
        configuration.clockOffsetHours = 24
        #expect(configuration.problem?.contains("--clock-offset-hours") == true)
        configuration.clockOffsetHours = -23
        #expect(configuration.problem == nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func aShiftedClockIsReportedByHealthAndStampsTheLog() async throws {
        let folder = try TemporaryFolder()
        var shifted = configuration(folder)
        shifted.demo = false
        shifted.clockOffsetHours = 7
        let app = try await SwitchboardApplication.build(shifted, logger: Self.logger)
        let running = Task { try await app.run() }
        let health = await app.api.handle(HTTPRequest(method: "GET", path: "/healthz"))
        #expect(try JSONParser.parse(health.body)["clockShiftHours"]?.intValue == 7)
        #expect(app.notes.contains { $0.contains("clock shifted +7 h") })
        // The bootstrap's admin token was issued on the shifted clock too.
        let first = try #require(try await app.store.readAll(after: 0, limit: 1).first)
        #expect(first.time.milliseconds(since: Timestamp(millisecondsSinceEpoch: SystemClock.wallMilliseconds())) > 6 * 3_600_000)
        await app.shutdown()
        try await running.value
    }

    /// Issue 20, D12: reads of the whole log (a past `?at=`, verify, the CSV export, the compliance
    /// report) run one at a time per token and a few on the node; another is 429 at once, never queued.
    @Test func aWholeLogReadRunsOnceAtATimePerTokenAndAFewOnTheNode() {
        let reads = ExpensiveReads(nodeLimit: 2)
        #expect(reads.admit("a") == nil)
        #expect(reads.admit("a") == .yoursIsRunning)
        #expect(reads.admit("b") == nil)
        #expect(reads.admit("c") == .nodeBusy)
        reads.finish("a")
        #expect(reads.admit("c") == nil)
        reads.finish("x")  // never admitted: changes nothing
        #expect(reads.admit("d") == .nodeBusy)
    }

    @Test(.timeLimit(.minutes(1)))
    func aTokensSecondWholeLogReadIsRefusedWhileItsFirstRunsAndOrdinaryReadsGoOn() async throws {
        let folder = try TemporaryFolder()
        var plain = configuration(folder)
        plain.demo = false
        let app = try await SwitchboardApplication.build(plain, logger: Self.logger)
        let running = Task { try await app.run() }
        let headers = try admin(folder)
        let token = try #require(await app.api.authenticator.principal(for: headers)).tokenId
        func get(_ path: String, _ query: [String: String] = [:]) async -> HTTPResponse {
            await app.api.handle(HTTPRequest(method: "GET", path: path, query: query, headers: headers))
        }
        #expect(app.api.expensiveReads.admit(token) == nil)  // its first, still running
        for (path, query) in [("/v1/overview", ["at": "1"]), ("/v1/queues/q", ["at": "1"]), ("/v1/audit/verify", [:]),
                              ("/v1/audit/export", ["format": "csv"])] {
            let refused = await get(path, query)
            #expect(refused.status == 429, "\(path)")
            #expect(try JSONParser.parse(refused.body)["error"]?["code"] == "read-in-progress")
            #expect(refused.headers.contains { $0.0 == "Retry-After" && $0.1 == "1" })
        }
        #expect(await get("/v1/overview").status == 200, "reading the projections is not a whole-log read")
        #expect(await get("/v1/audit/export").status == 200, "the NDJSON export streams a page at a time")
        #expect(await get("/v1/reports/compliance").status == 200, "the compliance report reads the live counts")
        app.api.expensiveReads.finish(token)
        #expect(await get("/v1/overview", ["at": "1"]).status == 200)
        #expect(await get("/v1/overview", ["at": "1"]).status == 200, "the place is given back when the read ends")
        await app.shutdown()
        try await running.value
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
        // Every write fails but the bootstrap's admin token (so the request below is let in).
        let broken = FaultyStore(real) { writes in writes.allSatisfy { $0.stream == "organisation" } ? .pass : .fail }
        let app = try await SwitchboardApplication.build(configuration(folder), logger: Self.logger, store: broken)
        let running = Task { try await app.run() }
        // The demo's first command cannot be written: the engine stops.
        for _ in 0..<100 where app.health.isHealthy { try await Task.sleep(for: .milliseconds(20)) }
        let health = await app.api.handle(HTTPRequest(method: "GET", path: "/healthz"))
        #expect(health.status == 503)
        #expect(try JSONParser.parse(health.body)["problems"]?["engine"]?.stringValue?.contains("injected failure") == true)
        let create = await app.api.handle(HTTPRequest(method: "POST", path: "/v1/queues", headers: try admin(folder),
                                                      body: Array(#"{"name":"Later"}"#.utf8)))
        #expect(create.status == 503)
        #expect(try JSONParser.parse(create.body)["error"]?["code"] == "engine-stopped")
        await app.shutdown()
        try await running.value
    }

    /// Issue 20, D6: the request whose write fails is answered then (before, it waited for the next
    /// input — for ever on a quiet server), health says why until a write succeeds again, and the
    /// engine comes back by itself once the disk has room. SQLite's own SQLITE_FULL, on a real file.
    @Test(.timeLimit(.minutes(1)))
    func aFullDiskAnswersTheFailingWriteAtOnceAndTheEngineComesBackWhenItClears() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteEventStore(path: folder.file("log.sqlite"))
        defer { store.close() }
        var configuration = configuration(folder)
        configuration.demo = false
        let app = try await SwitchboardApplication.build(configuration, logger: Self.logger, store: store)
        let running = Task { try await app.run() }
        let headers = try admin(folder)
        func listing(_ phones: [String]) async -> HTTPResponse {
            let body = "{\"phones\":[" + phones.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
            return await app.api.handle(HTTPRequest(method: "POST", path: "/v1/dnc", headers: headers, body: Array(body.utf8)))
        }
        #expect(await listing(["+15125557000"]).status == 200)
        let full = (0..<3000).map { "+1646\(2_000_000 + $0)" }

        try store.limitPages(1)  // no page beyond what the file has (SQLite keeps at least its size): growth fails
        let refused = await listing(full)
        #expect(refused.status == 503)
        #expect(try JSONParser.parse(refused.body)["error"]?["message"]?.stringValue?.contains("full") == true)
        let sick = await app.api.handle(HTTPRequest(method: "GET", path: "/healthz"))
        #expect(sick.status == 503)

        try store.limitPages(nil)  // room again: within the restart pause, a write goes through
        var answer = await listing(full)
        for _ in 0..<300 where answer.status != 200 {
            try await Task.sleep(for: .milliseconds(100))
            answer = await listing(full)
        }
        #expect(answer.status == 200)
        #expect(await app.api.handle(HTTPRequest(method: "GET", path: "/healthz")).status == 200)
        // Nothing of the failed write was kept or half-kept: the chain is whole and holds the list once.
        #expect(try await store.verify().isIntact)
        let check = await app.api.handle(HTTPRequest(method: "GET", path: "/v1/dnc", query: ["phone": "+16462000000"], headers: headers))
        #expect(try JSONParser.parse(check.body)["listed"] == .bool(true))
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
        let create = await app.api.handle(HTTPRequest(method: "POST", path: "/v1/queues", headers: try admin(folder),
                                                      body: Array(#"{"name":"Later"}"#.utf8)))
        #expect(create.status == 503)
        #expect(try JSONParser.parse(create.body)["error"]?["code"] == "projections-stopped")
        await app.shutdown()
        try await running.value
    }
}
