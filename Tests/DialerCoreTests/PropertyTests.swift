import DialerCore
import SwitchboardJSON
import SwitchboardTestSupport
import Testing
import SwitchboardBasics

@Suite("Properties")
struct PropertyTests {
    @Test(arguments: 0..<60)
    func randomInterleavingsNeverYieldTwoWinners(seed: Int) {
        let (state, log) = RandomWalk.run(seed: UInt64(seed), steps: 400)
        var winners: [BatchID: [CallID]] = [:]
        var ended: Set<CallID> = []
        for (event, _) in log {
            switch event {
            case .callConnected(let e): winners[e.batchId, default: []].append(e.callId)
            case .callTerminated(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callVoicemail(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callNoAnswer(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callFailed(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            case .callCompleted(let e): #expect(ended.insert(e.callId).inserted, "call \(e.callId) ended twice")
            default: break
            }
        }
        for (group, calls) in winners { #expect(calls.count == 1, "group \(group) had winners \(calls) (seed \(seed))") }
        for group in state.batches.values {
            #expect(group.calls.count { $0.outcome == .winner } <= 1)
            // A group has ended exactly when every call has ended.
            #expect(group.isEnded == group.calls.allSatisfy { !$0.isLive }, "group \(group.id), seed \(seed)")
            #expect(group.calls.count >= 1 && group.calls.count <= 5)
        }
        // A contact is never in two live calls at once.
        let liveContacts = state.batches.values.flatMap { $0.liveCalls.map(\.contactId) }
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
        for group in state.batches.values {
            if group.isEnded {
                #expect((try? state.decide(.cancelBatch(batchId: group.id), at: .epoch)) == [])
            }
            if group.winner != nil, group.liveCalls.allSatisfy({ $0.id == group.winner }) {
                #expect((try? state.decide(.endLosingCalls(batchId: group.id), at: .epoch)) == [])
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
