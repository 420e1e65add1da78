import DialerCore
import SwitchboardBasics
import SwitchboardTestSupport
import Testing

/// What the supervisor's wall shows for an agent: its activity, and since when (the server time of the
/// event that changed it, so every screen's clock agrees and a replay gives the same answer).
@Suite("The agent's activity")
struct ActivityTests {
    /// Issue 21: the pages showed "paused" beside "talking". The one activity stays what the agent is
    /// doing; the note says what the session's state adds, and goes once the activity is the state's.
    @Test func aSessionPausedDuringACallKeepsTheActivityWithANote() throws {
        var given = Fixture.workingQueue(settings: SessionSettings(wrapUpMs: 0))
        given.advance(100)
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        #expect(given.state.sessions["s"]?.activityNote == nil)
        try given.when(.pauseSession(sessionId: "s"))
        #expect(given.state.sessions["s"]?.activity == .talking)
        #expect(given.state.sessions["s"]?.activityNote == "paused after this")
        try given.when(.endLosingCalls(batchId: "g1"))
        try given.when(.hangUp(sessionId: "s"))
        #expect(given.state.sessions["s"]?.activity == .paused)
        #expect(given.state.sessions["s"]?.activityNote == nil)
    }

    @Test func anAgentGoesFromDiallingToRingingToTalkingToIdleEachAtItsEventsTime() throws {
        var given = Fixture.workingQueue(settings: SessionSettings(wrapUpMs: 0))
        let started = given.time
        #expect(given.state.sessions["s"]?.activity == .idle)
        #expect(given.state.sessions["s"]?.activitySince == started)

        given.advance(100)
        try Fixture.dialAll(&given)
        let dialled = given.time
        #expect(given.state.sessions["s"]?.activity == .dialling)
        #expect(given.state.sessions["s"]?.activitySince == dialled)
        #expect(given.state.sessions["s"]?.dials == given.state.batches["g1"]?.calls.count)

        given.advance(1_000)
        try given.when(.recordRinging(batchId: "g1", callId: "g1-2"))
        #expect(given.state.sessions["s"]?.activity == .ringing)
        given.advance(500)
        try given.when(.recordRinging(batchId: "g1", callId: "g1-3"))
        #expect(given.state.sessions["s"]?.activitySince == dialled.adding(milliseconds: 1_000), "still ringing: the clock goes on")

        given.advance(2_000)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        let answered = given.time
        #expect(given.state.sessions["s"]?.activity == .talking)
        try given.when(.endLosingCalls(batchId: "g1"))
        #expect(given.state.sessions["s"]?.activitySince == answered)

        given.advance(30_000)
        try given.when(.hangUp(sessionId: "s"))
        #expect(given.state.sessions["s"]?.activity == .idle)
        #expect(given.state.sessions["s"]?.activitySince == given.time)
    }

    @Test func aWrapUpAndAPauseShowAsSuchAndTalkingBeatsAStop() throws {
        var given = Fixture.workingQueue(settings: SessionSettings(wrapUpMs: 20_000))
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        given.advance(1_000)
        _ = try given.when(.stopSession(sessionId: "s"))
        #expect(given.state.sessions["s"]?.state == .ended)
        #expect(given.state.sessions["s"]?.activity == .talking, "the conversation finishes after a stop")
        given.advance(5_000)
        try given.when(.hangUp(sessionId: "s"))
        #expect(given.state.sessions["s"]?.activity == .wrapUp, "a stopped agent still records what came of the call")

        var paused = Fixture.workingQueue()
        try paused.when(.pauseSession(sessionId: "s"))
        #expect(paused.state.sessions["s"]?.activity == .paused)
        #expect(paused.state.sessions["s"]?.activitySince == paused.time)
    }

    @Test func theActivityIsRebuiltExactlyFromTheLog() {
        let (state, log) = RandomWalk.run(seed: 42, steps: 400)
        var rebuilt = DialerState()
        for (index, (event, time)) in log.enumerated() { rebuilt.apply(event, position: Int64(index + 1), at: time) }
        #expect(rebuilt.sessions.mapValues(\.activity) == state.sessions.mapValues(\.activity))
        #expect(rebuilt.sessions.mapValues(\.activitySince) == state.sessions.mapValues(\.activitySince))
        #expect(Set(state.sessions.values.map(\.activity)).count > 1, "the walk moves its agents between activities")
    }
}
