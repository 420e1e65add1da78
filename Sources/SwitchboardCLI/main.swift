import ArgumentParser
import DialerEngine
import DialerCore
import EventStore
import Foundation
import SwitchboardApp
import SwitchboardJSON
import SwitchboardServer
import WebTransport

/// `switchboard`: the product's command line.
@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "An event-sourced parallel dialer.",
        subcommands: [Serve.self, Events.self, Verify.self, Demo.self, Simulate.self, EventTypes.self, HelloServer.self]
    )
}

struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "Path of the SQLite event log.")
    var store: String = "./switchboard.sqlite"

    /// Opens an existing log; a missing file is an error here, never a silently empty log.
    func openExisting() throws -> SQLiteEventStore {
        guard FileManager.default.fileExists(atPath: store) else {
            throw ValidationError("no event store at \(store)")
        }
        return try open()
    }

    func open() throws -> SQLiteEventStore {
        do {
            return try SQLiteEventStore(path: store)
        } catch let error as EventStoreError {
            throw ValidationError(error.description)
        }
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the event log.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case ndjson, table }

    @OptionGroup var options: StoreOption
    @Option(help: "Print events after this position.") var after: Int64 = 0
    @Option(help: "ndjson (one envelope per line) or table.") var format: Format = .ndjson

    func run() async throws {
        let store = try options.openExisting()
        defer { store.close() }
        var position = after
        let output = FileHandle.standardOutput
        if format == .table {
            let header = pad("POSITION", 9) + pad("TIME", 25) + pad("STREAM", 22) + pad("TYPE", 26) + "DATA\n"
            output.write(Data(header.utf8))
        }
        while true {
            let page = try await store.readAll(after: position, limit: 2048)
            if page.isEmpty { break }
            var chunk: [UInt8] = []
            for event in page {
                switch format {
                case .ndjson:
                    chunk.append(contentsOf: event.envelopeJSON)
                    chunk.append(0x0A)
                case .table:
                    let data = String(decoding: event.data, as: UTF8.self)
                    let line = pad(String(event.position), 9) + pad(event.time.rfc3339, 25) + pad(event.stream, 22)
                        + pad(event.type, 26) + (data.count > 90 ? String(data.prefix(87)) + "..." : data) + "\n"
                    chunk.append(contentsOf: line.utf8)
                }
            }
            output.write(Data(chunk))
            position = page[page.count - 1].position
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the log's hash chain; name the first position that does not match.")

    @OptionGroup var options: StoreOption

    func run() async throws {
        let store = try options.openExisting()
        defer { store.close() }
        let report = try await store.verify()
        if let bad = report.firstBadPosition {
            print("TAMPERED: first bad position \(bad): \(report.problem ?? "hash mismatch") (\(report.eventsChecked) events verified before it)")
            throw ExitCode(1)
        }
        print("OK: \(report.eventsChecked) events, chain intact, head hash \(report.headHash)")
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record the scripted demo day into an empty store and print its log.")

    @OptionGroup var options: StoreOption
    @Option(help: "ndjson or table.") var format: Events.Format = .table

    func run() async throws {
        let store = try options.open()
        let head = try await store.headPosition()
        if head == 0 {
            let handler = try await CommandHandler(store: store, ids: SeededEventIDs(seed: 1))
            try await DemoScenario.run(handler)
        }
        store.close()
        let events = try Events.parse(["--store", options.store, "--format", format.rawValue])
        try await events.run()
        if head != 0 {
            FileHandle.standardError.write(Data("(the store already had \(head) events; nothing recorded)\n".utf8))
        }
    }
}

struct EventTypes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event-types", abstract: "List every event type and its current version (one per line).")

    func run() {
        for type in EventType.allCases { print("\(type.rawValue) \(type.version)") }
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one scenario end to end on virtual time; print the log as NDJSON and a summary line.")

    @Option(help: "The scenario (JSON).") var scenario: String
    @Option(help: "Seed for the simulated carrier and all ids.") var seed: UInt64 = 1
    @Option(help: "Keep the log in this (empty or new) SQLite file instead of a temporary one.") var store: String?

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: scenario) else {
            throw ValidationError("cannot read scenario \(scenario)")
        }
        let parsed: SimulationScenario
        do {
            parsed = try SimulationScenario(json: try JSONParser.parse(Array(data)))
        } catch {
            throw ValidationError("invalid scenario \(scenario): \(error)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-sim-\(getpid())")
        let path = store ?? directory.appendingPathComponent("log.sqlite").path
        if store == nil { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        defer { if store == nil { try? FileManager.default.removeItem(at: directory) } }
        let log: SQLiteEventStore
        do {
            log = try SQLiteEventStore(path: path)
        } catch let error as EventStoreError {
            throw ValidationError(error.description)
        }
        defer { log.close() }
        guard try await log.headPosition() == 0 else { throw ValidationError("the store \(path) is not empty") }
        let outcome = try await Simulation.run(parsed, seed: seed, store: log)
        var output: [UInt8] = []
        for event in outcome.events {
            output += event.envelopeJSON
            output.append(0x0A)
        }
        output += JSONWriter.encode(["summary": outcome.summary])
        output.append(0x0A)
        FileHandle.standardOutput.write(Data(output))
        for refusal in outcome.refusals {
            FileHandle.standardError.write(Data("refused: \(refusal)\n".utf8))
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the dialer: engine, projections, and the HTTP + WebSocket server on one port.")

    @Option(help: "Port for HTTP and WebSocket (0 picks a free one).") var port: Int = 8080
    @Option(help: "The SQLite event log.") var store: String = "./switchboard.sqlite"
    @Flag(help: "On an empty store, create demo queues and start an agent on each.") var demo = false
    @Option(help: "Seed of the simulated carrier.") var seed: UInt64 = 2026
    @Option(help: "Ping a WebSocket after this many idle seconds.") var pingSeconds: UInt16 = 20
    @Option(help: "Drop a WebSocket that has not answered for this many seconds.") var hangUpSeconds: UInt16 = 60

    func run() async throws {
        let log: SQLiteEventStore
        do {
            log = try SQLiteEventStore(path: store)
        } catch let error as EventStoreError {
            throw ValidationError(error.description)
        }
        defer { log.close() }
        let clock = SystemClock()
        let carrier = SimulatedCarrier(clock: clock, seed: seed, distributions: DemoSetup.distributions)
        let engine = DialerEngine(store: log, clock: clock, carrier: carrier)
        try await engine.start()
        let projections = ProjectionHost(store: log)
        try await projections.start()
        let api = APIServer(clock: clock, projections: projections, store: log, callerIds: DemoSetup.callerIds)
        try await api.startFeed()
        guard pingSeconds >= 1, hangUpSeconds > pingSeconds else {
            throw ValidationError("--hang-up-seconds must be above --ping-seconds, which must be at least 1")
        }
        var limits = WebServer.Limits()
        limits.pingSeconds = pingSeconds
        limits.hangUpSeconds = hangUpSeconds
        let server = WebServer(port: port, application: api, limits: limits)
        let boundPort = try server.start()
        if demo, try await log.headPosition() == 0 {
            for command in DemoSetup.commands() { clock.schedule(.command(command, reply: nil), at: clock.now) }
        }
        let banner = """
            Switchboard listening on http://127.0.0.1:\(boundPort)  (store: \(store))
              curl http://127.0.0.1:\(boundPort)/v1/overview
              python3 -m websockets 'ws://127.0.0.1:\(boundPort)/v1/stream?after=0&topics=all'

            """
        FileHandle.standardOutput.write(Data(banner.utf8))
        let signals = [SIGINT, SIGTERM].map { signalNumber -> any DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("switchboard: stopping (signal \(signalNumber))\n".utf8))
                clock.stop()
            }
            source.resume()
            return source
        }
        // Until a signal stops the clock. Then: close the WebSockets (1001), finish the log writes, exit.
        var failure: (any Error)?
        do {
            try await engine.run()
        } catch {
            failure = error
        }
        server.shutdown()
        api.stopFeed()
        await projections.stop()
        signals.forEach { $0.cancel() }
        log.close()
        FileHandle.standardError.write(Data("switchboard: stopped\n".utf8))
        if let failure { throw failure }
    }
}

/// The demo: three queues whose contacts follow the simulated carrier, an agent on each.
enum DemoSetup {
    static let callerIds = ["+15125550100", "+17135550100", "+12125550100", "+18005550100"].compactMap(PhoneNumber.init)
    static let distributions: [QueueID: CallDistribution] = [
        "demo-leads": .typical, "demo-vip": .typical, "demo-cold": .poor,
    ]

    static func commands() -> [Command] {
        func contacts(_ prefix: String, _ count: Int) -> [NewContact] {
            (0..<count).map { index in
                NewContact(contactId: ContactID("\(prefix)-\(index)"), name: "Contact \(index)",
                           phone: PhoneNumber("+1\([512, 713, 212, 415][index % 4])555\(1000 + index)") ?? callerIds[0])
            }
        }
        return [
            .createQueue(queueId: "demo-leads", name: "Leads", segment: nil, maxAttempts: 3, contacts: contacts("lead", 300)),
            .createQueue(queueId: "demo-vip", name: "VIP Accounts", segment: nil, maxAttempts: 3, contacts: contacts("vip", 100)),
            .createQueue(queueId: "demo-cold", name: "Cold list", segment: nil, maxAttempts: 2, contacts: contacts("cold", 400)),
            .startSession(sessionId: "demo-agent-1", agentId: "agent-1", queueId: "demo-leads", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
            .startSession(sessionId: "demo-agent-2", agentId: "agent-2", queueId: "demo-vip", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
            .startSession(sessionId: "demo-agent-3", agentId: "agent-3", queueId: "demo-cold", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
        ]
    }
}

/// The smallest libwebsockets application: the benchmark's baseline for the polling endpoint.
struct HelloServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hello-server", abstract: "Serve a fixed JSON answer on every path (benchmark baseline).",
        shouldDisplay: false)

    @Option(help: "Port (0 picks a free one).") var port: Int = 0

    struct Hello: WebApplication {
        static let body = Array(#"{"hello":"world"}"#.utf8)
        func handle(_ request: HTTPRequest) async -> HTTPResponse { HTTPResponse(status: 200, body: Self.body) }
        func acceptsWebSocket(path: String) -> Bool { false }
        func webSocketOpened(_ connection: ConnectionID, query: [String: String], server: WebServer) {}
        func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer) {}
        func webSocketClosed(_ connection: ConnectionID) {}
    }

    func run() throws {
        let server = WebServer(port: port, application: Hello())
        let bound = try server.start()
        FileHandle.standardOutput.write(Data("hello server listening on http://127.0.0.1:\(bound)\n".utf8))
        let done = DispatchSemaphore(value: 0)
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { done.signal() }
        source.resume()
        done.wait()
        server.shutdown()
    }
}
