import CoreMetrics
import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardApp
import SwitchboardBasics
import SwitchboardJSON
import Logging
import WebTransport

/// What a feed subscriber asked to see.
struct Topics: Sendable {
    var all = false
    var queues: Set<String> = []
    var sessions: Set<String> = []
    var groups: Set<String> = []
    var agents: Set<String> = []

    /// Parses `all,queue:<id>,session:<id>,group:<id>,agent:<id>`.
    init?(_ text: String) {
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            if item == "all" { all = true; continue }
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else { return nil }
            switch parts[0] {
            case "queue": queues.insert(parts[1])
            case "session": sessions.insert(parts[1])
            case "group": groups.insert(parts[1])
            case "agent": agents.insert(parts[1])
            default: return nil
            }
        }
    }

    init() { all = true }

    /// The index keys this subscription is found under (none for `all`: those are kept apart).
    var keys: [TopicKey] {
        groups.map(TopicKey.group) + sessions.map(TopicKey.session) + queues.map(TopicKey.queue) + agents.map(TopicKey.agent)
    }

    /// Whether an event with this subject (completed from the projections) concerns a subscribed topic.
    func matches(_ subject: EventSubject) -> Bool {
        if all { return true }
        if let id = subject.groupId, groups.contains(id.rawValue) { return true }
        if let id = subject.sessionId, sessions.contains(id.rawValue) { return true }
        if let id = subject.queueId, queues.contains(id.rawValue) { return true }
        if let id = subject.agentId, agents.contains(id.rawValue) { return true }
        return false
    }
}

/// One topic a subscriber follows, as the index files it.
enum TopicKey: Hashable {
    case group(String), session(String), queue(String), agent(String)

    /// Every key an event with this subject is found under.
    static func keys(of subject: EventSubject) -> [TopicKey] {
        var keys: [TopicKey] = []
        if let id = subject.groupId { keys.append(.group(id.rawValue)) }
        if let id = subject.sessionId { keys.append(.session(id.rawValue)) }
        if let id = subject.queueId { keys.append(.queue(id.rawValue)) }
        if let id = subject.agentId { keys.append(.agent(id.rawValue)) }
        return keys
    }
}

/// Live subscribers by what they follow, so an event finds its few subscribers without looking at
/// every socket: walls (`all`) in one set, the others under each topic they named.
struct TopicIndex {
    private(set) var all: Set<ConnectionID> = []
    private var byKey: [TopicKey: Set<ConnectionID>] = [:]

    mutating func add(_ connection: ConnectionID, _ topics: Topics) {
        if topics.all { all.insert(connection) }
        for key in topics.keys { byKey[key, default: []].insert(connection) }
    }

    mutating func remove(_ connection: ConnectionID, _ topics: Topics) {
        all.remove(connection)
        for key in topics.keys {
            byKey[key]?.remove(connection)
            if byKey[key]?.isEmpty == true { byKey[key] = nil }
        }
    }

    /// Subscribers of any of `keys`, besides the walls.
    func followers(of keys: some Sequence<TopicKey>) -> Set<ConnectionID> {
        var found: Set<ConnectionID> = []
        for key in keys { if let connections = byKey[key] { found.formUnion(connections) } }
        return found.subtracting(all)
    }
}

/// The live feed: each WebSocket gets the stored events after its `after` position that match its
/// topics, in log order, then live ones — no gap, no duplicate — and a `state` message with the
/// projection after each change of a subscribed group or session.
///
/// A new subscriber catches up on its own from the log; once it has reached what the shared pump
/// last delivered, it joins the pump, which encodes each live event (and each state) once and hands
/// the same bytes to every matching subscriber. The hand-over happens under one lock, so nothing is
/// skipped or sent twice.
final class FeedHub: Sendable {
    let store: any EventStore
    let projections: ProjectionHost
    let authenticator: Authenticator
    private let hub = Mutex(Hub())
    /// Sockets not subscribed yet: being authenticated (with the first message, if it came early), or
    /// waiting for their first `{"subscribe": …}` message (no `after`/`topics` in the URL).
    private let opening = Mutex<[ConnectionID: Opening]>([:])
    private let pump = Mutex<(task: Task<Void, Never>, commits: AsyncStream<LiveCommit>.Continuation)?>(nil)
    /// Whose token each open socket came with (a revoked token closes its sockets).
    private let bearers = Mutex<[ConnectionID: TokenID]>([:])
    private let pageSlots = PageSlots()
    /// The server the sockets are on (known from the first socket).
    private let knownServer = Mutex<WebServer?>(nil)
    private let heartbeatTask = Mutex<Task<Void, Never>?>(nil)
    /// How often a caught-up socket hears from the server when nothing happens: a page tells a quiet
    /// feed from a dead one by it ("updated N s ago" is the last contact, not the last event).
    static let heartbeatEvery: Duration = .seconds(5)

    enum Opening {
        case authenticating(early: [UInt8]?)
        case waiting(Principal)
    }

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

    struct Hub {
        var subscribers: [ConnectionID: Subscriber] = [:]
        /// The live ones (caught up: the pump's), by topic.
        var index = TopicIndex()
        /// The last position the pump has handed to live subscribers.
        var delivered: Int64 = 0
        var stopped = false
    }

    let logger: Logger

    /// From a commit folded by the projections to its messages handed to the transport.
    let deliveryLag: CoreMetrics.Timer

    init(store: any EventStore, projections: ProjectionHost, authenticator: Authenticator, hopelessAfter: Duration,
         measurements: Measurements = .none, logger: Logger) {
        self.hopelessAfter = hopelessAfter
        deliveryLag = measurements.timer(Measurements.Name.feedDeliveryLagSeconds)
        self.store = store
        self.projections = projections
        self.authenticator = authenticator
        self.logger = logger
    }

    /// Starts the shared pump where the projections are: from then on, each commit they fold comes
    /// here with what the feed needs of their state (`CommitView`, made as they fold it), and goes out.
    ///
    /// (Tried: the projections sending to the sockets themselves, inside their actor. It made the
    /// 1 000-agent floor — 260 events/s — seconds late: the feed's work queued behind every read of
    /// the projections. Only the view is made there; the rest happens on the pump.)
    func start() async {
        // Unbounded: every commit must reach the pump, which only queues writes (never waits on a socket).
        let (commits, continuation) = AsyncStream<LiveCommit>.makeStream()
        let head = await projections.observeCommits { commit, events, state in
            continuation.yield(LiveCommit(commit: commit, events: events, view: CommitView(events.map(Optional.some), in: state),
                                          folded: .now))
        }
        hub.withLock { $0.delivered = head }
        let task = Task { [self] in
            for await commit in commits { deliver(commit) }
        }
        pump.withLock { $0 = (task, continuation) }
        let beats = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.heartbeatEvery)
                heartbeat()
            }
        }
        heartbeatTask.withLock { $0 = beats }
    }

    /// `{"type":"heartbeat","position":N,"everyMs":5000}` to every caught-up socket that asked: the position
    /// the pump has delivered, and when to expect the next one.
    private func heartbeat() {
        let (live, position) = hub.withLock { hub in
            (hub.stopped ? [] : hub.subscribers.filter { $0.value.live && $0.value.heartbeat }.map { ($0.key, $0.value.server) },
             hub.delivered)
        }
        guard let server = live.first?.1 else { return }
        let everyMs = Self.heartbeatEvery.components.seconds * 1000
        server.send(live.map(\.0), texts: [Array(#"{"type":"heartbeat","position":\#(position),"everyMs":\#(everyMs)}"#.utf8)])
    }

    func stop() {
        heartbeatTask.withLock { $0?.cancel() }
        hub.withLock { $0.stopped = true }
        if let (task, commits) = pump.withLock({ $0 }) {
            commits.finish()
            task.cancel()
        }
    }

    /// Closes a socket the feed cannot serve, with a close code and a reason the client can show.
    private func refuse(_ connection: ConnectionID, _ server: WebServer, _ code: UInt16, _ reason: String) {
        logger.info("websocket refused", metadata: ["connection": "\(connection)", "code": "\(code)", "reason": "\(reason)"])
        server.close(connection, code: code, reason: reason)
    }

    /// A new socket: authenticated first (its token in `Authorization` or as `bearer.<token>` in
    /// `Sec-WebSocket-Protocol`), then subscribed from the URL or from its first message.
    func open(_ connection: ConnectionID, upgrade: HTTPRequest, failures: FailedAuthentications, server: WebServer) {
        logger.info("websocket open", metadata: ["connection": "\(connection)", "topics": "\(upgrade.query["topics"] ?? "-")"])
        opening.withLock { $0[connection] = .authenticating(early: nil) }
        knownServer.withLock { $0 = $0 ?? server }
        Task { [self] in
            guard let principal = await authenticator.principal(for: upgrade.headers) else {
                if failures.blockedFor(upgrade.peer) != nil {  // its guesses are shut out, never a valid token
                    return refuseOpening(connection, server, Refusal.tooManyFailures, "too many failed authentications; try again later")
                }
                if Authenticator.token(in: upgrade.headers) != nil { failures.recordFailure(upgrade.peer) }
                return refuseOpening(connection, server, Refusal.unauthorized, "send a valid bearer token")
            }
            bearers.withLock { $0[connection] = principal.tokenId }
            if let expiresAt = principal.expiresAt { closeAtExpiry(connection, principal.tokenId, expiresAt, server: server) }
            let early = opening.withLock { opening -> [UInt8]?? in
                guard case .authenticating(let early)? = opening[connection] else { return .none }  // closed meanwhile
                opening[connection] = .waiting(principal)
                return .some(early)
            }
            guard case .some(let message) = early else { return }
            if let message {
                received(connection, text: message, server: server)
            } else if upgrade.query["after"] != nil || upgrade.query["topics"] != nil {
                opening.withLock { _ = $0.removeValue(forKey: connection) }
                await subscribe(connection, principal, after: upgrade.query["after"], topics: upgrade.query["topics"],
                                heartbeat: upgrade.query["heartbeat"] == "1", server: server)
            }
        }
    }

    private func refuseOpening(_ connection: ConnectionID, _ server: WebServer, _ code: UInt16, _ reason: String) {
        opening.withLock { _ = $0.removeValue(forKey: connection) }
        refuse(connection, server, code, reason)
    }

    func received(_ connection: ConnectionID, text: [UInt8], server: WebServer) {
        enum Next { case hold, refuse, subscribe(Principal) }
        let next = opening.withLock { opening -> Next in
            switch opening[connection] {
            case .authenticating(early: nil)?:
                opening[connection] = .authenticating(early: text)
                return .hold
            case .waiting(let principal)?:
                opening.removeValue(forKey: connection)
                return .subscribe(principal)
            default:
                return .refuse
            }
        }
        switch next {
        case .hold:
            return
        case .refuse:
            refuse(connection, server, CloseCode.policyViolation, "already subscribed")
        case .subscribe(let principal):
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
        opening.withLock { _ = $0.removeValue(forKey: connection) }
        bearers.withLock { _ = $0.removeValue(forKey: connection) }
        hub.withLock { hub -> Subscriber? in
            guard let gone = hub.subscribers.removeValue(forKey: connection) else { return nil }
            if gone.live { hub.index.remove(connection, gone.topics) }
            return gone
        }?.catchUp?.cancel()
    }

    /// Why `principal` may not follow `topics`, if it may not: an agent follows only its own agent,
    /// sessions and batches; every other role follows anything.
    private func forbiddenTopic(_ topics: Topics, for principal: Principal) async -> String? {
        guard principal.role == .agent else { return nil }
        guard let agent = principal.agentId, !topics.all, topics.queues.isEmpty else {
            return "an agent's token follows only its own agent:, session: and group: topics"
        }
        if let other = topics.agents.first(where: { $0 != agent.rawValue }) { return "agent:\(other) is not this token's agent" }
        return await projections.read { state in
            if let other = topics.sessions.first(where: { state.sessions[SessionID($0)]?.agentId != agent }) {
                return "session:\(other) is not this agent's"
            }
            if let other = topics.groups.first(where: { state.groups[GroupID($0)]?.agentId != agent }) {
                return "group:\(other) is not this agent's"
            }
            return nil
        }
    }

    /// A socket lasts no longer than its token: at `expiresAt` it is closed 4001, as on revocation.
    private func closeAtExpiry(_ connection: ConnectionID, _ token: TokenID, _ expiresAt: Timestamp, server: WebServer) {
        let delay = max(0, expiresAt.milliseconds(since: authenticator.clock.now))
        Task { [self] in
            try? await Task.sleep(for: .milliseconds(delay))
            guard bearers.withLock({ $0[connection] == token }) else { return }  // closed before it expired
            refuse(connection, server, Refusal.unauthorized, "the token expired")
        }
    }

    /// Closes every socket opened with `token` (it was revoked).
    private func closeSockets(of token: TokenID, server: WebServer) {
        let connections = bearers.withLock { bearers in bearers.filter { $0.value == token }.map(\.key) }
        for connection in connections { refuse(connection, server, Refusal.unauthorized, "the token was revoked") }
    }

    private func subscribe(_ connection: ConnectionID, _ principal: Principal, after: String?, topics: String?,
                           heartbeat: Bool = false, server: WebServer) async {
        guard let position = Int64(after ?? "0"), position >= 0 else {
            refuse(connection, server, CloseCode.policyViolation, "after must be a non-negative integer")
            return
        }
        guard let topics = topics.map(Topics.init) ?? Topics() else {
            refuse(connection, server, CloseCode.policyViolation, "topics: all, queue:<id>, session:<id>, group:<id>, agent:<id>")
            return
        }
        if let reason = await forbiddenTopic(topics, for: principal) {
            refuse(connection, server, Refusal.forbidden, reason)
            return
        }
        hub.withLock { $0.subscribers[connection] = Subscriber(topics: topics, server: server, heartbeat: heartbeat) }
        let task = Task { [self] in await catchUp(connection, after: position, topics: topics, server: server) }
        hub.withLock { hub in
            if hub.subscribers[connection]?.live == false { hub.subscribers[connection]?.catchUp = task }
        }
    }

    /// What a catching-up socket may have unwritten before its next page is read: about a page.
    static let catchUpWindowBytes = 64 * 1024
    /// A catching-up socket that takes nothing for this long is closed 4008 (it resumes with `after`).
    let hopelessAfter: Duration

    /// Reads the log from `after` until the subscriber has everything the pump delivered, then joins it.
    /// Paced by what the socket takes: the next page is read only once most of the last has gone out,
    /// so a reader that does not read costs a page, not the log (issue 20, D4); and at most
    /// `PageSlots.limit` pages are read at once, whatever the number of new subscribers.
    private func catchUp(_ connection: ConnectionID, after: Int64, topics: Topics, server: WebServer) async {
        server.track(connection)
        defer { server.untrack(connection) }
        var last = after
        while !Task.isCancelled {
            let joined = hub.withLock { hub -> Bool in
                guard last >= hub.delivered, hub.subscribers[connection] != nil else { return false }
                hub.subscribers[connection]?.live = true
                hub.index.add(connection, topics)
                hub.subscribers[connection]?.catchUp = nil  // done: no need to keep the task to cancel
                return true
            }
            if joined { return }
            guard await room(for: connection, server) else { return }  // closed, or given up on
            await pageSlots.acquire()
            let sent = await sendPage(to: connection, after: last, topics: topics, server: server)
            await pageSlots.release()
            switch sent {
            case .sent(let end): last = end
            case .nothingYet: try? await Task.sleep(for: .milliseconds(5))
            case .failed: return
            }
        }
    }

    enum PageSent { case sent(through: Int64), nothingYet, failed }

    /// One page of the log as the pump sends a commit: its events, then each state it changed once.
    private func sendPage(to connection: ConnectionID, after last: Int64, topics: Topics, server: WebServer) async -> PageSent {
        guard let page = try? await store.readAll(after: last, limit: 256), let end = page.last?.position else { return .nothingYet }
        guard (try? await projections.waitUntil(end)) != nil else {
            refuse(connection, server, CloseCode.internalError, "the projections stopped following the log")
            return .failed
        }
        let typed = page.map { try? EventCodec.decode($0) }
        let view = await projections.read { CommitView(typed, in: $0, only: topics) }
        for index in view.share(for: topics) { server.send(connection, text: view.message(index, of: page)) }
        return .sent(through: end)
    }

    /// Waits until the socket has taken most of what it was sent; a socket that takes nothing for
    /// `hopelessAfter` is closed 4008 (its reader reconnects with `after` when it reads again).
    private func room(for connection: ConnectionID, _ server: WebServer) async -> Bool {
        let hopeless = Task {
            try await Task.sleep(for: hopelessAfter)
            server.close(connection, code: CloseCode.slowConsumer, reason: "slow consumer: reconnect with after=<last position>")
        }
        defer { hopeless.cancel() }
        return await server.drained(connection, below: Self.catchUpWindowBytes)
    }

    /// A commit as the projections folded it, with what the feed needs of their state after it.
    struct LiveCommit: Sendable {
        var commit: [RecordedEvent]
        var events: [DialerEvent]
        var view: CommitView
        var folded: ContinuousClock.Instant
    }

    /// The pump: one commit at a time, to the live subscribers it concerns. Each message is encoded
    /// once; a group's or a session's state goes out once per commit (as it is after the commit),
    /// after the commit's events; and each socket gets all of its share of the commit queued
    /// together, so it goes out in one write.
    private func deliver(_ live: LiveCommit) {
        let (commit, view) = (live.commit, live.view)
        guard let last = commit.last else { return }
        for case .tokenRevoked(let revoked) in live.events {
            if let server = knownServer.withLock({ $0 }) { closeSockets(of: revoked.tokenId, server: server) }
        }
        let keys = Set(view.subjects.compactMap { $0 }.flatMap(TopicKey.keys(of:)))
        let (walls, others, server) = hub.withLock { hub -> ([ConnectionID], [(ConnectionID, Topics)], WebServer?) in
            hub.delivered = last.position
            guard !hub.stopped else { return ([], [], nil) }
            let followers = hub.index.followers(of: keys).compactMap { id in hub.subscribers[id].map { (id, $0.topics) } }
            let any = hub.index.all.first.flatMap { hub.subscribers[$0]?.server } ?? followers.first.flatMap { hub.subscribers[$0.0]?.server }
            return (Array(hub.index.all), followers, any)
        }
        guard let server, !walls.isEmpty || !others.isEmpty else { return }
        // Messages by index (the commit's events, then the changed states), each made once, only if
        // someone gets it; sockets that get the same messages share one send.
        var messages: [Int: [UInt8]] = [:]
        func message(_ index: Int) -> [UInt8] {
            if let made = messages[index] { return made }
            let made = view.message(index, of: commit)
            messages[index] = made
            return made
        }
        var byShare: [[Int]: [ConnectionID]] = [:]
        if !walls.isEmpty { byShare[view.everything] = walls }
        for (connection, topics) in others {
            let share = view.share(for: topics)
            if !share.isEmpty { byShare[share, default: []].append(connection) }
        }
        for (share, connections) in byShare.sorted(by: { $0.value.count > $1.value.count }) {
            server.send(connections, texts: share.map(message))
        }
        deliveryLag.recordElapsed(since: live.folded)
    }

    static func eventMessage(_ event: RecordedEvent) -> [UInt8] {
        var message: [UInt8] = Array(#"{"type":"event","position":\#(event.position),"event":"#.utf8)
        message += event.envelopeJSON
        message.append(UInt8(ascii: "}"))
        return message
    }

    static func stateMessage(_ topic: String, _ snapshot: JSONValue, position: Int64) -> [UInt8] {
        JSONWriter.encode(["type": "state", "topic": .string(topic), "position": .int(position), "state": snapshot])
    }
}

/// What a commit (or a catch-up page) is about, read from the projections after it: each event's
/// subject, and the groups and sessions it changed, each once, in the order first changed. Messages
/// are numbered: the events first, then the states.
struct CommitView: Sendable {
    var position: Int64
    var subjects: [EventSubject?]
    var changed: [ChangedProjection]

    /// `only`: one subscriber's topics (a catch-up page) — events it does not follow are left out
    /// here, so the projections are held no longer than its share takes.
    init(_ events: [DialerEvent?], in state: DialerState, only followed: Topics? = nil) {
        position = state.position
        subjects = []
        changed = []
        var topics: Set<String> = []
        for event in events {
            let subject = event.map { state.subject(of: $0) }
            guard let event, let subject, followed.map({ $0.matches(subject) }) ?? true else {
                subjects.append(nil)
                continue
            }
            subjects.append(subject)
            for projection in ChangedProjection.all(for: event, in: state) where topics.insert(projection.topic).inserted {
                changed.append(projection)
            }
        }
    }

    /// Every message: what a wall gets.
    var everything: [Int] { subjects.indices.filter { subjects[$0] != nil } + Array(subjects.count..<(subjects.count + changed.count)) }

    /// The messages a subscriber of `topics` gets.
    func share(for topics: Topics) -> [Int] {
        if topics.all { return everything }
        var share: [Int] = []
        for (index, subject) in subjects.enumerated() where subject.map(topics.matches) == true { share.append(index) }
        for (index, projection) in changed.enumerated() where projection.isFollowed(by: topics) { share.append(subjects.count + index) }
        return share
    }

    func message(_ index: Int, of events: [RecordedEvent]) -> [UInt8] {
        index < events.count
            ? FeedHub.eventMessage(events[index])
            : FeedHub.stateMessage(changed[index - events.count].topic, changed[index - events.count].snapshot, position: position)
    }
}

/// A group or session projection an event changed, and who follows it.
struct ChangedProjection {
    enum Projection {
        case group(Group)
        case session(Session)
    }

    var projection: Projection

    /// The group and the session the event concerns, in that order (the order state messages go out).
    /// A call event names only its batch, but its session changes too (the agent's activity, its dials).
    static func all(for event: DialerEvent, in state: DialerState) -> [ChangedProjection] {
        var result: [ChangedProjection] = []
        let named = state.subject(of: event)
        if let groupId = named.groupId, let group = state.groups[groupId] {
            result.append(ChangedProjection(projection: .group(group)))
        }
        if let sessionId = named.sessionId, let session = state.sessions[sessionId] {
            result.append(ChangedProjection(projection: .session(session)))
        }
        return result
    }

    var topic: String {
        switch projection {
        case .group(let group): "group:\(group.id.rawValue)"
        case .session(let session): "session:\(session.id.rawValue)"
        }
    }

    /// Made once per change, whatever the number of subscribers.
    var snapshot: JSONValue {
        switch projection {
        case .group(let group): group.summary
        case .session(let session): session.summary
        }
    }

    func isFollowed(by topics: Topics) -> Bool {
        if topics.all { return true }
        switch projection {
        case .group(let group):
            return topics.groups.contains(group.id.rawValue) || topics.sessions.contains(group.sessionId.rawValue)
                || topics.queues.contains(group.queueId.rawValue) || topics.agents.contains(group.agentId.rawValue)
        case .session(let session):
            return topics.sessions.contains(session.id.rawValue) || topics.agents.contains(session.agentId.rawValue)
        }
    }
}

/// At most `limit` catch-up pages are read and encoded at once: a thousand new subscribers share the
/// store and the cores with everything else (HTTP, the pump) instead of taking them.
actor PageSlots {
    static let limit = 4
    private var free = PageSlots.limit
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
