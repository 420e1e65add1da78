import DialerCore
import SwitchboardBasics
import SwitchboardTestSupport
import Testing

@Suite("Access and caller IDs in the log")
struct AccessTests {
    @Test func aTokenNamesItsAgentOnlyForAnAgentAndExpiresOnlyInTheFuture() throws {
        var given = Given([])
        #expect(given.refusal(.issueToken(tokenId: "t1", role: .agent, agentId: nil, label: nil, hashPrefix: "0123abcd",
                                          expiresAt: nil))?.code == "invalid-value")
        #expect(given.refusal(.issueToken(tokenId: "t1", role: .auditor, agentId: "agent-1", label: nil, hashPrefix: "0123abcd",
                                          expiresAt: nil))?.code == "invalid-value")
        #expect(given.refusal(.issueToken(tokenId: "t1", role: .agent, agentId: "agent,1", label: nil, hashPrefix: "0123abcd",
                                          expiresAt: nil)) == .invalidValue(field: "agentId", message: "must not contain a comma"))
        #expect(given.refusal(.issueToken(tokenId: "t1", role: .admin, agentId: nil, label: nil, hashPrefix: "not-hex!",
                                          expiresAt: nil))?.code == "invalid-value")
        #expect(given.refusal(.issueToken(tokenId: "t1", role: .admin, agentId: nil, label: nil, hashPrefix: "0123abcd",
                                          expiresAt: given.time))?.code == "invalid-value")
        let expiry = given.time.adding(milliseconds: 60_000)
        try given.when(.issueToken(tokenId: "t1", role: .agent, agentId: "agent-7", label: "night shift", hashPrefix: "0123abcd",
                                   expiresAt: expiry))
        let token = try #require(given.state.tokens["t1"])
        #expect(token.role == .agent && token.agentId == "agent-7" && token.hashPrefix == "0123abcd")
        #expect(token.isValid(at: given.time) && !token.isValid(at: expiry))
        #expect(given.refusal(.issueToken(tokenId: "t1", role: .admin, agentId: nil, label: nil, hashPrefix: "0123abcd",
                                          expiresAt: nil))?.kind == .conflict)
    }

    @Test func revokingIsRecordedOnceAndAnUnknownTokenIsNotFound() throws {
        var given = Given([])
        try given.when(.issueToken(tokenId: "t1", role: .supervisor, agentId: nil, label: nil, hashPrefix: "0123abcd", expiresAt: nil))
        given.advance(1000)
        #expect(try given.when(.revokeToken(tokenId: "t1")) == [.tokenRevoked(.init(tokenId: "t1"))])
        #expect(given.state.tokens["t1"]?.revokedAt == given.time)
        #expect(given.state.tokens["t1"]?.isValid(at: given.time) == false)
        #expect(try given.when(.revokeToken(tokenId: "t1")).isEmpty)
        #expect(given.refusal(.revokeToken(tokenId: "nope")) == .tokenNotFound("nope"))
    }

    @Test func aBatchCallsFromItsQueuesSubsetThenThePoolThenTheSessionsNumbers() throws {
        let austin = try #require(PhoneNumber("+15125550100")), houston = try #require(PhoneNumber("+17135550100"))
        let chicago = try #require(PhoneNumber("+13125550100"))
        // No pool yet: the numbers the session started with (the server's configured ones).
        var given = Fixture.workingQueue(contacts: [Fixture.contact("c1", "+13125551234"), Fixture.contact("c2", "+17135551234")])
        try Fixture.dialAll(&given)
        #expect(given.state.batches["g1"]?.calls.map(\.callerId) == [Fixture.callerIds[0], Fixture.callerIds[1]])

        // The organisation's pool: local presence picks from it (Chicago for 312, the first otherwise).
        var pooled = Fixture.workingQueue(contacts: [Fixture.contact("c1", "+13125551234"), Fixture.contact("c2", "+17135551234")])
        try pooled.when(.addCallerIds([chicago, austin, chicago]))
        #expect(pooled.state.callerIds == [chicago, austin])
        try Fixture.dialAll(&pooled)
        #expect(pooled.state.batches["g1"]?.calls.map(\.callerId) == [chicago, chicago])

        // The queue's own subset of it; a number outside the pool is refused.
        var subset = Fixture.workingQueue(contacts: [Fixture.contact("c1", "+13125551234"), Fixture.contact("c2", "+17135551234")])
        try subset.when(.addCallerIds([chicago, austin, houston]))
        let elsewhere = try #require(PhoneNumber("+14155550100"))
        #expect(subset.refusal(.setQueueCallerIds(queueId: "q", callerIds: [elsewhere])) == .callerIdNotInPool(elsewhere))
        try subset.when(.setQueueCallerIds(queueId: "q", callerIds: [houston, austin]))
        try Fixture.dialAll(&subset)
        #expect(subset.state.batches["g1"]?.calls.map(\.callerId) == [houston, houston])

        // A number taken out of the pool is no longer used, even by a queue that named it.
        try subset.when(.removeCallerId(houston))
        #expect(subset.refusal(.removeCallerId(houston)) == .callerIdNotFound(houston))
        #expect(subset.state.callerIds(for: try #require(subset.state.queues["q"]), session: try #require(subset.state.sessions["s"]))
                == [austin])
    }
}
