import ArgumentParser
import DialerEngine
import DialerCore
import EventStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import Logging
import WebTransport
import SwitchboardRuntime
import SwitchboardServer
import Carriers

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
    @Option(help: "The telephone network: simulated (default), twilio (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or --twilio-credentials) or telnyx (TELNYX_API_KEY, TELNYX_CONNECTION_ID, TELNYX_PUBLIC_KEY or --telnyx-credentials).")
    var carrier: CarrierName = .simulated
    @Option(help: "The base URL the carrier calls back on (webhooks and their signatures are built from it); required with a real carrier.")
    var publicUrl: String?
    @Option(help: "A file (mode 0600) with TWILIO_ACCOUNT_SID=… and TWILIO_AUTH_TOKEN=… lines, instead of the environment.")
    var twilioCredentials: String?
    @Option(help: "Twilio's API base URL (tests point it at a fake).") var twilioApiUrl: String = "https://api.twilio.com"
    @Option(help: "The Twilio account's calls-per-second limit, kept across every session.") var twilioCps: Int = 1
    @Option(help: "A file (mode 0600) with TELNYX_API_KEY=…, TELNYX_CONNECTION_ID=… and TELNYX_PUBLIC_KEY=… lines, instead of the environment.")
    var telnyxCredentials: String?
    @Option(help: "Telnyx's API base URL (tests point it at a fake).") var telnyxApiUrl: String = "https://api.telnyx.com/v2"
    @Option(help: "The Telnyx account's dials-per-second limit, kept across every session.") var telnyxCps: Int = 30
    @Option(help: "How long an answered call waits for its AMD verdict before it counts as unknown (ms).")
    var amdWaitMs: Int64 = CarrierTiming().verdictWaitMs
    @Option(help: "How long a request to the carrier may take before it is given up (ms); a create given up is looked for before anything else is decided.")
    var carrierTimeoutMs: Int64 = CarrierTiming().requestTimeoutMs
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
        switch carrier {
        case .simulated: configuration.carrier = .simulated(seed: seed, latencyMs: carrierLatencyMs)
        case .twilio:
            let secrets = try twilioCredentials.map(CarrierCredentials.read) ?? ProcessInfo.processInfo.environment
            configuration.carrier = .twilio(TwilioAccount(
                accountSid: secrets["TWILIO_ACCOUNT_SID"] ?? "", authToken: secrets["TWILIO_AUTH_TOKEN"] ?? "",
                apiURL: twilioApiUrl, callsPerSecond: twilioCps))
        case .telnyx:
            let secrets = try telnyxCredentials.map(CarrierCredentials.read) ?? ProcessInfo.processInfo.environment
            configuration.carrier = .telnyx(TelnyxAccount(
                apiKey: secrets["TELNYX_API_KEY"] ?? "", connectionId: secrets["TELNYX_CONNECTION_ID"] ?? "",
                publicKey: secrets["TELNYX_PUBLIC_KEY"] ?? "", apiURL: telnyxApiUrl, callsPerSecond: telnyxCps))
        }
        configuration.publicURL = publicUrl
        guard (200...10_000).contains(amdWaitMs) else { throw ValidationError("--amd-wait-ms must be from 200 to 10000") }
        guard (500...60_000).contains(carrierTimeoutMs) else { throw ValidationError("--carrier-timeout-ms must be from 500 to 60000") }
        configuration.carrierTiming.verdictWaitMs = amdWaitMs
        configuration.carrierTiming.requestTimeoutMs = carrierTimeoutMs
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

enum CarrierName: String, ExpressibleByArgument, CaseIterable {
    case simulated, twilio, telnyx
}

/// A carrier's secrets from a file rather than the environment: `NAME=value` lines, refused unless only
/// its owner may read it (mode 0600), as `ssh` treats a private key.
enum CarrierCredentials {
    static func read(_ path: String) throws -> [String: String] {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw ValidationError("cannot read the credentials file \(path)")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw ValidationError("the credentials file \(path) may be read by others (mode \(String(mode, radix: 8))): chmod 600 it")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the credentials file \(path)")
        }
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[line[..<equals].trimmingCharacters(in: .whitespaces)] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return values
    }
}
