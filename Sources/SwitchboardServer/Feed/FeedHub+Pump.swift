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

/// The shared pump: each commit the projections fold goes out once to the live subscribers it concerns.
extension FeedHub {
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
    func deliver(_ live: LiveCommit) {
        let (commit, view) = (live.commit, live.view)
        guard let last = commit.last else { return }
        for case .tokenRevoked(let revoked) in live.events {
            if let server = hub.withLock({ $0.server }) { closeSockets(of: revoked.tokenId, server: server) }
        }
        let keys = Set(view.subjects.compactMap { $0 }.flatMap(TopicKey.keys(of:)))
        let (walls, others, server) = hub.withLock { hub -> ([ConnectionID], [(ConnectionID, Topics)], WebServer?) in
            hub.delivered = last.position
            hub.recent.append(RecentCommits.Commit(events: commit, view: view))
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
            server.send(connections, texts: share.map(message), stateTopics: share.map(view.stateTopic))
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
