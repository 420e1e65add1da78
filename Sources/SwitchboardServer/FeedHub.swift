import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardApp
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
    private let hub = Mutex(Hub())
    /// Sockets waiting for their first `{"subscribe": …}` message (no `after`/`topics` in the URL).
    private let waiting = Mutex<Set<ConnectionID>>([])
    private let pump = Mutex<Task<Void, Never>?>(nil)

    struct Subscriber {
        var topics: Topics
        var server: WebServer
        var catchUp: Task<Void, Never>?
        var live = false
    }

    struct Hub {
        var subscribers: [ConnectionID: Subscriber] = [:]
        /// The last position the pump has handed to live subscribers.
        var delivered: Int64 = 0
    }

    let logger: Logger

    init(store: any EventStore, projections: ProjectionHost, logger: Logger) {
        self.store = store
        self.projections = projections
        self.logger = logger
    }

    /// Starts the shared pump at the log's current head.
    func start(after head: Int64) {
        hub.withLock { $0.delivered = head }
        let task = Task { [self] in
            do {
                for try await event in store.subscribe(after: head) { await deliver(event) }
            } catch is CancellationError {
            } catch {
                logger.error("feed stopped following the log", metadata: ["error": "\(error)"])
            }
        }
        pump.withLock { $0 = task }
    }

    func stop() { pump.withLock { $0 }?.cancel() }

    /// Closes a socket the feed cannot serve, with a close code and a reason the client can show.
    private func refuse(_ connection: ConnectionID, _ server: WebServer, _ code: UInt16, _ reason: String) {
        logger.info("websocket refused", metadata: ["connection": "\(connection)", "code": "\(code)", "reason": "\(reason)"])
        server.close(connection, code: code, reason: reason)
    }

    func open(_ connection: ConnectionID, query: [String: String], server: WebServer) {
        logger.info("websocket open", metadata: ["connection": "\(connection)", "topics": "\(query["topics"] ?? "-")"])
        if query["after"] == nil, query["topics"] == nil {
            waiting.withLock { _ = $0.insert(connection) }
            return
        }
        subscribe(connection, after: query["after"], topics: query["topics"], server: server)
    }

    func received(_ connection: ConnectionID, text: [UInt8], server: WebServer) {
        guard waiting.withLock({ $0.remove(connection) }) != nil else {
            refuse(connection, server, CloseCode.policyViolation, "already subscribed")
            return
        }
        guard let message = try? JSONParser.parse(text), let subscribe = message["subscribe"]?.objectValue else {
            refuse(connection, server, CloseCode.unsupportedData, "expected {\"subscribe\": {\"after\": N, \"topics\": \"…\"}}")
            return
        }
        let after = subscribe["after"]?.intValue.map(String.init)
        let topics: String? = subscribe["topics"]?.stringValue
            ?? subscribe["topics"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",")
        self.subscribe(connection, after: after ?? "0", topics: topics, server: server)
    }

    func closed(_ connection: ConnectionID) {
        logger.info("websocket closed", metadata: ["connection": "\(connection)"])
        waiting.withLock { _ = $0.remove(connection) }
        hub.withLock { $0.subscribers.removeValue(forKey: connection) }?.catchUp?.cancel()
    }

    private func subscribe(_ connection: ConnectionID, after: String?, topics: String?, server: WebServer) {
        guard let position = Int64(after ?? "0"), position >= 0 else {
            refuse(connection, server, CloseCode.policyViolation, "after must be a non-negative integer")
            return
        }
        guard let topics = topics.map(Topics.init) ?? Topics() else {
            refuse(connection, server, CloseCode.policyViolation, "topics: all, queue:<id>, session:<id>, group:<id>, agent:<id>")
            return
        }
        hub.withLock { $0.subscribers[connection] = Subscriber(topics: topics, server: server) }
        let task = Task { [self] in await catchUp(connection, after: position, topics: topics, server: server) }
        hub.withLock { hub in
            if hub.subscribers[connection]?.live == false { hub.subscribers[connection]?.catchUp = task }
        }
    }

    /// Reads the log from `after` until the subscriber has everything the pump delivered, then joins it.
    private func catchUp(_ connection: ConnectionID, after: Int64, topics: Topics, server: WebServer) async {
        var last = after
        while !Task.isCancelled {
            let joined = hub.withLock { hub -> Bool in
                guard last >= hub.delivered else { return false }
                hub.subscribers[connection]?.live = true
                hub.subscribers[connection]?.catchUp = nil  // done: no need to keep the task to cancel
                return true
            }
            if joined { return }
            guard let page = try? await store.readAll(after: last, limit: 256), !page.isEmpty else {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            for event in page {
                do {
                    try await projections.waitUntil(event.position)
                } catch {
                    refuse(connection, server, CloseCode.internalError, "the projections stopped following the log")
                    return
                }
                let state = await projections.state
                if let typed = try? EventCodec.decode(event), topics.matches(state.subject(of: typed)) {
                    server.send(connection, text: Self.eventMessage(event))
                    for changed in ChangedProjection.all(for: typed, in: state) where changed.isFollowed(by: topics) {
                        server.send(connection, text: Self.stateMessage(changed.topic, changed.snapshot, position: state.position))
                    }
                }
                last = event.position
            }
        }
    }

    /// The pump: one live event, encoded once, to every live subscriber it concerns.
    private func deliver(_ event: RecordedEvent) async {
        guard let typed = try? EventCodec.decode(event) else {
            hub.withLock { $0.delivered = event.position }
            return
        }
        guard (try? await projections.waitUntil(event.position)) != nil else { return }  // /healthz says why
        let state = await projections.state
        let recipients = hub.withLock { hub -> [(ConnectionID, Subscriber)] in
            hub.delivered = event.position
            return hub.subscribers.filter { $0.value.live }.map { ($0.key, $0.value) }
        }
        guard !recipients.isEmpty else { return }
        // Group the recipients by the messages they get, so each message is made and posted once.
        guard let server = recipients.first?.1.server else { return }
        let changed = ChangedProjection.all(for: typed, in: state)
        let subject = state.subject(of: typed)
        var eventRecipients: [ConnectionID] = []
        var stateRecipients = Array(repeating: [ConnectionID](), count: changed.count)
        for (connection, subscriber) in recipients where subscriber.topics.matches(subject) {
            eventRecipients.append(connection)
            for (index, projection) in changed.enumerated() where projection.isFollowed(by: subscriber.topics) {
                stateRecipients[index].append(connection)
            }
        }
        server.send(eventRecipients, text: Self.eventMessage(event))
        for (projection, connections) in zip(changed, stateRecipients) where !connections.isEmpty {
            server.send(connections, text: Self.stateMessage(projection.topic, projection.snapshot, position: state.position))
        }
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
