import Foundation
import SwitchboardJSON
import Synchronization

/// An HTTP request as the application sees it: no lws types.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Lower-cased header names; only the headers the application uses are read.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The client's address (for limits per address).
    public var peer: String

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = [],
                peer: String = "") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peer = peer
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// A body too big to hold: pulled a chunk at a time (the next is asked for only once the last is
    /// written, so memory stays bounded) and sent chunked; `nil` ends it. `body` is then unused.
    public var bodyStream: (@Sendable () async throws -> [UInt8]?)?

    public init(status: Int, contentType: String = "application/json", headers: [(name: String, value: String)] = [],
                body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }
}

extension HTTPResponse {
    /// The one shape of every error the server answers: `{"error": {"code", "message"}}`, escaped.
    public static func error(_ status: Int, code: String, message: String) -> HTTPResponse {
        HTTPResponse(status: status, body: JSONWriter.encode(["error": ["code": .string(code), "message": .string(message)]]))
    }
}

/// One WebSocket connection's name, stable for its lifetime.
public typealias ConnectionID = UInt64

/// What the server calls into. WebSocket callbacks run on the service thread: keep them short and
/// hand real work to tasks; answer with `WebServer.send` / `close` from any thread.
public protocol WebApplication: Sendable {
    func handle(_ request: HTTPRequest) async -> HTTPResponse
    /// Whether a WebSocket upgrade is accepted (`nil`), or the refusal to answer it with. Runs on the
    /// service thread: decide from the request alone (path, `Origin`, `Host`), do not wait.
    func webSocketRefusal(_ upgrade: HTTPRequest) -> HTTPResponse?
    /// `upgrade` carries the handshake's path, query, headers (`authorization`, `sec-websocket-protocol`,
    /// `origin`, `host`) and peer.
    func webSocketOpened(_ connection: ConnectionID, upgrade: HTTPRequest, server: WebServer)
    func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer)
    func webSocketClosed(_ connection: ConnectionID)
    /// Whether a request that carries a body is refused from its headers alone, before the body is
    /// read (a route that needs a token, and none or a malformed one was sent). Runs on the service
    /// thread: decide from the request alone, do not wait.
    func bodyRefusal(_ request: HTTPRequest) -> HTTPResponse?
}

extension WebApplication {
    public func bodyRefusal(_ request: HTTPRequest) -> HTTPResponse? { nil }
}

/// Close codes the server uses.
public enum CloseCode {
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    /// The server cannot go on serving this socket (its projections stopped following the log).
    public static let internalError: UInt16 = 1011
    /// The connection's send queue passed its limit: the client reads too slowly. Resume with `after`.
    public static let slowConsumer: UInt16 = 4008
}

public struct WebServerError: Error, CustomStringConvertible {
    public var description: String
}

/// HTTP and WebSocket on one port, served by libwebsockets on one dedicated thread.
///
/// libwebsockets is not thread-safe (except `lws_cancel_service`): every lws call happens on the
/// service thread. Other threads post work to a locked inbox and wake the loop; the loop moves it
/// to per-connection queues and writes only from writeable callbacks, one `lws_write` each.
public final class WebServer: Sendable {
    public struct Limits: Sendable {
        /// Request bodies above this get 413.
        public var maxBodyBytes = 64 * 1024
        /// A request line's path and query above this get 414, its headers together above
        /// `maxHeaderBytes` 431. lws keeps a request's head in one buffer (`headerBufferBytes`) and
        /// drops a connection whose head does not fit without a status; the limits sit below it so
        /// a head too big is told so, and only one past the buffer is dropped.
        public var maxURIBytes = 4096
        public var maxHeaderBytes = 8192
        public var headerBufferBytes = 16384
        /// Messages a client sends above this close the connection (1009).
        public var maxMessageBytes = 64 * 1024
        /// Bytes queued for one WebSocket above this close it (4008, "slow consumer").
        public var maxQueuedBytes = 1 << 20
        /// Bytes queued for all WebSockets together: above this, a socket with more than an eighth of
        /// `maxQueuedBytes` waiting is closed 4008 as more arrives for it — thousands of slow readers
        /// cannot take the server's memory between them.
        public var maxTotalQueuedBytes = 256 << 20
        /// Requests from one address whose bodies are still arriving: one more is answered 429 at once,
        /// so a client trickling bodies cannot hold the server's descriptors.
        public var maxUnfinishedBodiesPerAddress = 16
        /// A body must have arrived this long after its headers (else 408 and the connection closes).
        public var bodySeconds: Double = 10
        /// Open WebSockets the node serves: one more upgrade is answered 503 `feed-full` with
        /// `Retry-After`. Every reading socket costs the one service thread a write per commit, and
        /// that thread also answers the API and `/healthz`: past what it can write, fan-out would
        /// starve them (3 000 reading walls put `/healthz` at p99 0.9 s). The default keeps `/healthz`
        /// p99 well under 100 ms with every socket a reading wall on a 2-core box (docs/benchmarks.md,
        /// `walls`: 1 000 → 40–56 ms, 2 000 → 59–168 ms); `--max-feed-sockets` sizes it for a bigger one.
        public var maxWebSockets = 1000
        /// Ping an idle WebSocket after this many seconds; drop it if nothing comes back in `hangUpSeconds`.
        public var pingSeconds: UInt16 = 20
        public var hangUpSeconds: UInt16 = 60
        public init() {}
    }

    /// HTTPS and WSS on the same port (Debian's libwebsockets is built with OpenSSL).
    public struct TLS: Sendable {
        public var certificatePath: String
        public var privateKeyPath: String
        public init(certificatePath: String, privateKeyPath: String) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
        }
    }

    let application: any WebApplication
    let limits: Limits
    /// What the service thread says about its sockets, read at any time (by `/metrics`).
    public let statistics = TransportStatistics()
    let requestedPort: Int
    /// The address the port is bound on (an IPv4 or IPv6 address; `0.0.0.0` for every interface).
    let host: String
    let shared = Mutex(Shared())
    private let started = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    struct Shared {
        var inbox: [Outgoing] = []
        /// Set while the lws context exists: `lws_cancel_service` is only safe then.
        var waker: ServiceWaker?
        var boundPort: Int?
        var startError: String?
        var stopping = false
    }

    enum Outgoing {
        /// Messages for connections, queued together (so each connection writes them in one go).
        case send([ConnectionID], [OutgoingMessage])
        case close(ConnectionID, UInt16, String)
        case respond(ConnectionID, HTTPResponse)
        /// The next piece of a streamed body (`nil`: the end; a failure closes the connection).
        case streamed(ConnectionID, Result<[UInt8]?, any Error>)
        case shutdown
    }

    /// `LWS_PRE`: the headroom lws needs in front of every WebSocket payload.
    static let headroom = ServiceLoop.headroom

    let tls: TLS?

    public init(port: Int, host: String = "127.0.0.1", application: any WebApplication, limits: Limits = Limits(), tls: TLS? = nil) {
        requestedPort = port
        self.host = host
        self.tls = tls
        self.application = application
        self.limits = limits
    }

    /// Raises this process's open-file limit to its hard limit (many clients, each a descriptor);
    /// answers the limit in force.
    @discardableResult
    public static func raiseOpenFileLimit() -> UInt64 {
        let files = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(files, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(files, &limit)
            _ = getrlimit(files, &limit)
        }
        return UInt64(limit.rlim_cur)
    }

    /// Whether `text` is a numeric IPv4 or IPv6 address, as `host` must be (lws would look a name up).
    public static func isAddressLiteral(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// Starts the service thread; returns the port it listens on (useful with port 0).
    public func start() throws -> Int {
        let thread = Thread { [self] in
            ServiceLoop.run(server: self)
            stopped.signal()
        }
        thread.name = "switchboard-lws"
        thread.start()
        started.wait()
        let (port, error) = shared.withLock { ($0.boundPort, $0.startError) }
        guard let port else { throw WebServerError(description: error ?? "the server did not start") }
        return port
    }

    /// Bytes handed to `send` and not yet written to the socket, for connections whose sender paces
    /// itself (`track`): a catch-up sends its next page only once the last has mostly gone out.
    struct Backlog {
        var unsent: [ConnectionID: Int] = [:]
        var waiters: [ConnectionID: (below: Int, continuation: CheckedContinuation<Bool, Never>)] = [:]
    }
    let backlog = Mutex(Backlog())

    /// Starts counting what is sent to `connection` and not yet written (see `drained`).
    public func track(_ connection: ConnectionID) { backlog.withLock { $0.unsent[connection] = $0.unsent[connection] ?? 0 } }

    /// Stops counting (the sender no longer paces itself); a waiter is answered `true`.
    public func untrack(_ connection: ConnectionID) { settle(connection, answer: true) }

    /// Waits until fewer than `bytes` of what was sent to the tracked `connection` are unwritten:
    /// `true` then, `false` once the connection is closing or gone (stop sending).
    public func drained(_ connection: ConnectionID, below bytes: Int) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = backlog.withLock { backlog -> Bool? in
                guard let unsent = backlog.unsent[connection] else { return false }
                guard unsent >= bytes else { return true }
                let earlier = backlog.waiters.updateValue((bytes, continuation), forKey: connection)
                earlier?.continuation.resume(returning: false)  // one waiter a connection: the newest
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// The service loop wrote `bytes` of `connection`'s messages.
    func wrote(_ connection: ConnectionID, bytes: Int) {
        let ready = backlog.withLock { backlog -> CheckedContinuation<Bool, Never>? in
            guard let unsent = backlog.unsent[connection] else { return nil }
            let left = max(0, unsent - bytes)
            backlog.unsent[connection] = left
            guard let waiter = backlog.waiters[connection], left < waiter.below else { return nil }
            backlog.waiters[connection] = nil
            return waiter.continuation
        }
        ready?.resume(returning: true)
    }

    /// `connection` is closing or gone: nothing more is counted, and a waiter is answered `answer`.
    func settle(_ connection: ConnectionID, answer: Bool = false) {
        let waiter = backlog.withLock { backlog -> CheckedContinuation<Bool, Never>? in
            backlog.unsent[connection] = nil
            return backlog.waiters.removeValue(forKey: connection)?.continuation
        }
        waiter?.resume(returning: answer)
    }

    private func count(_ connections: [ConnectionID], _ bytes: Int) {
        backlog.withLock { backlog in
            guard !backlog.unsent.isEmpty else { return }
            for id in connections { backlog.unsent[id] = backlog.unsent[id].map { $0 + bytes } }
        }
    }

    /// Sends a text message on a WebSocket. Thread-safe.
    public func send(_ connection: ConnectionID, text: [UInt8]) {
        count([connection], text.count)
        post(.send([connection], [OutgoingMessage(text)]))
    }

    /// Sends one text message to many WebSockets: it is copied once, not once per connection.
    public func send(_ connections: [ConnectionID], text: [UInt8]) {
        guard !connections.isEmpty else { return }
        count(connections, text.count)
        post(.send(connections, [OutgoingMessage(text)]))
    }

    /// Sends several text messages, in order, to many WebSockets, in one write each: they are framed
    /// once, here, into one buffer every connection writes as it is (no copy per connection).
    public func send(_ connections: [ConnectionID], texts: [[UInt8]]) {
        guard !connections.isEmpty, !texts.isEmpty else { return }
        let message = texts.count == 1 ? OutgoingMessage(texts[0]) : OutgoingMessage(frames: texts)
        count(connections, message.count)
        post(.send(connections, [message]))
    }

    /// Closes a WebSocket with a close code. Thread-safe.
    public func close(_ connection: ConnectionID, code: UInt16, reason: String) { post(.close(connection, code, reason)) }

    /// Stops accepting, closes every WebSocket with 1001, and stops the service thread. Blocks until done.
    public func shutdown() {
        let running = shared.withLock { shared -> Bool in
            defer { shared.stopping = true }
            return !shared.stopping && shared.waker != nil
        }
        guard running else { return }
        post(.shutdown)
        stopped.wait()
    }

    func respond(_ connection: ConnectionID, _ response: HTTPResponse) { post(.respond(connection, response)) }

    func streamed(_ connection: ConnectionID, _ piece: Result<[UInt8]?, any Error>) { post(.streamed(connection, piece)) }

    private func post(_ item: Outgoing) {
        // Only the post that finds the inbox empty wakes the loop; the loop drains the whole inbox.
        let waker = shared.withLock { shared -> ServiceWaker? in
            guard shared.waker != nil else { return nil }
            shared.inbox.append(item)
            return shared.inbox.count == 1 ? shared.waker : nil
        }
        waker?.wake()
    }

    func takeInbox() -> [Outgoing] {
        shared.withLock { shared in
            defer { shared.inbox = [] }
            return shared.inbox
        }
    }

    func didStart(port: Int?, error: String?, waker: ServiceWaker?) {
        shared.withLock { shared in
            shared.boundPort = port
            shared.startError = error
            shared.waker = waker
        }
        started.signal()
    }

    func willStop() { shared.withLock { $0.waker = nil } }
}

/// A message with `LWS_PRE` bytes of headroom in front, made once and shared by every connection it
/// goes to (lws writes the frame header into the headroom right before each write, on one thread) —
/// or several messages already framed, written as they are.
final class OutgoingMessage: @unchecked Sendable {
    // @unchecked: `bytes` is written while building (before the message is shared) and then only
    // by the service thread, in the headroom, one write at a time.
    var bytes: [UInt8]
    /// Bytes after the headroom.
    let count: Int
    /// `bytes` holds complete WebSocket frames (several messages), not one message's payload.
    let isFramed: Bool

    init(_ text: [UInt8]) {
        let pre = WebServer.headroom
        bytes = [UInt8](repeating: 0, count: pre + text.count)
        bytes.replaceSubrange(pre..<(pre + text.count), with: text)
        count = text.count
        isFramed = false
    }

    init(frames texts: [[UInt8]]) {
        bytes = WebSocketFraming.textFrames(texts.map { $0[...] }, headroom: WebServer.headroom)
        count = bytes.count - WebServer.headroom
        isFramed = true
    }
}

/// The transport's sockets as the service thread last saw them: stored by that thread after each turn
/// of its loop (relaxed atomics: a scrape needs a recent value, not a consistent snapshot).
public final class TransportStatistics: Sendable {
    let openWebSocketCount = Atomic<Int>(0)
    let queuedByteCount = Atomic<Int>(0)
    let slowConsumerCloseCount = Atomic<Int>(0)

    public var openWebSockets: Int { openWebSocketCount.load(ordering: .relaxed) }
    /// Bytes queued for WebSockets and not yet written.
    public var queuedBytes: Int { queuedByteCount.load(ordering: .relaxed) }
    /// WebSockets closed 4008 since the server started (too much queued, or a catch-up that took nothing).
    public var slowConsumerCloses: Int { slowConsumerCloseCount.load(ordering: .relaxed) }
}
