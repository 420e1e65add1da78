import DialerCore
import SwitchboardBasics
import SwitchboardTestSupport
import Testing

@Suite("The do-not-call list")
struct DoNotCallTests {
    let listed = PhoneNumber("+12125550002")!  // c2 of `Fixture.contacts`

    @Test func aListedNumberIsSettledInEveryQueueAndNeverInABatch() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(4))
        try given.when(.createQueue(queueId: "other", name: "Other", segment: nil, maxAttempts: 3,
                                    contacts: [NewContact(contactId: "o1", phone: listed)]))
        #expect(try given.when(.addDoNotCall([listed, listed], source: .request)) == [.doNotCallAdded(.init(phones: [listed], source: .request))])
        #expect(given.state.queues["q"]?.contacts["c2"]?.outcome == .doNotCall)
        #expect(given.state.queues["other"]?.contacts["o1"]?.outcome == .doNotCall)
        #expect(given.state.queues["q"]?.pendingCount == 3)
        try Fixture.dialAll(&given)
        #expect(given.state.batches["g1"]?.calls.map(\.contactId) == ["c1", "c3", "c4"])
        #expect(try given.when(.addDoNotCall([listed], source: .import)).isEmpty, "listing twice records nothing")
    }

    @Test func aNumberListedDuringItsCallIsNeverDialledAgainAndSaysWhy() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(3), settings: SessionSettings(cooldownMs: 0, wrapUpMs: 0))
        try Fixture.dialAll(&given)
        try given.when(.addDoNotCall([listed], source: .request))
        #expect(given.state.queues["q"]?.contacts["c2"]?.outcome == .pending, "its call is still live")
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-2", cause: .timeout))
        #expect(given.state.queues["q"]?.contacts["c2"]?.outcome == .doNotCall)
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-3", cause: .timeout))
        try given.when(.startBatch(sessionId: "s", batchId: "g2"))
        #expect(given.state.batches["g2"]?.calls.map(\.contactId).contains("c2") == false)
    }

    @Test func theAgentsDoNotCallDispositionListsTheNumberAndRemovalReleasesIt() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(3))
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        try given.when(.hangUp(sessionId: "s"))
        let events = try given.when(.recordDisposition(sessionId: "s", callId: "g1-2", outcome: .doNotCall, notes: nil, callbackAt: nil))
        #expect(events.last == .doNotCallAdded(.init(phones: [listed], source: .disposition)))
        #expect(given.state.doNotCall.contains(listed))
        let other = PhoneNumber("+12125550003")!
        #expect(given.refusal(.removeDoNotCall(other)) == .notOnDoNotCallList(other))
        try given.when(.addDoNotCall([other], source: .request))
        try given.when(.removeDoNotCall(other))
        // c3 was cut short by the winner (no attempt used): off the list, it is dialable again.
        #expect(given.state.queues["q"]?.contacts["c3"]?.isDoNotCall == false)
        #expect(given.state.queues["q"]?.contacts["c3"]?.isDialable(maxAttempts: 3, at: given.time) == true)
    }

    @Test func oneCommandListsAtMostTheLimit() throws {
        var given = Given()
        let numbers = (0...DialerState.maxDoNotCallPerCommand).compactMap { PhoneNumber("+1646555\(String(10_000 + $0).dropFirst())") }
        try #require(numbers.count == DialerState.maxDoNotCallPerCommand + 1)
        #expect(given.refusal(.addDoNotCall(numbers, source: .request))?.kind == .invalid)
        #expect(try given.when(.addDoNotCall(Array(numbers.dropLast()), source: .request)).count == 1)
        #expect(given.state.doNotCall.count == DialerState.maxDoNotCallPerCommand)
    }

    @Test func contactsAddedWithAListedNumberArriveSettled() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(1))
        try given.when(.addDoNotCall([listed], source: .request))
        try given.when(.addContacts(queueId: "q", contacts: [NewContact(contactId: "late", phone: listed)]))
        #expect(given.state.queues["q"]?.contacts["late"]?.outcome == .doNotCall)
    }
}
