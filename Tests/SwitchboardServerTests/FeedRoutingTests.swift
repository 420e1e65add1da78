import DialerCore
@testable import SwitchboardServer
import Testing

/// How the feed finds an event's subscribers: walls (`all`) apart, the others by the topics they named.
@Suite("Feed routing by topic")
struct FeedRoutingTests {
    func topics(_ text: String) throws -> Topics { try #require(Topics(text)) }

    @Test func anEventFindsTheSubscribersOfItsTopicsAndNoOthers() throws {
        var index = TopicIndex()
        index.add(1, try topics("all"))
        index.add(2, try topics("session:s-1"))
        index.add(3, try topics("session:s-2,agent:a-9"))
        index.add(4, try topics("group:g-1"))
        index.add(5, try topics("queue:q-1"))
        let subject = EventSubject(stream: .group("g-1"), queueId: "q-1", sessionId: "s-1", batchId: "g-1", agentId: "a-1")
        #expect(index.all == [1])
        #expect(index.followers(of: TopicKey.keys(of: subject)) == [2, 4, 5], "walls are kept apart")
        let other = EventSubject(stream: .session("s-2"), sessionId: "s-2", agentId: "a-9")
        #expect(index.followers(of: TopicKey.keys(of: other)) == [3])
        // Every subscriber the index finds is one whose topics match the event (the same rule decides).
        for connection in index.followers(of: TopicKey.keys(of: subject)) {
            let named = [2: "session:s-1", 4: "group:g-1", 5: "queue:q-1"][Int(connection)] ?? ""
            #expect(try topics(named).matches(subject))
        }
        index.remove(2, try topics("session:s-1"))
        index.remove(1, try topics("all"))
        #expect(index.followers(of: TopicKey.keys(of: subject)) == [4, 5] && index.all.isEmpty)
    }
}
