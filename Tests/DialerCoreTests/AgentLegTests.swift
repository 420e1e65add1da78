import DialerCore
import SwitchboardTestSupport
import Testing

/// On a real carrier the agent is called into the session's room first: nothing is dialled until their
/// call is up, and when it drops a ringing batch ends and the session pauses.
@Suite("The agent's own call")
struct AgentLegTests {
    func calledIn(connected: Bool) throws -> Given {
        var given = Given(Fixture.queueCreated(contacts: Fixture.contacts(6)))
        try given.when(.startSession(sessionId: "s", agentId: "agent-1", queueId: "q", mode: .parallel, profile: .auto,
                                     settings: .backToBack, callerIds: Fixture.callerIds, agentEndpoint: "client:agent-1"))
        if connected { try given.when(.recordAgentConnected(sessionId: "s", carrierCallId: "CA01")) }
        return given
    }

    @Test func noBatchIsDueUntilTheAgentsCallIsUp() throws {
        var given = try calledIn(connected: false)
        #expect(given.state.sessions["s"]?.agentLeg == .connecting)
        #expect(given.state.sessions["s"]?.nextBatch == nil)
        let events = try given.when(.recordAgentConnected(sessionId: "s", carrierCallId: "CA01"))
        #expect(events == [.sessionAgentConnected(.init(sessionId: "s", carrierCallId: "CA01"))])
        #expect(try given.when(.recordAgentConnected(sessionId: "s", carrierCallId: "CA01")).isEmpty)
        #expect(given.state.sessions["s"]?.nextBatch?.reason == .now)
        #expect(given.state.sessions["s"]?.agentLegCallId == "CA01")
    }

    @Test func whenTheAgentsCallDropsARingingBatchEndsAndTheSessionPauses() throws {
        var given = try calledIn(connected: true)
        try Fixture.dialAll(&given)
        let events = try given.when(.recordAgentDisconnected(sessionId: "s", reason: "twilio completed"))
        #expect(events.first == .sessionAgentDisconnected(.init(sessionId: "s", reason: "twilio completed")))
        #expect(events.compactMap(\.callTerminationReason) == [.cancelled, .cancelled, .cancelled])
        #expect(events.last == .sessionPaused(.init(sessionId: "s", reason: .agentDisconnected)))
        #expect(given.state.batches["g1"]?.isEnded == true)
        #expect(given.state.sessions["s"]?.nextBatch == nil)
        #expect(try given.when(.recordAgentDisconnected(sessionId: "s", reason: "again")).isEmpty)
        // A resume is what calls the agent in again; the batch waits for their call.
        try given.when(.resumeSession(sessionId: "s"))
        #expect(given.state.sessions["s"]?.nextBatch == nil)
        try given.when(.recordAgentConnected(sessionId: "s", carrierCallId: "CA02"))
        #expect(given.state.sessions["s"]?.nextBatch != nil)
    }

    @Test func aConversationGoesOnWhenTheAgentsCallDrops() throws {
        var given = try calledIn(connected: true)
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        let events = try given.when(.recordAgentDisconnected(sessionId: "s", reason: "twilio completed"))
        #expect(events.compactMap(\.callTerminationReason).isEmpty)
        #expect(given.state.sessions["s"]?.state == .paused)
    }

    @Test func anEndpointIsANumberAClientOrASipAddress() {
        for good in ["+15125550100", "client:agent_1", "client:a.b-c", "sip:agent@pbx.example.com"] {
            #expect(DialerState.agentEndpointProblem(good) == nil, "\(good)")
        }
        for bad in ["5125550100", "+1512", "client:", "client:a b", "sip:agent", "sip:a@b c", "sip:<a@b>", "tel:+15125550100", ""] {
            #expect(DialerState.agentEndpointProblem(bad) != nil, "\(bad)")
        }
        var given = Given(Fixture.queueCreated(contacts: Fixture.contacts(2)))
        #expect(given.refusal(.startSession(sessionId: "s", agentId: "agent-1", queueId: "q", mode: .parallel, profile: .auto,
                                            settings: .backToBack, callerIds: Fixture.callerIds, agentEndpoint: "tel:1"))
            == .invalidValue(field: "agentEndpoint", message: "must be an E.164 number (+15125550100), client:NAME or sip:user@host"))
        #expect(given.refusal(.recordAgentConnected(sessionId: "nobody", carrierCallId: nil)) == .sessionNotFound("nobody"))
    }
}
