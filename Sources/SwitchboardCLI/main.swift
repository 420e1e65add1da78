import ArgumentParser
import DialerEngine
import DialerCore
import EventStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwitchboardApp
import SwitchboardJSON
import SwitchboardBasics
import Logging
import WebTransport
import SwitchboardRuntime
import SwitchboardServer

/// `switchboard`: the product's command line.
@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "An event-sourced parallel dialer.",
        subcommands: [Serve.self, Tokens.self, DoNotCall.self, Events.self, Verify.self, AcceptHead.self, Export.self, Replay.self, RecordDemo.self, Simulate.self, EventTypes.self]
    )
}

struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "Path of the SQLite event log.")
    var store: String = "./switchboard.sqlite"

    /// Held by `serve` while it runs: the store has one writing process, so a command that writes
    /// (tokens) refuses a store a server is using and points at the API instead.
    static func claim(_ store: String) throws -> Int32 {
        // Named after the real file, so a symlink or another spelling of the path finds the same lock.
        let resolved = URL(fileURLWithPath: store).resolvingSymlinksInPath().path
        let descriptor = Glibc.open(resolved + ".lock", O_RDWR | O_CREAT, 0o600)
        guard descriptor >= 0, flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw ValidationError("\(store) is in use by a running switchboard serve: make this change through its API")
        }
        return descriptor
    }

    /// Opens an existing log; a missing file is an error here, never a silently empty log.
    func openExisting() throws -> SQLiteEventStore {
        guard FileManager.default.fileExists(atPath: store) else {
            throw StoreRefused(description: "no event store at \(store)")
        }
        return try open()
    }

    func open() throws -> SQLiteEventStore {
        do {
            return try SQLiteEventStore(path: store)
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
        }
    }

    /// Opens an existing log to read it: nothing is written into its files (safe beside `serve`).
    func openForReading() throws -> SQLiteEventStore {
        guard FileManager.default.fileExists(atPath: store) else {
            throw StoreRefused(description: "no event store at \(store)")
        }
        do {
            return try SQLiteEventStore.openForReading(path: store)
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
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
        let store = try options.openForReading()
        defer { store.close() }
        let output = FileHandle.standardOutput
        if format == .table {
            let header = pad("POSITION", 9) + pad("TIME", 25) + pad("STREAM", 22) + pad("TYPE", 26) + "DATA\n"
            output.write(Data(header.utf8))
        }
        var chunk: [UInt8] = []
        for try await event in store.events(after: after) {
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
            if chunk.count > 1 << 16 {
                output.write(Data(chunk))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        output.write(Data(chunk))
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the log's hash chain, or an export on its own; name the first position or line that does not hold.")

    @Option(help: "Path of the SQLite event log.") var store: String?
    @Option(help: "An NDJSON export (switchboard export) to check without the log.") var export: String?

    func run() async throws {
        if let export {
            guard let data = FileManager.default.contents(atPath: export) else { throw ValidationError("cannot read \(export)") }
            let report = ChainExport.verify(Array(data))
            if let line = report.firstBadLine {
                print("TAMPERED: line \(line): \(report.problem ?? "does not hold") (\(report.eventsChecked) events verified before it)")
                throw ExitCode(1)
            }
            print("OK: \(report.eventsChecked) events, the slice matches the chain")
            return
        }
        // Read-only: the file is checked as it is, never migrated or written (a server may be running on it).
        let inspection = SQLiteEventStore.inspect(path: store ?? "./switchboard.sqlite")
        if let report = inspection.chain, let bad = report.firstBadPosition {
            print("TAMPERED: first bad position \(bad): \(report.problem ?? "hash mismatch") (\(report.eventsChecked) events verified before it)")
        }
        for problem in inspection.problems { print("DAMAGED: \(problem)") }
        guard inspection.isSound, let report = inspection.chain else { throw ExitCode(1) }
        print("OK: \(report.eventsChecked) events, chain intact, head hash \(report.headHash)")
    }
}

struct AcceptHead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept-head",
        abstract: "After a loss, accept the log as it stands: its head record is set to what it holds (the events after it are gone for good).")

    @OptionGroup var options: StoreOption

    func run() async throws {
        let claim = try StoreOption.claim(options.store)
        defer { close(claim) }
        do {
            let (before, after) = try SQLiteEventStore.acceptHead(path: options.store)
            let lost = max(0, (before?.position ?? after.position) - after.position)
            print("accepted: the log ends at position \(after.position)" + (lost > 0 ? "; \(lost) committed events after it are lost" : ""))
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a slice of the log that anyone can check (switchboard verify --export): NDJSON envelopes and a trailer.")

    @OptionGroup var options: StoreOption
    @Option(help: "First position (default: the first).") var from: Int64 = 1
    @Option(help: "Last position (default: the head).") var to: Int64?
    @Option(help: "Write here instead of standard output.") var out: String?
    @Option(help: "ndjson (the slice, checkable) or csv (call-detail records of the calls placed in it).")
    var format: ExportFormat = .ndjson
    @Option(help: "csv: only this queue's calls.") var queue: String?
    @Option(help: "csv: only this session's calls.") var session: String?

    enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case ndjson, csv }

    func run() async throws {
        let log = try options.openForReading()
        defer { log.close() }
        guard from >= 1, to.map({ $0 >= from }) ?? true else { throw ValidationError("--from must be at least 1 and not after --to") }
        let head = try await log.headPosition()
        if format == .csv {
            let records = try await CallDetailRecord.records(log, from: from, to: min(to ?? head, head),
                                                             queue: queue.map(QueueID.init), session: session.map(SessionID.init))
            let csv = Data(CallDetailRecord.csv(records).utf8)
            if let out { try csv.write(to: URL(fileURLWithPath: out)) } else { FileHandle.standardOutput.write(csv) }
            return
        }
        guard queue == nil, session == nil else {
            throw ValidationError("an NDJSON export is a contiguous slice (it verifies on its own); --queue and --session are for csv")
        }
        let handle: FileHandle
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: nil), let file = FileHandle(forWritingAtPath: out) else {
                throw ValidationError("cannot write \(out)")
            }
            handle = file
        } else {
            handle = FileHandle.standardOutput
        }
        let trailer = try await ChainExport.write(log, from: from, to: min(to ?? head, head)) { handle.write(Data($0)) }
        if out != nil {
            try handle.close()
            FileHandle.standardError.write(Data("exported \(trailer.count) events (\(trailer.first)...\(trailer.last))\n".utf8))
        }
    }
}

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell a session's story from the log (no engine, no carrier), or show its state at a position.")

    @OptionGroup var options: StoreOption
    @Option(help: "The session.") var session: String
    @Option(help: "Show the session's state (and its batch's) as it was at this log position.") var at: Int64?
    @Option(help: "table (a readable timeline) or ndjson (the stored envelopes).") var format: Events.Format = .table

    func run() async throws {
        let log = try options.openForReading()
        defer { log.close() }
        let audit = Audit(store: log)
        let id = SessionID(session)
        if let at {
            let state = try await audit.sessionState(id, at: at)
            guard let found = state.sessions[id] else { throw ValidationError("session \(session) did not exist at position \(at)") }
            var output: JSONObject = ["position": .int(at), "session": found.summary]
            output["batch"] = (found.currentGroup ?? found.lastGroup).flatMap { state.groups[$0] }?.summary ?? .null
            print(String(decoding: JSONWriter.encode(.object(output)), as: UTF8.self))
            return
        }
        var after: Int64 = 0
        var start: Timestamp?
        while true {
            let page = try await audit.timeline(of: id, after: after, limit: 500)
            guard let last = page.last else { break }
            for recorded in page {
                switch format {
                case .ndjson: print(String(decoding: recorded.envelopeJSON, as: UTF8.self))
                case .table:
                    let origin = start ?? recorded.time
                    start = origin
                    let line = Self.clock(recorded.time.milliseconds(since: origin)) + "  " + Self.pad(String(recorded.position), 8)
                        + Self.pad(recorded.type, 26) + ((try? EventCodec.decode(recorded).payload.summary) ?? "")
                    print(line)
                }
            }
            after = last.position
        }
        if start == nil, format == .table { throw ValidationError("no events for session \(session)") }
    }

    /// `+m:ss.mmm` since the session started.
    static func clock(_ ms: Int64) -> String {
        let minutes = ms / 60_000, seconds = ms / 1000 % 60, millis = ms % 1000
        return "+\(minutes):" + (seconds < 10 ? "0" : "") + "\(seconds)." + String(String(millis + 1000).dropFirst())
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

struct RecordDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
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
            throw StoreRefused(description: error.description)
        }
        defer { log.close() }
        guard try await log.headPosition() == 0 else { throw ValidationError("the store \(path) is not empty") }
        let outcome = try await Simulation.run(parsed, seed: seed, store: log)
        var output: [UInt8] = []
        for event in outcome.events {
            output += event.envelopeJSON
            output.append(0x0A)
        }
        output += JSONWriter.encode(["summary": SimulationSummary.json(outcome)])
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
    @Option(help: "Address to listen on: 127.0.0.1 (this machine) unless told; 0.0.0.0 or :: for every interface.")
    var host: String = "127.0.0.1"
    @Option(help: "The SQLite event log.") var store: String = "./switchboard.sqlite"
    @Flag(help: "On an empty store, create demo queues and start an agent on each.") var demo = false
    @Option(help: "Seed of the simulated carrier.") var seed: UInt64 = 2026
    @Option(help: "How long the simulated carrier's requests take to reach the network (ms): a cancel can then race an answer.")
    var carrierLatencyMs: Int64 = 0
    @Option(help: "Ping a WebSocket after this many idle seconds.") var pingSeconds: UInt16 = 20
    @Option(help: "Drop a WebSocket that has not answered for this many seconds.") var hangUpSeconds: UInt16 = 60
    @Option(help: "trace, debug, info, notice, warning, error or critical (logs go to stderr).")
    var logLevel: String = "info"
    @Option(help: "Where the admin token is kept (created there, mode 0600, when missing). Default: <store>.admin-token.")
    var adminTokenFile: String?
    @Option(help: "Also accept browser WebSockets from this origin (scheme://host:port); repeatable, or a comma-separated list.")
    var allowOrigin: [String] = []
    @Option(help: "Bad tokens from one address within a minute before it is shut out for a minute.")
    var authFailureLimit: Int = 10
    @Option(help: "Close a feed socket catching up that takes nothing for this many seconds (4008; it resumes with after=).")
    var slowConsumerSeconds: Int = 15
    @Option(help: "Feed sockets (consoles, walls) this server serves at once; one more is refused 503 feed-full with Retry-After.")
    var maxFeedSockets: Int = WebServer.Limits().maxWebSockets
    @Option(help: "The organisation's safe-harbor message (who is calling, a callback number, how to opt out), for queues without their own; \"\" removes it. Default: keep the one in force.")
    var safeHarborMessage: String?
    @Option(help: "Run the server's clock this many whole hours from the system's (-23 to 23), so that demos and tests find the US inside its calling hours whenever they run; simulated carrier only. Default: 0, or for --demo the shift its contacts need.")
    var clockOffsetHours: Int?
    @Option(help: "Serve HTTPS and WSS with this certificate (PEM); needs --tls-key.") var tlsCert: String?
    @Option(help: "The private key (PEM) of --tls-cert.") var tlsKey: String?

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var configuration = Configuration()
        configuration.storePath = store
        configuration.port = port
        guard WebServer.isAddressLiteral(host) else { throw ValidationError("--host must be an IPv4 or IPv6 address, e.g. 127.0.0.1 or 0.0.0.0") }
        configuration.host = host
        configuration.demo = demo
        guard (0...10_000).contains(carrierLatencyMs) else { throw ValidationError("--carrier-latency-ms must be from 0 to 10000") }
        configuration.carrier = .simulated(seed: seed, latencyMs: carrierLatencyMs)
        configuration.pingSeconds = pingSeconds
        configuration.hangUpSeconds = hangUpSeconds
        configuration.logLevel = level
        configuration.adminTokenFile = adminTokenFile ?? store + ".admin-token"
        // Repeatable, or one comma-separated list.
        configuration.allowedOrigins = allowOrigin.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        configuration.safeHarborMessage = safeHarborMessage
        guard authFailureLimit >= 1 else { throw ValidationError("--auth-failure-limit must be at least 1") }
        configuration.authFailureLimit = authFailureLimit
        guard (1...3600).contains(slowConsumerSeconds) else { throw ValidationError("--slow-consumer-seconds must be from 1 to 3600") }
        configuration.slowConsumerSeconds = slowConsumerSeconds
        configuration.maxFeedSockets = maxFeedSockets
        configuration.clockOffsetHours = clockOffsetHours
        switch (tlsCert, tlsKey) {
        case (let certificate?, let key?): configuration.tls = .init(certificate: certificate, privateKey: key)
        case (nil, nil): break
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
        if let problem = configuration.problem { throw ValidationError(problem) }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchboard")
        // Every client is a descriptor: the soft limit (often 1 024) is raised to the hard one.
        let files = WebServer.raiseOpenFileLimit()
        logger.info("open files", metadata: ["limit": "\(files)"])
        let claim = try StoreOption.claim(store)
        defer { close(claim) }
        let app: SwitchboardApplication
        do {
            app = try await SwitchboardApplication.build(configuration, logger: logger)
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
        }
        let scheme = configuration.tls == nil ? "http" : "https"
        // The address it really listens on; the pages and curl go to this machine's own address.
        let listening = host.contains(":") ? "[\(host)]" : host
        let local = ["0.0.0.0": "127.0.0.1", "::": "[::1]"][host] ?? listening
        let banner = """
            Switchboard listening on \(scheme)://\(listening):\(app.port)  (store: \(store))
            \(app.notes.map { "  " + $0 }.joined(separator: "\n"))
              pages: \(scheme)://\(local):\(app.port)/console  /supervisor  /audit  (sign in with a token)
              curl -H "Authorization: Bearer $(cat \(configuration.adminTokenFile ?? ""))" \(scheme)://\(local):\(app.port)/v1/overview

            """
        FileHandle.standardOutput.write(Data(banner.utf8))
        try await app.run()
        FileHandle.standardError.write(Data("switchboard: stopped\n".utf8))
        if !app.health.isHealthy { throw ExitCode(1) }
    }
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue, list and revoke bearer tokens (admin, supervisor, agent, auditor) in a store.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token and print it once (only its hash is kept).")
        @OptionGroup var options: StoreOption
        @Option(help: "admin, supervisor, agent or auditor.") var role: String
        @Option(help: "The agent an agent's token acts as.") var agent: String?
        @Option(help: "A note to tell tokens apart.") var label: String?
        @Option(help: "Expire after this many hours.") var expiresInHours: Int64?

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be admin, supervisor, agent or auditor") }
            let claim = try StoreOption.claim(options.store)
            defer { close(claim) }
            let log = try options.open()
            defer { log.close() }
            let handler = try await CommandHandler(store: log)
            let now = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
            let expiresAt = try expiresInHours.map { hours in
                guard (1...87_600).contains(hours) else { throw ValidationError("--expires-in-hours must be 1 to 87600") }
                return now.adding(milliseconds: hours * 3_600_000)
            }
            do {
                let issued = try await TokenIssuing.issue(role: role, agentId: agent.map(AgentID.init), label: label,
                                                          expiresAt: expiresAt, credentials: log) { command in
                    try await handler.handle(command, at: now)
                }
                print("\(issued.tokenId.rawValue) \(issued.token)")
            } catch let error as DomainError {
                throw ValidationError(error.description)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never the tokens themselves).")
        @OptionGroup var options: StoreOption

        func run() async throws {
            let log = try options.openForReading()
            defer { log.close() }
            let state = try await DialerState.replay(log)
            let now = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
            for token in state.tokens.values.sorted(by: { ($0.issuedAt, $0.id) < ($1.issuedAt, $1.id) }) {
                let status = token.revokedAt != nil ? "revoked" : token.isValid(at: now) ? "valid" : "expired"
                print([token.id.rawValue, token.role.rawValue, token.agentId?.rawValue ?? "-", token.hashPrefix, status,
                       token.label ?? ""].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: it opens nothing from now on.")
        @OptionGroup var options: StoreOption
        @Argument(help: "The token's id (tokens list).") var tokenId: String

        func run() async throws {
            let claim = try StoreOption.claim(options.store)
            defer { close(claim) }
            let log = try options.openExisting()
            defer { log.close() }
            let handler = try await CommandHandler(store: log)
            do {
                try await handler.handle(.revokeToken(tokenId: TokenID(tokenId)),
                                         at: Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
            } catch let error as DomainError {
                throw ValidationError(error.description)
            }
            print("revoked \(tokenId)")
        }
    }
}

struct DoNotCall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnc", abstract: "The organisation's do-not-call list.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add the numbers in a file (CSV: the first column; or one number a line) to the list.")
        @OptionGroup var options: StoreOption
        @Argument(help: "The file: E.164 numbers, or ten-digit US numbers (+1 is added).") var file: String

        /// `+15125550100`, `15125550100`, `(512) 555-0100`, `512-555-0100` — as E.164, if it is a number.
        static func number(_ field: Substring) -> PhoneNumber? {
            let text = field.trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
            if text.hasPrefix("+") { return PhoneNumber(text) }
            let digits = text.filter(\.isNumber)
            guard digits.count == text.filter({ !" ()-.".contains($0) }).count else { return nil }
            if digits.count == 10 { return PhoneNumber("+1" + digits) }
            if digits.count == 11, digits.hasPrefix("1") { return PhoneNumber("+" + digits) }
            return nil
        }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            var numbers: [PhoneNumber] = [], unreadable = 0
            for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
                guard let first = line.split(separator: ",", omittingEmptySubsequences: false).first,
                    !first.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                if let number = Self.number(first) { numbers.append(number) } else { unreadable += 1 }
            }
            let claim = try StoreOption.claim(options.store)
            defer { close(claim) }
            let log = try options.open()
            defer { log.close() }
            let handler = try await CommandHandler(store: log)
            let before = await handler.state.doNotCall.count
            var start = 0
            while start < numbers.count {
                let slice = Array(numbers[start..<min(numbers.count, start + DialerState.maxDoNotCallPerCommand)])
                try await handler.handle(.addDoNotCall(slice, source: .import),
                                         at: Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
                start += slice.count
            }
            let after = await handler.state.doNotCall.count
            // A header line ("phone") is one of the unreadable lines.
            print("added \(after - before) numbers (\(numbers.count - (after - before)) already listed, \(unreadable) lines not a number); \(after) on the list")
        }
    }
}

/// A store that cannot be used (missing, damaged, behind its head record): said plainly, exit 1 — not
/// a usage error with the command's help after it.
struct StoreRefused: Error, CustomStringConvertible {
    var description: String
}
