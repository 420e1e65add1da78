import DialerCore
import Foundation
import EventStore
import SwitchboardBasics
@testable import SwitchboardServer
import Testing

/// The pump's recent commits: a subscriber behind by less than they hold is served from them, from
/// the first commit it has not had all of; one further back is sent to the store.
@Suite("Recent commits for catching up")
struct RecentCommitsTests {
    /// A commit of the events `positions` (the view: what the feed would have made of them).
    static func commit(_ positions: ClosedRange<Int64>) -> RecentCommits.Commit {
        var state = DialerState()
        state.position = positions.upperBound
        let events = positions.map {
            RecordedEvent(position: $0, stream: "organisation", streamVersion: $0, id: UUID(), type: "token.issued", version: 1,
                          time: Timestamp(millisecondsSinceEpoch: 0), correlationId: nil, data: Array("{}".utf8), hash: [])
        }
        return RecentCommits.Commit(events: events, view: CommitView(events.map { _ -> DialerEvent? in nil }, in: state))
    }

    @Test func aSubscriberIsServedFromTheFirstCommitItHasNotHadAllOf() throws {
        var recent = RecentCommits(maxEvents: 100)
        #expect(recent.after(0, limit: 10) == nil, "nothing kept yet: the store")
        for start in stride(from: Int64(11), through: 51, by: 10) { recent.append(Self.commit(start...(start + 9))) }
        #expect(recent.start == 10 && recent.events == 50)
        #expect(recent.after(9, limit: 10) == nil, "before what is kept: the store")
        #expect(try #require(recent.after(10, limit: 10)).map(\.last) == [20])
        // Inside a commit (a client resuming mid-commit): that whole commit, and more up to the limit.
        #expect(try #require(recent.after(25, limit: 15)).map(\.last) == [30, 40])
        #expect(try #require(recent.after(60, limit: 10)).isEmpty, "caught up")
    }

    @Test func theOldestCommitsLeaveOnceMoreThanTheLimitIsKept() throws {
        var recent = RecentCommits(maxEvents: 25)
        for start in stride(from: Int64(1), through: 41, by: 10) { recent.append(Self.commit(start...(start + 9))) }
        #expect(recent.events == 20 && recent.start == 30)
        #expect(recent.after(29, limit: 100) == nil)
        #expect(try #require(recent.after(30, limit: 100)).map(\.last) == [40, 50])
        // One commit bigger than the limit is still kept whole: the newest is never dropped.
        recent.append(Self.commit(51...90))
        #expect(recent.events == 40 && recent.start == 50)
    }
}
