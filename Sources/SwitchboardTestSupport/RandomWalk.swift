import DialerCore
import SwitchboardBasics

/// Random commands a carrier, an agent and a supervisor could send in any order.
/// The one random command walker: property tests fold its commands in memory, the application tests
/// send them through the write path.
public enum RandomWalk {
    /// A random command about `queue`'s live batches or one of `sessions`.
    public static func command(in state: DialerState, queue: QueueID = "q", sessions: [SessionID],
                               using rng: inout SplitMix64) -> Command {
        let session = sessions.randomElement(using: &rng) ?? "s"
        let liveGroups = state.batches.values.filter { !$0.isEnded && $0.queueId == queue }.sorted { $0.id < $1.id }
        guard let group = liveGroups.randomElement(using: &rng), Int.random(in: 0..<10, using: &rng) > 0,
            let call = group.calls.randomElement(using: &rng)
        else {
            switch Int.random(in: 0..<11, using: &rng) {
            case 0, 1: return .resumeSession(sessionId: session)
            case 2: return .changeMode(sessionId: session, mode: Bool.random(using: &rng) ? .single : .parallel)
            case 3: return .changeSettings(sessionId: session, patch: SettingsPatch(maxLines: Int.random(in: 1...6, using: &rng)))
            case 4: return .pauseSession(sessionId: session)
            case 5: return Bool.random(using: &rng) ? .pauseQueue(queueId: queue) : .resumeQueue(queueId: queue)
            default:
                return .startBatch(sessionId: session, batchId: BatchID("\(queue)-g\(state.batches.count + 1)-\(rng.next() % 1000)"))
            }
        }
        let answeredBy = AnsweredBy.allCases.randomElement(using: &rng) ?? .human
        switch Int.random(in: 0..<20, using: &rng) {
        case 0...3: return .placeCall(batchId: group.id, callId: call.id)
        case 4...5: return .recordRinging(batchId: group.id, callId: call.id)
        case 6...10: return .recordAnswer(batchId: group.id, callId: call.id, answeredBy: answeredBy)
        case 11...12: return .recordNoAnswer(batchId: group.id, callId: call.id, cause: .timeout)
        case 13: return .recordFailure(batchId: group.id, callId: call.id, reason: "network")
        case 14: return .recordHangup(batchId: group.id, callId: call.id)
        case 15: return .hangUp(sessionId: group.sessionId)
        case 16: return .endLosingCalls(batchId: group.id)
        case 17: return .cancelBatch(batchId: group.id)
        default: return .recordAnswer(batchId: group.id, callId: call.id, answeredBy: .human)
        }
    }

    /// Runs `steps` random commands from a fresh queue; returns the final state and every event with its time.
    public static func run(seed: UInt64, steps: Int) -> (state: DialerState, log: [(DialerEvent, Timestamp)]) {
        var rng = SplitMix64(seed: seed)
        var given = Given(Fixture.queueCreated(maxAttempts: 3, contacts: Fixture.contacts(12))
                          + [Fixture.sessionStarted("s", agent: "a1"), Fixture.sessionStarted("s2", agent: "a2", profile: .fixed(.conservative))])
        var log: [(DialerEvent, Timestamp)] = Fixture.queueCreated(maxAttempts: 3, contacts: Fixture.contacts(12)).map { ($0, given.time) }
            + [(Fixture.sessionStarted("s", agent: "a1"), given.time),
               (Fixture.sessionStarted("s2", agent: "a2", profile: .fixed(.conservative)), given.time)]
        for _ in 0..<steps {
            given.advance(Int64.random(in: 0...700, using: &rng))
            let command = command(in: given.state, sessions: ["s", "s2"], using: &rng)
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

