import DialerCore
import EventStore
import Foundation
import SwitchboardApp
import SwitchboardBasics
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

@Suite("Audit: the past from the log alone", .timeLimit(.minutes(1)))
struct AuditTests {
    /// A random log: two queues, two sessions each, random but valid traffic through the write path.
    func randomLog(seed: UInt64) async throws -> (TemporaryStore, [RecordedEvent]) {
        let temp = try TemporaryStore()
        let handler = try await CommandHandler(store: temp.store, ids: SeededEventIDs(seed: seed))
        try await Traffic.run(handler, seed: seed, steps: 120)
        try await Traffic.run(handler, seed: seed &+ 1, steps: 120)
        var log: [RecordedEvent] = []
        for try await event in temp.store.events() { log.append(event) }
        return (temp, log)
    }

    @Test(arguments: 0..<3)
    func aSessionsStateAtEveryPositionEqualsTheFoldOfThePrefix(seed: Int) async throws {
        let (temp, log) = try await randomLog(seed: UInt64(seed) &+ 40)
        let audit = Audit(store: temp.store)
        var prefix = DialerState()
        let sessions = Set(log.compactMap(\.correlationId)).map(SessionID.init).sorted()
        #expect(sessions.count == 4)
        for event in log {
            try prefix.apply(event)
            for session in sessions where event.position % 7 == 0 || event.correlationId == session.rawValue {
                let past = try await audit.sessionState(session, at: event.position)
                #expect(past.sessions[session] == prefix.sessions[session], "session \(session) at \(event.position)")
                for group in prefix.groups.values where group.sessionId == session {
                    #expect(past.groups[group.id]?.calls == group.calls && past.groups[group.id]?.winner == group.winner,
                            "group \(group.id) at \(event.position)")
                }
            }
        }
        #expect(try await audit.state(at: log.count / 2 > 0 ? Int64(log.count / 2) : 0)
                == log.prefix(log.count / 2).reduce(into: DialerState()) { state, event in try? state.apply(event) })
    }

    @Test func aTimelineHoldsExactlyTheSessionsEventsInOrderAcrossPages() async throws {
        let (temp, log) = try await randomLog(seed: 77)
        let audit = Audit(store: temp.store)
        var state = DialerState()
        for event in log { try state.apply(event) }
        for session in state.sessions.values {
            let started = try #require(log.first { $0.type == "session.started" && $0.correlationId == session.id.rawValue })
            let ended = log.first { $0.type == "session.ended" && $0.correlationId == session.id.rawValue }?.position ?? Int64.max
            let expected = log.filter { event in
                event.correlationId == session.id.rawValue
                    || (event.stream == "queue-\(session.queueId)" && event.position >= started.position && event.position <= ended)
            }.map(\.position)
            var pages: [Int64] = []
            var after: Int64 = 0
            while true {
                let page = try await audit.timeline(of: session.id, after: after, limit: 7)
                guard let last = page.last else { break }
                pages += page.map(\.position)
                after = last.position
            }
            #expect(pages == expected, "timeline of \(session.id)")
        }
    }
}
