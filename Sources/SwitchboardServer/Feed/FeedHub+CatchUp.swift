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

/// A new subscriber reads the log on its own until it reaches what the pump delivered, then joins it.
extension FeedHub {
    func subscribe(_ connection: ConnectionID, _ principal: Principal, after: String?, topics: String?,
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

    /// Reads the log from `after` until the subscriber has everything the pump delivered, then joins it:
    /// from the pump's recent commits while `after` is among them (memory only), else from the store.
    /// Paced by what the socket takes: the next page is read only once most of the last has gone out,
    /// so a reader that does not read costs a page, not the log (issue 20, D4); and at most
    /// `PageSlots.limit` pages are read from the store at once, whatever the number of new subscribers.
    /// A subscriber more than a page behind is told how far (`behind`), and told again (distance 0)
    /// once it has caught up.
    func catchUp(_ connection: ConnectionID, after: Int64, topics: Topics, server: WebServer) async {
        server.track(connection)
        defer { server.untrack(connection) }
        var last = after
        var toldBehindAt: ContinuousClock.Instant?
        while !Task.isCancelled {
            let (joined, head, recent) = hub.withLock { hub -> (Bool, Int64, [RecentCommits.Commit]?) in
                guard hub.subscribers[connection] != nil else { return (false, hub.delivered, nil) }
                guard last >= hub.delivered else { return (false, hub.delivered, hub.recent.after(last, limit: Self.pageEvents)) }
                hub.subscribers[connection]?.live = true
                hub.index.add(connection, topics)
                hub.subscribers[connection]?.catchUp = nil  // done: no need to keep the task to cancel
                return (true, hub.delivered, nil)
            }
            if joined {
                if toldBehindAt != nil { server.send(connection, text: Self.behindMessage(at: last, head: head)) }
                return
            }
            if head - last > Int64(Self.pageEvents), toldBehindAt.map({ ContinuousClock.now - $0 >= .seconds(1) }) ?? true {
                server.send(connection, text: Self.behindMessage(at: last, head: head))
                toldBehindAt = .now
            }
            guard await room(for: connection, server) else { return }  // closed, or given up on
            if let recent, !recent.isEmpty {
                last = send(recent, to: connection, after: last, topics: topics, server: server)
                continue
            }
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

    /// Events a catch-up page holds.
    static let pageEvents = 256

    /// `{"type":"behind","position":P,"head":H,"distance":D}`: the subscriber has everything up to
    /// `position` of its topics and the log is at `head`; distance 0 once it is live.
    static func behindMessage(at position: Int64, head: Int64) -> [UInt8] {
        let distance = max(0, head - position)
        return Array(#"{"type":"behind","position":\#(position),"head":\#(max(head, position)),"distance":\#(distance)}"#.utf8)
    }

    /// Commits as the pump sends them, in one write: the events after `last` that `topics` follow,
    /// each commit's states after its events. The pump's recent commits (the view live subscribers
    /// had at the time) and a page read from the store both go out here. Answers the position reached.
    @discardableResult
    func send(_ commits: [RecentCommits.Commit], to connection: ConnectionID, after last: Int64, topics: Topics,
              server: WebServer) -> Int64 {
        work.measure {
            var texts: [[UInt8]] = [], stateTopics: [String?] = []
            for commit in commits {
                for index in commit.view.share(for: topics) {
                    // A resume inside a commit: its events up to `last` were had already.
                    if index < commit.events.count, commit.events[index].position <= last { continue }
                    texts.append(commit.view.message(index, of: commit.events))
                    stateTopics.append(commit.view.stateTopic(index))
                }
            }
            server.send([connection], texts: texts, stateTopics: stateTopics)
            return commits.last?.last ?? last
        }
    }

    enum PageSent { case sent(through: Int64), nothingYet, failed }

    /// One page of the log as the pump sends a commit: its events, then each state it changed once.
    func sendPage(to connection: ConnectionID, after last: Int64, topics: Topics, server: WebServer) async -> PageSent {
        guard let page = try? await store.readAll(after: last, limit: Self.pageEvents), let end = page.last?.position else { return .nothingYet }
        guard (try? await projections.waitUntil(end)) != nil else {
            refuse(connection, server, CloseCode.internalError, "the projections stopped following the log")
            return .failed
        }
        let typed = work.measure { page.map { try? EventCodec.decode($0) } }
        let view = await projections.read { [work] state in work.measure { CommitView(typed, in: state, only: topics) } }
        // The projections may be past the page (`view.position`): the page ends at its last event.
        send([RecentCommits.Commit(events: page, view: view)], to: connection, after: last, topics: topics, server: server)
        return .sent(through: end)
    }

    /// Waits until the socket has taken most of what it was sent; a socket that takes nothing for
    /// `hopelessAfter` is closed 4008 (its reader reconnects with `after` when it reads again).
    func room(for connection: ConnectionID, _ server: WebServer) async -> Bool {
        let hopeless = Task {
            try await Task.sleep(for: hopelessAfter)
            server.close(connection, code: CloseCode.slowConsumer, reason: "slow consumer: reconnect with after=<last position>")
        }
        defer { hopeless.cancel() }
        return await server.drained(connection, below: Self.catchUpWindowBytes)
    }
}
