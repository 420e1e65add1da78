import DialerCore
import Logging
import WebTransport
import DialerSimulation
import Carriers

/// Everything that decides how Switchboard runs: one value, built by `serve` from its arguments or by
/// a test, turned into a running application by `SwitchboardApplication.build`.
public struct Configuration: Sendable {
    /// The embedded SQLite event log.
    public var storePath = "./switchboard.sqlite"
    /// HTTP and WebSocket port (0 picks a free one).
    public var port = 8080
    /// The address to listen on: this machine only unless told (`0.0.0.0` or `::` for every interface).
    public var host = "127.0.0.1"
    /// The telephone network behind the engine.
    public var carrier = Carrier.simulated(seed: 2026, latencyMs: 0)
    /// On an empty store, create the demo queues and start an agent on each.
    public var demo = false
    public var logLevel = Logger.Level.info
    /// Ping an idle WebSocket after this many seconds; drop one silent for `hangUpSeconds`.
    public var pingSeconds: UInt16 = 20
    public var hangUpSeconds: UInt16 = 60
    /// The caller IDs a session falls back to while the organisation's pool (`/v1/caller-ids`) is empty.
    public var callerIds = Demo.callerIds
    /// Where the admin token is kept (made there, mode 0600, on first start); `nil`: no bootstrap token.
    public var adminTokenFile: String?
    /// Bad tokens from one address within a minute before it is shut out for a minute.
    public var authFailureLimit = 10
    /// A feed socket catching up that takes nothing for this long is closed 4008 (`--slow-consumer-seconds`).
    public var slowConsumerSeconds = 15
    /// Feed sockets this node serves at once (`--max-feed-sockets`); one more is refused 503 `feed-full`.
    public var maxFeedSockets = WebServer.Limits().maxWebSockets
    /// Origins besides the server's own from which browsers may open the feed (`--allow-origin`).
    public var allowedOrigins: [String] = []
    /// The organisation's safe-harbor message, for queues without their own: recorded in the log when
    /// it differs from the one in force; `nil` keeps that one, `""` removes it. The demo brings its own.
    public var safeHarborMessage: String?
    /// Serve HTTPS and WSS with this certificate and key (PEM files).
    public var tls: TLSFiles?
    /// Run the server's wall clock this many whole hours from the system's (`--clock-offset-hours`):
    /// for demos and tests, which must find the US inside its calling hours whenever they run. `nil`:
    /// the system's time — except for the demo, which shifts by the hours that put its contacts
    /// inside their calling hours when they are not (`Demo.clockOffsetHours`). Only where no real
    /// phone rings: a real carrier refuses it.
    public var clockOffsetHours: Int?

    public struct TLSFiles: Sendable {
        public var certificate: String
        public var privateKey: String
        public init(certificate: String, privateKey: String) { self.certificate = certificate; self.privateKey = privateKey }
    }

    /// The demo's tokens, beside the store.
    public var demoTokensFile: String { storePath + ".demo-tokens.json" }

    /// The base URL a real carrier calls back on (`--public-url`): webhook URLs and their signatures are
    /// built from it, so it is the address the carrier sees (a proxy's or a tunnel's), not ours.
    public var publicURL: String?
    /// A real carrier adapter's bounds: the AMD verdict wait, request timeouts.
    public var carrierTiming = CarrierTiming()

    public enum Carrier: Sendable {
        /// The deterministic simulated carrier.
        /// `latencyMs`: how long its requests take to reach the network (a real API round trip).
        case simulated(seed: UInt64, latencyMs: Int64)
        /// Twilio Programmable Voice.
        case twilio(TwilioAccount)
        /// Telnyx Call Control v2.
        case telnyx(TelnyxAccount)

        /// Whether its calls ring real phones (then the calling hours must be judged on the real time).
        public var ringsRealPhones: Bool {
            switch self {
            case .simulated: false
            case .twilio(let account): !Self.isLoopback(account.apiURL)
            case .telnyx(let account): !Self.isLoopback(account.apiURL)
            }
        }

        /// A carrier that calls back over the network (not the simulated one).
        public var isReal: Bool {
            if case .simulated = self { false } else { true }
        }

        /// An API on this machine is a fake carrier (the tests'): no phone rings behind it.
        static func isLoopback(_ url: String) -> Bool {
            guard let host = url.split(separator: "/").dropFirst(1).first(where: { !$0.isEmpty }) else { return false }
            let name = host.hasPrefix("[") ? String(host.prefix { $0 != "]" }.dropFirst()) : String(host.split(separator: ":").first ?? "")
            return name == "localhost" || name == "::1" || name.hasPrefix("127.")
        }
    }

    public init() {}

    /// Why this configuration cannot run, if it cannot.
    public var problem: String? {
        guard (0...65_535).contains(port) else { return "the port must be in 0...65535" }
        guard pingSeconds >= 1, hangUpSeconds > pingSeconds else {
            return "--hang-up-seconds must be above --ping-seconds, which must be at least 1"
        }
        guard maxFeedSockets >= 1 else { return "--max-feed-sockets must be at least 1" }
        if let hours = clockOffsetHours, hours != 0 {
            guard (-23...23).contains(hours) else { return "--clock-offset-hours must be from -23 to 23" }
            guard !carrier.ringsRealPhones else { return "--clock-offset-hours is for the simulated carrier (or a fake carrier on this machine) only: real phones ring on the real time" }
        }
        if carrier.isReal {
            guard demo == false else { return "--demo runs on the simulated carrier only" }
            guard let url = publicURL, url.hasPrefix("https://") || url.hasPrefix("http://") else {
                return "a real carrier needs --public-url, the http(s) base URL it calls back on"
            }
        }
        if case .twilio(let account) = carrier {
            guard (1...1000).contains(account.callsPerSecond) else { return "--twilio-cps must be from 1 to 1000" }
            guard !account.accountSid.isEmpty, !account.authToken.isEmpty else {
                return "Twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or --twilio-credentials FILE)"
            }
        }
        if case .telnyx(let account) = carrier {
            guard (1...1000).contains(account.callsPerSecond) else { return "--telnyx-cps must be from 1 to 1000" }
            guard !account.apiKey.isEmpty, !account.connectionId.isEmpty, !account.publicKey.isEmpty else {
                return "Telnyx needs TELNYX_API_KEY, TELNYX_CONNECTION_ID and TELNYX_PUBLIC_KEY (or --telnyx-credentials FILE)"
            }
            if (try? TelnyxSignature(publicKey: account.publicKey)) == nil { return "TELNYX_PUBLIC_KEY must be base64 of the 32-byte Ed25519 key" }
        }
        if let message = safeHarborMessage, !message.isEmpty, let problem = QueueCompliance.problem(withMessage: message) {
            return "--safe-harbor-message " + problem
        }
        return nil
    }
}
