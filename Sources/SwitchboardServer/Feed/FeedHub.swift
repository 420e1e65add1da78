import CoreMetrics
import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import Logging
import ServiceLifecycle
import WebTransport

/// The live feed: each WebSocket gets the stored events after its `after` position that match its
/// topics, in log order, then live ones — no gap, no duplicate — and a `state` message with the
/// projection after each change of a subscribed group or session.
///
/// A new subscriber catches up on its own from the log; once it has reached what the shared pump
/// last delivered, it joins the pump, which encodes each live event (and each state) once and hands
/// the same bytes to every matching subscriber. The hand-over happens under one lock, so nothing is
/// skipped or sent twice.
final class FeedHub: Service {
    let store: any EventStore
    let projections: ProjectionHost
    let authenticator: Authenticator
    let hub = Mutex(Hub())
    /// The commits the projections hand over, until the pump takes them.
    let pending = Mutex<AsyncStream<LiveCommit>?>(nil)
    let pageSlots = PageSlots()
    /// Events kept in memory for catching up (about 10–20 MB; a minute of a 1 000-agent floor).
    static let recentEvents = 16_384
    /// How often a caught-up socket hears from the server when nothing happens: a page tells a quiet
    /// feed from a dead one by it ("updated N s ago" is the last contact, not the last event).
    static let heartbeatEvery: Duration = .seconds(5)

    /// Close codes of the feed's own refusals.
    enum Refusal {
        /// No valid token (missing, unknown, expired or revoked — also when revoked later).
        static let unauthorized: UInt16 = 4001
        /// A topic the token's role may not follow.
        static let forbidden: UInt16 = 4003
        /// Too many failed authentications from this address.
        static let tooManyFailures: UInt16 = 4029
    }

    struct Subscriber {
        var topics: Topics
        var server: WebServer
        /// Asked for heartbeats (`"heartbeat": true`, or `heartbeat=1` in the URL): a client that
        /// did not ask gets only events and states, as before.
        var heartbeat = false
        var catchUp: Task<Void, Never>?
        var live = false
    }

    /// Every socket's state, under one lock: from its opening to its subscription, live or catching up.
    struct Hub {
        /// Sockets not subscribed yet: being authenticated (with the first message, if it came early),
        /// or waiting for their first `{"subscribe": …}` message (no `after`/`topics` in the URL).
        var opening = FeedOpening()
        /// Whose token each open socket came with (a revoked or expired token closes its sockets).
        var bearers: [ConnectionID: TokenID] = [:]
        /// The server the sockets are on (known from the first socket).
        var server: WebServer?
        var subscribers: [ConnectionID: Subscriber] = [:]
        /// The live ones (caught up: the pump's), by topic.
        var index = TopicIndex()
        /// The last position the pump has handed to live subscribers.
        var delivered: Int64 = 0
        /// The last commits the pump delivered, for subscribers catching up (kept with `delivered`).
        var recent = RecentCommits(maxEvents: FeedHub.recentEvents)
        var stopped = false
    }

    let logger: Logger
    /// A catching-up socket that takes nothing for this long is closed 4008 (it resumes with `after`).
    let hopelessAfter: Duration

    /// From a commit folded by the projections to its messages handed to the transport.
    let deliveryLag: CoreMetrics.Timer
    /// The feed's CPU time: views, messages, shares (`switchboard_work_seconds_total{stage="feed"}`).
    let work: WorkMeter

    init(store: any EventStore, projections: ProjectionHost, authenticator: Authenticator, hopelessAfter: Duration,
         measurements: Measurements = .none, logger: Logger) {
        self.hopelessAfter = hopelessAfter
        deliveryLag = measurements.timer(Measurements.Name.feedDeliveryLagSeconds)
        work = measurements.work.feed
        self.store = store
        self.projections = projections
        self.authenticator = authenticator
        self.logger = logger
    }

    /// Follows the projections from where they are: from then on, each commit they fold comes here
    /// with what the feed needs of their state (`CommitView`, made as they fold it), and waits for the
    /// pump (`run`). Called before the server accepts a socket, so no subscriber can join the pump
    /// before the pump knows where it starts.
    ///
    /// (Tried: the projections sending to the sockets themselves, inside their actor. It made the
    /// 1 000-agent floor — 260 events/s — seconds late: the feed's work queued behind every read of
    /// the projections. Only the view is made there; the rest happens on the pump.)
    func follow() async {
        // Unbounded: every commit must reach the pump, which only queues writes (never waits on a socket).
        let (commits, continuation) = AsyncStream<LiveCommit>.makeStream()
        let head = await projections.observeCommits { [work] commit, events, state in
            let view = work.measure { CommitView(events.map(Optional.some), in: state) }
            continuation.yield(LiveCommit(commit: commit, events: events, view: view, folded: .now))
        }
        hub.withLock { $0.delivered = head }
        pending.withLock { $0 = commits }
    }

    /// The pump and the heartbeat, until the service is cancelled (after the web server stopped).
    func run() async throws {
        guard let commits = pending.withLock({ $0.take() }) else { return }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    for await commit in commits { work.measure { deliver(commit) } }
                }
                group.addTask { [self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: Self.heartbeatEvery)
                        heartbeat()
                    }
                }
            }
        }
        hub.withLock { $0.stopped = true }
    }

    /// `{"type":"heartbeat","position":N,"everyMs":5000}` to every caught-up socket that asked: the position
    /// the pump has delivered, and when to expect the next one.
    func heartbeat() {
        let (live, position) = hub.withLock { hub in
            (hub.stopped ? [] : hub.subscribers.filter { $0.value.live && $0.value.heartbeat }.map { ($0.key, $0.value.server) },
             hub.delivered)
        }
        guard let server = live.first?.1 else { return }
        let everyMs = Self.heartbeatEvery.components.seconds * 1000
        server.send(live.map(\.0), texts: [Array(#"{"type":"heartbeat","position":\#(position),"everyMs":\#(everyMs)}"#.utf8)])
    }

    /// Closes a socket the feed cannot serve, with a close code and a reason the client can show.
    func refuse(_ connection: ConnectionID, _ server: WebServer, _ code: UInt16, _ reason: String) {
        logger.info("websocket refused", metadata: ["connection": "\(connection)", "code": "\(code)", "reason": "\(reason)"])
        server.close(connection, code: code, reason: reason)
    }

    /// A new socket: authenticated first (its token in `Authorization` or as `bearer.<token>` in
    /// `Sec-WebSocket-Protocol`), then subscribed from the URL or from its first message.
    func open(_ connection: ConnectionID, upgrade: HTTPRequest, failures: FailedAuthentications, server: WebServer) {
        logger.info("websocket open", metadata: ["connection": "\(connection)", "topics": "\(upgrade.query["topics"] ?? "-")"])
        hub.withLock { hub in
            hub.opening.opened(connection)
            hub.server = hub.server ?? server
        }
        Task { [self] in
            guard let principal = await authenticator.principal(for: upgrade.headers) else {
                hub.withLock { $0.opening.refused(connection) }
                // Its guesses are shut out, never a valid token.
                if failures.failedAuthentication(from: upgrade.peer, guessed: Authenticator.token(in: upgrade.headers) != nil) != nil {
                    return refuse(connection, server, Refusal.tooManyFailures, "too many failed authentications; try again later")
                }
                return refuse(connection, server, Refusal.unauthorized, "send a valid bearer token")
            }
            hub.withLock { $0.bearers[connection] = principal.tokenId }
            if let expiresAt = principal.expiresAt { closeAtExpiry(connection, principal.tokenId, expiresAt, server: server) }
            let urlSubscribes = upgrade.query["after"] != nil || upgrade.query["topics"] != nil
            let action = hub.withLock { $0.opening.authenticated(connection, as: principal, urlSubscribes: urlSubscribes) }
            if case .subscribeFromURL(let principal) = action {
                await subscribe(connection, principal, after: upgrade.query["after"], topics: upgrade.query["topics"],
                                heartbeat: upgrade.query["heartbeat"] == "1", server: server)
            } else {
                carryOut(action, connection, server)
            }
        }
    }

    func received(_ connection: ConnectionID, text: [UInt8], server: WebServer) {
        carryOut(hub.withLock { $0.opening.received(connection, text: text) }, connection, server)
    }

    /// What `FeedOpening` decided (a subscription from the URL is carried out where the URL is).
    private func carryOut(_ action: FeedOpening.Action, _ connection: ConnectionID, _ server: WebServer) {
        switch action {
        case .none, .hold, .subscribeFromURL:
            return
        case .refuse(let code, let reason):
            refuse(connection, server, code, reason)
        case .subscribe(let principal, let text):
            guard let message = try? JSONParser.parse(text), let subscribe = message["subscribe"]?.objectValue else {
                refuse(connection, server, CloseCode.unsupportedData, "expected {\"subscribe\": {\"after\": N, \"topics\": \"…\"}}")
                return
            }
            // `after` as the URL takes it: absent means 0; anything but a non-negative integer is refused
            // (`1e30` or `"x"` once replayed the whole log from 0).
            let after: String
            switch subscribe["after"] {
            case nil, .null?: after = "0"
            case let value?:
                guard let position = value.intValue else {
                    refuse(connection, server, CloseCode.policyViolation, "after must be a non-negative integer")
                    return
                }
                after = String(position)
            }
            let topics: String? = subscribe["topics"]?.stringValue
                ?? subscribe["topics"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",")
            let heartbeat = subscribe["heartbeat"]?.boolValue ?? false
            Task { await self.subscribe(connection, principal, after: after, topics: topics, heartbeat: heartbeat, server: server) }
        }
    }

    func closed(_ connection: ConnectionID) {
        logger.info("websocket closed", metadata: ["connection": "\(connection)"])
        hub.withLock { hub -> Subscriber? in
            hub.opening.closed(connection)
            hub.bearers[connection] = nil
            guard let gone = hub.subscribers.removeValue(forKey: connection) else { return nil }
            if gone.live { hub.index.remove(connection, gone.topics) }
            return gone
        }?.catchUp?.cancel()
    }

    /// Why `principal` may not follow `topics`, if it may not: an agent follows only its own agent,
    /// sessions and batches; every other role follows anything.
    func forbiddenTopic(_ topics: Topics, for principal: Principal) async -> String? {
        guard principal.role == .agent else { return nil }
        guard let agent = principal.agentId, !topics.all, topics.queues.isEmpty else {
            return "an agent's token follows only its own agent:, session: and group: topics"
        }
        if let other = topics.agents.first(where: { $0 != agent.rawValue }) { return "agent:\(other) is not this token's agent" }
        return await projections.read { state in
            if let other = topics.sessions.first(where: { state.sessions[SessionID($0)]?.agentId != agent }) {
                return "session:\(other) is not this agent's"
            }
            if let other = topics.batches.first(where: { state.batches[BatchID($0)]?.agentId != agent }) {
                return "group:\(other) is not this agent's"
            }
            return nil
        }
    }

    /// A socket lasts no longer than its token: at `expiresAt` it is closed 4001, as on revocation.
    func closeAtExpiry(_ connection: ConnectionID, _ token: TokenID, _ expiresAt: Timestamp, server: WebServer) {
        let delay = max(0, expiresAt.milliseconds(since: authenticator.clock.now))
        Task { [self] in
            try? await Task.sleep(for: .milliseconds(delay))
            guard hub.withLock({ $0.bearers[connection] == token }) else { return }  // closed before it expired
            refuse(connection, server, Refusal.unauthorized, "the token expired")
        }
    }

    /// Closes every socket opened with `token` (it was revoked).
    func closeSockets(of token: TokenID, server: WebServer) {
        let connections = hub.withLock { hub in hub.bearers.filter { $0.value == token }.map(\.key) }
        for connection in connections { refuse(connection, server, Refusal.unauthorized, "the token was revoked") }
    }
}
