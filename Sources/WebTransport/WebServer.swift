import Foundation
import SwitchboardBasics
import SwitchboardJSON
import Synchronization

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
        /// A WebSocket with more than this queued is behind: a state message queued for it supersedes
        /// the same topic's state still waiting (events always go out). One coalesced write's worth.
        public var supersedeStatesAboveBytes = 64 * 1024
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

    /// The service thread's CPU time.
    let work: WorkMeter

    public init(port: Int, host: String = "127.0.0.1", application: any WebApplication, limits: Limits = Limits(), tls: TLS? = nil,
                work: WorkMeter = WorkMeter()) {
        self.work = work
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
    /// `stateTopics[i]`: the topic `texts[i]` is the latest state of, if it is one — superseded by a
    /// newer one while it waits in a long queue (`Limits.supersedeStatesAboveBytes`).
    public func send(_ connections: [ConnectionID], texts: [[UInt8]], stateTopics: [String?] = []) {
        guard !connections.isEmpty, !texts.isEmpty else { return }
        let message = texts.count == 1 ? OutgoingMessage(texts[0], state: stateTopics.first ?? nil)
            : OutgoingMessage(frames: texts, stateTopics: stateTopics)
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
