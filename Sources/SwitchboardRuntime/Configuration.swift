import DialerCore
import Logging

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
    /// Origins besides the server's own from which browsers may open the feed (`--allow-origin`).
    public var allowedOrigins: [String] = []
    /// The organisation's safe-harbor message, for queues without their own: recorded in the log when
    /// it differs from the one in force; `nil` keeps that one, `""` removes it. The demo brings its own.
    public var safeHarborMessage: String?
    /// Serve HTTPS and WSS with this certificate and key (PEM files).
    public var tls: TLSFiles?

    public struct TLSFiles: Sendable {
        public var certificate: String
        public var privateKey: String
        public init(certificate: String, privateKey: String) { self.certificate = certificate; self.privateKey = privateKey }
    }

    /// The demo's tokens, beside the store.
    public var demoTokensFile: String { storePath + ".demo-tokens.json" }

    public enum Carrier: Sendable {
        /// The deterministic simulated carrier (real carriers come later behind the same adapter).
        /// `latencyMs`: how long its requests take to reach the network (a real API round trip).
        case simulated(seed: UInt64, latencyMs: Int64)
    }

    public init() {}

    /// Why this configuration cannot run, if it cannot.
    public var problem: String? {
        guard (0...65_535).contains(port) else { return "the port must be in 0...65535" }
        guard pingSeconds >= 1, hangUpSeconds > pingSeconds else {
            return "--hang-up-seconds must be above --ping-seconds, which must be at least 1"
        }
        if let message = safeHarborMessage, !message.isEmpty, let problem = QueueCompliance.problem(withMessage: message) {
            return "--safe-harbor-message " + problem
        }
        return nil
    }
}
