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

/// What a commit (or a catch-up page) is about, read from the projections after it: each event's
/// subject, and the batches and sessions it changed, each once, in the order first changed. Messages
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

    /// The topic message `index` is the state of (`nil` for an event): a newer one supersedes it in a
    /// long queue.
    func stateTopic(_ index: Int) -> String? {
        index < subjects.count ? nil : changed[index - subjects.count].topic
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
        case group(Batch)
        case session(Session)
    }

    var projection: Projection

    /// The group and the session the event concerns, in that order (the order state messages go out).
    /// A call event names only its batch, but its session changes too (the agent's activity, its dials).
    static func all(for event: DialerEvent, in state: DialerState) -> [ChangedProjection] {
        var result: [ChangedProjection] = []
        let named = state.subject(of: event)
        if let batchId = named.batchId, let group = state.batches[batchId] {
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
            return topics.batches.contains(group.id.rawValue) || topics.sessions.contains(group.sessionId.rawValue)
                || topics.queues.contains(group.queueId.rawValue) || topics.agents.contains(group.agentId.rawValue)
        case .session(let session):
            return topics.sessions.contains(session.id.rawValue) || topics.agents.contains(session.agentId.rawValue)
        }
    }
}
