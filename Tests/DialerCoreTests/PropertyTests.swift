import DialerCore
import SwitchboardJSON
import Testing
import SwitchboardBasics

typealias SeededRandom = SplitMix64

/// Random commands a carrier, an agent and a supervisor could send in any order.
enum RandomWalk {
    static func command(in state: DialerState, using rng: inout SeededRandom, sessions: [SessionID]) -> Command {
        let session = sessions.randomElement(using: &rng) ?? "s"
        let liveGroups = state.groups.values.filter { !$0.isEnded }.sorted { $0.id < $1.id }
        guard let group = liveGroups.randomElement(using: &rng), Int.random(in: 0..<10, using: &rng) > 0,
            let call = group.calls.randomElement(using: &rng)
        else {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: return .resumeQueue(queueId: "q", sessionId: session)
            case 1: return .changeMode(sessionId: session, mode: Bool.random(using: &rng) ? .single : .parallel)
            case 2: return .changeSettings(sessionId: session, patch: SettingsPatch(maxLines: Int.random(in: 1...6, using: &rng)))
            default:
                return .startBatch(sessionId: session, groupId: GroupID("g\(state.groups.count + 1)-\(rng.next() % 1000)"))
            }
        }
        let answeredBy = AnsweredBy.allCases.randomElement(using: &rng) ?? .human
        switch Int.random(in: 0..<20, using: &rng) {
        case 0...3: return .placeCall(groupId: group.id, callId: call.id)
        case 4...5: return .recordRinging(groupId: group.id, callId: call.id)
        case 6...10: return .recordAnswer(groupId: group.id, callId: call.id, answeredBy: answeredBy)
        case 11...12: return .recordNoAnswer(groupId: group.id, callId: call.id, cause: .timeout)
        case 13: return .recordFailure(groupId: group.id, callId: call.id, reason: "network")
        case 14: return .recordHangup(groupId: group.id, callId: call.id)
        case 15: return .hangUp(sessionId: group.sessionId)
        case 16: return .endLosingCalls(groupId: group.id)
        case 17: return .cancelBatch(groupId: group.id)
        default: return .recordAnswer(groupId: group.id, callId: call.id, answeredBy: .human)
        }
    }

    /// Runs `steps` random commands from a fresh queue; returns the final state and every event with its time.
    static func run(seed: UInt64, steps: Int) -> (state: DialerState, log: [(DialerEvent, Timestamp)]) {
        var rng = SeededRandom(seed: seed)
        var given = Given(Fixture.queueCreated(maxAttempts: 3, contacts: Fixture.contacts(12))
                          + [Fixture.sessionStarted("s", agent: "a1"), Fixture.sessionStarted("s2", agent: "a2", profile: .fixed(.conservative))])
        var log: [(DialerEvent, Timestamp)] = Fixture.queueCreated(maxAttempts: 3, contacts: Fixture.contacts(12)).map { ($0, given.time) }
            + [(Fixture.sessionStarted("s", agent: "a1"), given.time),
               (Fixture.sessionStarted("s2", agent: "a2", profile: .fixed(.conservative)), given.time)]
        for _ in 0..<steps {
            given.advance(Int64.random(in: 0...700, using: &rng))
            let command = command(in: given.state, using: &rng, sessions: ["s", "s2"])
            guard let events = try? given.when(command) else { continue }
            log += events.map { ($0, given.time) }
            // The engine's reaction to a winner: end the losers at once (sometimes a little later).
            if Bool.random(using: &rng) {
                for followUp in DialerPolicy.followUps(after: events) {
                    if let more = try? given.when(followUp) { log += more.map { ($0, given.time) } }
                }
            }
        }
        return (given.state, log)
    }
}

@Suite("Properties")
struct PropertyTests {
    @Test(arguments: 0..<60)
    func randomInterleavingsNeverYieldTwoWinners(seed: Int) {
        let (state, log) = RandomWalk.run(seed: UInt64(seed), steps: 400)
        var winners: [GroupID: [CallID]] = [:]
        var ended: Set<CallID> = []
        for (event, _) in log {
            switch event {
            case .callConnected(let e): winners[e.groupId, default: []].append(e.callId)
            case .callTerminated(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callVoicemail(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callNoAnswer(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callFailed(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callCompleted(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            default: break
            }
        }
        for (group, calls) in winners { #expect(calls.count == 1, "group \(group) had winners \(calls) (seed \(seed))") }
        for group in state.groups.values {
            #expect(group.calls.count { $0.outcome == .winner } <= 1)
            // A group has ended exactly when every call has ended.
            #expect(group.isEnded == group.calls.allSatisfy { !$0.isLive }, "group \(group.id), seed \(seed)")
            #expect(group.calls.count >= 1 && group.calls.count <= 5)
        }
        // A contact is never in two live calls at once.
        let liveContacts = state.groups.values.flatMap { $0.liveCalls.map(\.contactId) }
        #expect(Set(liveContacts).count == liveContacts.count)
        #expect(!log.isEmpty)
    }

    @Test(arguments: 0..<20)
    func replayIsDeterministicAndMatchesTheIncrementalState(seed: Int) throws {
        let (state, log) = RandomWalk.run(seed: UInt64(seed) &+ 1000, steps: 300)
        // Replaying the log from scratch, through the stored wire format, gives the same state.
        var replayed = DialerState()
        for (offset, (event, time)) in log.enumerated() {
            let decoded = try DialerEvent(type: event.type.rawValue, version: event.type.version, data: event.encodedData)
            #expect(decoded == event)
            replayed.apply(decoded, position: Int64(offset + 1), at: time)
        }
        #expect(replayed == state)
        // And again: the same log always folds to the same state.
        var again = DialerState()
        for (offset, (event, time)) in log.enumerated() { again.apply(event, position: Int64(offset + 1), at: time) }
        #expect(again == replayed)
    }

    @Test(arguments: 0..<20)
    func decidingAgainAfterACancelOrWinnerTakeAllChangesNothing(seed: Int) {
        let (state, _) = RandomWalk.run(seed: UInt64(seed) &+ 5000, steps: 200)
        for group in state.groups.values {
            if group.isEnded {
                #expect((try? state.decide(.cancelBatch(groupId: group.id))) == [])
            }
            if group.winner != nil, group.liveCalls.allSatisfy({ $0.id == group.winner }) {
                #expect((try? state.decide(.endLosingCalls(groupId: group.id))) == [])
            }
        }
    }
}

@Suite("Wire format")
struct WireFormatTests {
    @Test func everyEventTypeRoundTripsThroughItsStoredForm() throws {
        let (_, log) = RandomWalk.run(seed: 42, steps: 2000)
        var seen = Set<EventType>()
        for (event, _) in log {
            seen.insert(event.type)
            let stored = event.encodedData
            #expect(try DialerEvent(type: event.type.rawValue, version: 1, data: stored) == event)
            #expect(event.stream.hasPrefix("queue-") || event.stream.hasPrefix("session-") || event.stream.hasPrefix("group-"))
        }
        #expect(seen.count >= 15, "the random walk should reach most event types, reached \(seen.count)")
    }

    @Test func unknownTypesAndVersionsAreErrorsNotSkips() {
        #expect(throws: JSONError.self) { try DialerEvent(type: "call.teleported", version: 1, data: Array("{}".utf8)) }
        #expect(throws: JSONError.self) { try DialerEvent(type: "call.ringing", version: 2, data: Array(#"{"groupId":"g","callId":"c"}"#.utf8)) }
        #expect(throws: JSONError.self) { try DialerEvent(type: "call.ringing", version: 1, data: Array(#"{"groupId":"g"}"#.utf8)) }
        #expect(throws: JSONError.self) { try DialerEvent(type: "call.answered", version: 1, data: Array(#"{"groupId":"g","callId":"c","answeredBy":"robot"}"#.utf8)) }
    }
}
