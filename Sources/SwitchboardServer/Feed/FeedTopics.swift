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
import WebTransport

/// What a feed subscriber asked to see.
struct Topics: Sendable {
    var all = false
    var queues: Set<String> = []
    var sessions: Set<String> = []
    var batches: Set<String> = []
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
            case "group": batches.insert(parts[1])
            case "agent": agents.insert(parts[1])
            default: return nil
            }
        }
    }

    init() { all = true }

    /// The index keys this subscription is found under (none for `all`: those are kept apart).
    var keys: [TopicKey] {
        batches.map(TopicKey.group) + sessions.map(TopicKey.session) + queues.map(TopicKey.queue) + agents.map(TopicKey.agent)
    }

    /// Whether an event with this subject (completed from the projections) concerns a subscribed topic.
    func matches(_ subject: EventSubject) -> Bool {
        if all { return true }
        if let id = subject.batchId, batches.contains(id.rawValue) { return true }
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
        if let id = subject.batchId { keys.append(.group(id.rawValue)) }
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
