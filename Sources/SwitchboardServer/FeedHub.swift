import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import SwitchboardApp
import SwitchboardJSON
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

    /// Whether `event` concerns a subscribed topic, looked up in `state` (which knows each group's
    /// session, queue and agent).
    func matches(_ event: RecordedEvent, data: JSONValue, state: DialerState) -> Bool {
        if all { return true }
        let groupId = data["groupId"]?.stringValue
        let group = groupId.flatMap { state.groups[GroupID($0)] }
        if let groupId, groups.contains(groupId) { return true }
        let sessionId = data["sessionId"]?.stringValue ?? group?.sessionId.rawValue ?? event.correlationId
        if let sessionId, sessions.contains(sessionId) { return true }
        let queueId = data["queueId"]?.stringValue ?? group?.queueId.rawValue
            ?? sessionId.flatMap { state.sessions[SessionID($0)]?.queueId.rawValue }
        if let queueId, queues.contains(queueId) { return true }
        let agentId = data["agentId"]?.stringValue ?? group?.agentId.rawValue
            ?? sessionId.flatMap { state.sessions[SessionID($0)]?.agentId.rawValue }
        if let agentId, agents.contains(agentId) { return true }
        return false
    }
}

/// The live feed: each WebSocket gets the stored events after its `after` position that match its
/// topics, in log order, then live ones — no gap, no duplicate (a catch-up subscription per socket) —
/// and a `state` message with the projection after each change of a subscribed group or session.
final class FeedHub: Sendable {
    let store: any EventStore
    let projections: ProjectionHost
    private let tasks = Mutex<[ConnectionID: Task<Void, Never>]>([:])
    /// Sockets waiting for their first `{"subscribe": …}` message (no `after`/`topics` in the URL).
    private let waiting = Mutex<Set<ConnectionID>>([])

    init(store: any EventStore, projections: ProjectionHost) {
        self.store = store
        self.projections = projections
    }

    func open(_ connection: ConnectionID, query: [String: String], server: WebServer) {
        if query["after"] == nil, query["topics"] == nil {
            waiting.withLock { _ = $0.insert(connection) }
            return
        }
        start(connection, after: query["after"], topics: query["topics"], server: server)
    }

    func received(_ connection: ConnectionID, text: [UInt8], server: WebServer) {
        guard waiting.withLock({ $0.remove(connection) }) != nil else {
            server.close(connection, code: CloseCode.policyViolation, reason: "already subscribed")
            return
        }
        guard let message = try? JSONParser.parse(text), let subscribe = message["subscribe"]?.objectValue else {
            server.close(connection, code: CloseCode.unsupportedData, reason: "expected {\"subscribe\": {\"after\": N, \"topics\": \"…\"}}")
            return
        }
        let after = subscribe["after"]?.intValue.map(String.init)
        let topics: String? = subscribe["topics"]?.stringValue
            ?? subscribe["topics"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",")
        start(connection, after: after ?? "0", topics: topics, server: server)
    }

    func closed(_ connection: ConnectionID) {
        waiting.withLock { _ = $0.remove(connection) }
        tasks.withLock { $0.removeValue(forKey: connection) }?.cancel()
    }

    private func start(_ connection: ConnectionID, after: String?, topics: String?, server: WebServer) {
        guard let position = Int64(after ?? "0"), position >= 0 else {
            server.close(connection, code: CloseCode.policyViolation, reason: "after must be a non-negative integer")
            return
        }
        guard let topics = topics.map(Topics.init) ?? Topics() else {
            server.close(connection, code: CloseCode.policyViolation, reason: "topics: all, queue:<id>, session:<id>, group:<id>, agent:<id>")
            return
        }
        let store = store
        let projections = projections
        let task = Task {
            do {
                for try await event in store.subscribe(after: position) {
                    guard let data = try? JSONParser.parse(event.data) else { continue }
                    await projections.waitUntil(event.position)
                    let state = await projections.state
                    guard topics.matches(event, data: data, state: state) else { continue }
                    var message: [UInt8] = Array(#"{"type":"event","position":\#(event.position),"event":"#.utf8)
                    message += event.envelopeJSON
                    message.append(UInt8(ascii: "}"))
                    server.send(connection, text: message)
                    for (topic, snapshot) in Self.states(for: data, topics: topics, state: state) {
                        server.send(connection, text: JSONWriter.encode([
                            "type": "state", "topic": .string(topic), "position": .int(state.position), "state": snapshot,
                        ]))
                    }
                }
            } catch {}
        }
        tasks.withLock { $0[connection] = task }
    }

    /// The projections a subscriber follows that this event changed.
    static func states(for data: JSONValue, topics: Topics, state: DialerState) -> [(String, JSONValue)] {
        var result: [(String, JSONValue)] = []
        if let groupId = data["groupId"]?.stringValue, let group = state.groups[GroupID(groupId)],
            topics.all || topics.groups.contains(groupId) || topics.sessions.contains(group.sessionId.rawValue)
                || topics.queues.contains(group.queueId.rawValue) || topics.agents.contains(group.agentId.rawValue)
        {
            result.append(("group:\(groupId)", group.summary))
        }
        if let sessionId = data["sessionId"]?.stringValue, let session = state.sessions[SessionID(sessionId)],
            topics.all || topics.sessions.contains(sessionId) || topics.agents.contains(session.agentId.rawValue)
        {
            result.append(("session:\(sessionId)", session.summary))
        }
        return result
    }
}
