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

    /// Reads the log from `after` until the subscriber has everything the pump delivered, then joins it.
    /// Paced by what the socket takes: the next page is read only once most of the last has gone out,
    /// so a reader that does not read costs a page, not the log (issue 20, D4); and at most
    /// `PageSlots.limit` pages are read at once, whatever the number of new subscribers.
    func catchUp(_ connection: ConnectionID, after: Int64, topics: Topics, server: WebServer) async {
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
    func sendPage(to connection: ConnectionID, after last: Int64, topics: Topics, server: WebServer) async -> PageSent {
        guard let page = try? await store.readAll(after: last, limit: 256), let end = page.last?.position else { return .nothingYet }
        guard (try? await projections.waitUntil(end)) != nil else {
            refuse(connection, server, CloseCode.internalError, "the projections stopped following the log")
            return .failed
        }
        let typed = work.measure { page.map { try? EventCodec.decode($0) } }
        let view = await projections.read { [work] state in work.measure { CommitView(typed, in: state, only: topics) } }
        work.measure {
            for index in view.share(for: topics) { server.send(connection, text: view.message(index, of: page)) }
        }
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
