import DialerCore
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

@Suite("Calls: winner-take-all, AMD, abandonment, invariants")
struct CallTests {
    /// A balanced batch of three placed calls (c1, c2, c3) for agent-1.
    func dialled(profile: ProfileChoice = .auto, name: String = "Leads") throws -> Given {
        var given = Fixture.workingQueue(name: name, profile: profile)
        try Fixture.dialAll(&given)
        return given
    }

    @Test func placingACallRecordsTheAttemptAndCallerID() throws {
        var given = Fixture.workingQueue()
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        let events = try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        #expect(events == [.callDialed(.init(batchId: "g1", callId: "g1-1", contactId: "c1",
                                             to: PhoneNumber("+12125550001")!, callerId: Fixture.callerIds[0], attempt: 1))])
        #expect(given.refusal(.placeCall(batchId: "g1", callId: "g1-1")) == .callAlreadyPlaced("g1-1"))
        #expect(given.refusal(.recordRinging(batchId: "g1", callId: "g1-2")) == .callNotPlaced("g1-2"))
        #expect(given.refusal(.placeCall(batchId: "g1", callId: "nope")) == .callNotFound("g1", "nope"))
        #expect(given.refusal(.placeCall(batchId: "g9", callId: "g9-1")) == .groupNotFound("g9"))
        #expect(given.state.queues["q"]?.dialedCalls == 1)
    }

    @Test func ringingIsRecordedOnce() throws {
        var given = try dialled()
        #expect(try given.when(.recordRinging(batchId: "g1", callId: "g1-1")) == [.callRinging(.init(batchId: "g1", callId: "g1-1"))])
        #expect(try given.when(.recordRinging(batchId: "g1", callId: "g1-1")).isEmpty)
        #expect(given.state.batches["g1"]?.call("g1-1")?.status == .ringing)
    }

    @Test func theCarriersNameForACallIsRecordedOnceAndNeverChanged() throws {
        var given = try dialled()
        let assign = Command.recordCarrierCall(batchId: "g1", callId: "g1-1", carrier: "twilio", carrierCallId: "CA01")
        #expect(try given.when(assign) == [.callCarrierAssigned(.init(batchId: "g1", callId: "g1-1", carrier: "twilio", carrierCallId: "CA01"))])
        #expect(try given.when(assign).isEmpty)
        #expect(given.state.batches["g1"]?.call("g1-1")?.carrierCallId == "CA01")
        #expect(given.refusal(.recordCarrierCall(batchId: "g1", callId: "g1-1", carrier: "twilio", carrierCallId: "CA02"))
            == .invalidTransition("call g1-1 is already twilio call CA01"))
    }

    @Test func theFirstHumanAnswerWinsAndIsConnectedToTheAgent() throws {
        var given = try dialled()
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        #expect(events == [
            .callAnswered(.init(batchId: "g1", callId: "g1-2", answeredBy: .human)),
            .callConnected(.init(batchId: "g1", callId: "g1-2", contactId: "c2", agentId: "agent-1")),
        ])
        #expect(DialerPolicy.followUps(after: events) == [.endLosingCalls(batchId: "g1")])
        let group = try #require(given.state.batches["g1"])
        #expect(group.winner == "g1-2")
        #expect(group.status == .connected)
        #expect(group.call("g1-2")?.status == .inProgress)
        #expect(group.call("g1-2")?.outcome == .winner)
    }

    @Test func everyOtherCallIsEndedWhenAWinnerIsConnected() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        let events = try given.when(.endLosingCalls(batchId: "g1"))
        #expect(events == [
            .callTerminated(.init(batchId: "g1", callId: "g1-1", reason: .lostRace)),
            .callTerminated(.init(batchId: "g1", callId: "g1-3", reason: .lostRace)),
        ])
        #expect(try given.when(.endLosingCalls(batchId: "g1")).isEmpty)
        let group = try #require(given.state.batches["g1"])
        #expect(group.calls.map(\.status) == [.terminated, .inProgress, .terminated])
        #expect(group.calls.map(\.outcome) == [.terminated, .winner, .terminated])
        #expect(!group.isEnded)  // the winner is still talking
    }

    @Test func callsNotYetPlacedWhenTheWinnerAnswersAreNeverPlaced() throws {
        var given = Fixture.workingQueue()
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        #expect(given.refusal(.placeCall(batchId: "g1", callId: "g1-2")) == .callEnded("g1-2", .terminated))
        // An unplaced contact was not tried: no attempt counted, it stays dialable.
        let contact = try #require(given.state.queues["q"]?.contacts["c2"])
        #expect(contact.attempts == 0 && contact.isDialable(maxAttempts: 3, at: given.time))
    }

    // Changed (issue 12): the abandonment is its own event with its cause and the safe-harbor request
    // (the fixture queue's message), and one abandoned call of two live answers caps the queue.
    @Test func aSecondHumanAnswerAfterTheWinnerIsRecordedAsAbandoned() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-3", answeredBy: .human))
        #expect(events.map(\.type) == [CallAnswered.type, CallAbandoned.type, AbandonmentGuardChanged.type, CallTerminated.type])
        #expect(events[1] == .callAbandoned(.init(batchId: "g1", callId: "g1-3", contactId: "c3", answeredBy: .human,
                                                  cause: .afterWinner, safeHarbor: .requested,
                                                  message: Fixture.safeHarborMessage)))
        #expect(events[3] == .callTerminated(.init(batchId: "g1", callId: "g1-3", reason: .abandoned)))
        let queue = try #require(given.state.queues["q"])
        #expect(queue.abandonedCalls == 1 && queue.humanAnswers == 2)
        #expect(queue.abandonmentRate == 0.5)
        #expect(given.state.batches["g1"]?.call("g1-3")?.abandoned == true)
        #expect(queue.contacts["c3"]?.isSettled == true)  // never call an abandoned person back automatically
        #expect(given.state.batches["g1"]?.winner == "g1-1")
    }

    // Changed (issue 12): under `human-or-unknown` an unknown answer would have been connected, so
    // dropping it after the winner is an abandonment; under `human-only` it still just loses the race.
    @Test func anUnknownAnswerAfterTheWinnerIsAbandonedOnlyWhereThePolicyWouldConnectIt() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-3", answeredBy: .unknown))
        #expect(events.last?.callTerminationReason == .abandoned)
        #expect(given.state.queues["q"]?.abandonedCalls == 1)

        var vip = try dialled(profile: .fixed(.conservative))
        try vip.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        let dropped = try vip.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .unknown))
        #expect(dropped.last?.callTerminationReason == .lostRace)
        #expect(vip.state.queues["q"]?.abandonedCalls == 0)
    }

    @Test func aMachineAnswerEndsAsVoicemail() throws {
        var given = try dialled()
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .machine))
        #expect(events == [.callAnswered(.init(batchId: "g1", callId: "g1-1", answeredBy: .machine)),
                           .callVoicemail(.init(batchId: "g1", callId: "g1-1"))])
        let call = try #require(given.state.batches["g1"]?.call("g1-1"))
        #expect(call.status == .voicemail && call.outcome == .voicemail)
        #expect(given.state.batches["g1"]?.winner == nil)
    }

    @Test func humanOrUnknownConnectsAnUnknownAnswer() throws {
        var given = try dialled()
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .unknown))
        #expect(events.last == .callConnected(.init(batchId: "g1", callId: "g1-1", contactId: "c1", agentId: "agent-1")))
    }

    @Test func humanOnlyHangsUpAnUnknownAnswer() throws {
        var given = try dialled(name: "VIP")
        #expect(given.state.batches["g1"]?.amdPolicy == .humanOnly)
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .unknown))
        #expect(events == [.callAnswered(.init(batchId: "g1", callId: "g1-1", answeredBy: .unknown)),
                           .callTerminated(.init(batchId: "g1", callId: "g1-1", reason: .amdPolicy))])
        #expect(given.state.batches["g1"]?.winner == nil)
        // …and a person on the other line can still win.
        let next = try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        #expect(next.last == .callConnected(.init(batchId: "g1", callId: "g1-2", contactId: "c2", agentId: "agent-1")))
    }

    @Test func thereIsNoTransitionOutOfAnEndedCall() throws {
        var given = try dialled()
        try given.when(.recordFailure(batchId: "g1", callId: "g1-1", reason: "invalid-number"))
        for command: Command in [
            .recordRinging(batchId: "g1", callId: "g1-1"),
            .recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human),
            .recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout),
            .recordFailure(batchId: "g1", callId: "g1-1", reason: "again"),
            .recordHangup(batchId: "g1", callId: "g1-1"),
        ] {
            #expect(given.refusal(command) == .callEnded("g1-1", .failed))
        }
    }

    @Test func aConnectedCallCannotBeAnsweredAgainOrTimeOut() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        if case .invalidTransition = given.refusal(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human)) {} else {
            Issue.record("answering a connected call again must be refused")
        }
        if case .invalidTransition = given.refusal(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout)) {} else {
            Issue.record("a connected call cannot ring out")
        }
        #expect(given.refusal(.recordHangup(batchId: "g1", callId: "g1-2")) == .callNotAnswered("g1-2"))
    }

    @Test func aGroupEndsWhenEveryCallHasEnded() throws {
        var given = try dialled()
        #expect(try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
                == [.callNoAnswer(.init(batchId: "g1", callId: "g1-1", cause: .timeout))])
        #expect(try given.when(.recordFailure(batchId: "g1", callId: "g1-2", reason: "network"))
                == [.callFailed(.init(batchId: "g1", callId: "g1-2", reason: "network"))])
        #expect(given.state.batches["g1"]?.isEnded == false)
        #expect(try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-3", cause: .busy)) == [
            .callNoAnswer(.init(batchId: "g1", callId: "g1-3", cause: .busy)),
            .batchCompleted(.init(batchId: "g1", result: .noAnswer, winnerCallId: nil)),
        ])
        let group = try #require(given.state.batches["g1"])
        #expect(group.status == .noAnswer)
        #expect(group.calls.map(\.status) == [.completed, .failed, .completed])
        #expect(group.calls.map(\.outcome) == [.noAnswer, .failed, .noAnswer])
        #expect(given.state.sessions["s"]?.currentBatch == nil)
        #expect(given.state.sessions["s"]?.lastBatchResult == .noAnswer)
    }

    @Test func theAgentsHangUpCompletesTheWinnerAndTheBatch() throws {
        var given = try dialled()
        #expect(given.refusal(.hangUp(sessionId: "s")) == .noConnectedCall("s"))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        given.advance(42_000)
        let events = try given.when(.hangUp(sessionId: "s"))
        #expect(events == [.callCompleted(.init(batchId: "g1", callId: "g1-1", endedBy: .agent)),
                           .batchCompleted(.init(batchId: "g1", result: .connected, winnerCallId: "g1-1"))])
        #expect(given.state.batches["g1"]?.status == .completed)
        #expect(given.state.batches["g1"]?.call("g1-1")?.status == .completed)
        #expect(given.state.batches["g1"]?.call("g1-1")?.outcome == .winner)
        #expect(given.state.sessions["s"]?.talkTimeMs == 42_000)
        #expect(given.refusal(.hangUp(sessionId: "s")) == .noConnectedCall("s"))
    }

    // Changed (issue 8): a cancel paused the whole queue; it now pauses the agent's session.
    @Test func cancellingABatchTerminatesItsCallsAndPausesTheAgentsSession() throws {
        var given = Fixture.workingQueue()
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        try given.when(.placeCall(batchId: "g1", callId: "g1-2"))
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-2", cause: .busy))
        let events = try given.when(.cancelBatch(batchId: "g1"))
        #expect(events == [
            .callTerminated(.init(batchId: "g1", callId: "g1-1", reason: .cancelled)),
            .callTerminated(.init(batchId: "g1", callId: "g1-3", reason: .cancelled)),
            .batchCancelled(.init(batchId: "g1", reason: .requested, releasedContactIds: ["c1", "c3"])),
            .sessionPaused(.init(sessionId: "s", reason: .batchCancelled)),
        ])
        #expect(given.state.batches["g1"]?.status == .cancelled)
        #expect(given.state.sessions["s"]?.state == .paused)
        #expect(given.state.queues["q"]?.state == .paused, "its only session is paused")
        // Cancelled contacts go back to pending without losing an attempt.
        let queue = try #require(given.state.queues["q"])
        #expect(queue.contacts["c1"]?.outcome == .pending && queue.contacts["c1"]?.attempts == 0)
        #expect(queue.contacts["c1"]?.isDialable(maxAttempts: 3, at: given.time) == true)
        #expect(queue.contacts["c2"]?.outcome == .noAnswer && queue.contacts["c2"]?.attempts == 1)
        // Terminating again changes nothing.
        #expect(try given.when(.cancelBatch(batchId: "g1")).isEmpty)
        #expect(given.refusal(.cancelBatch(batchId: "nope")) == .groupNotFound("nope"))
    }

    // Changed (issue 8): terminate after a winner hung up the winner too; it now ends only the others.
    @Test func terminatingAfterAWinnerEndsOnlyTheOtherCalls() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        let events = try given.when(.cancelBatch(batchId: "g1"))
        #expect(events == [
            .callTerminated(.init(batchId: "g1", callId: "g1-2", reason: .lostRace)),
            .callTerminated(.init(batchId: "g1", callId: "g1-3", reason: .lostRace)),
        ])
        #expect(given.state.batches["g1"]?.call("g1-1")?.status == .inProgress)
        #expect(given.state.batches["g1"]?.status == .connected)
        #expect(given.state.sessions["s"]?.state == .active, "nothing pauses")
        #expect(given.state.queues["q"]?.contacts["c1"]?.outcome == .winner)
        // Idempotent: the conversation goes on.
        #expect(try given.when(.cancelBatch(batchId: "g1")).isEmpty)
    }

    @Test func noAnswerAndFailedContactsAreRetriedUntilMaxAttempts() throws {
        var given = Fixture.workingQueue(contacts: [Fixture.contact("c1"), Fixture.contact("c2")], maxAttempts: 2)
        for round in 1...2 {
            let group = BatchID("g\(round)")
            try Fixture.dialAll(&given, group: group)
            #expect(given.state.batches[group]?.calls.map(\.contactId) == ["c1", "c2"])
            try given.when(.recordNoAnswer(batchId: group, callId: CallID("g\(round)-1"), cause: .timeout))
            try given.when(.recordFailure(batchId: group, callId: CallID("g\(round)-2"), reason: "network"))
        }
        #expect(given.state.queues["q"]?.contacts["c1"]?.attempts == 2)
        // Both contacts used their attempts: the queue is done.
        #expect(try given.when(.startBatch(sessionId: "s", batchId: "g3")) == [
            .queueCompleted(.init(queueId: "q")), .sessionEnded(.init(sessionId: "s", reason: .queueCompleted)),
        ])
        #expect(given.state.queues["q"]?.state == .completed)
        #expect(given.state.sessions["s"]?.state == .ended)
    }

    @Test func theAttemptNumberCountsEarlierAttempts() throws {
        var given = Fixture.workingQueue(contacts: [Fixture.contact("c1")], mode: .single)
        try Fixture.dialAll(&given, group: "g1")
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
        try given.when(.startBatch(sessionId: "s", batchId: "g2"))
        let events = try given.when(.placeCall(batchId: "g2", callId: "g2-1"))
        guard case .callDialed(let dialed)? = events.first else {
            Issue.record("expected call.dialed")
            return
        }
        #expect(dialed.attempt == 2)
    }

    @Test func winnersAndVoicemailsAreNotDialledAgain() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(3))
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .machine))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        try given.when(.hangUp(sessionId: "s"))
        try given.when(.startBatch(sessionId: "s", batchId: "g2"))
        // Only the loser (c3) is tried again.
        #expect(given.state.batches["g2"]?.calls.map(\.contactId) == ["c3"])
    }

    @Test func addingContactsToACompletedQueueReopensIt() throws {
        var given = Fixture.workingQueue(contacts: [Fixture.contact("c1")], maxAttempts: 1)
        try Fixture.dialAll(&given)
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
        try given.when(.startBatch(sessionId: "s", batchId: "g2"))
        #expect(given.state.queues["q"]?.state == .completed)
        try given.when(.addContacts(queueId: "q", contacts: [Fixture.contact("c2")]))
        #expect(given.state.queues["q"]?.state == .idle)
    }

    // Changed (issue 8): the denominator was every dialled call; a call cut short by the winner did
    // not get a fair ring, so it no longer counts (nor does it use up one of the contact's attempts).
    @Test func answerRateIsHumanAnswersOverCallsThatGotAFairRing() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .machine))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))  // g1-3 is cut short while ringing
        let queue = try #require(given.state.queues["q"])
        #expect(queue.dialedCalls == 3 && queue.humanAnswers == 1 && queue.machineAnswers == 1)
        #expect(queue.fairDials == 2)
        #expect(queue.answerRate == 1.0 / 2.0)
        #expect(queue.abandonmentRate == 0)
        #expect(queue.contacts["c3"]?.attempts == 0 && queue.contacts["c3"]?.outcome == .terminated)
        #expect(queue.contacts["c3"]?.isDialable(maxAttempts: 3, at: given.time) == true)
    }

    @Test func aNoAnswerOrFailedContactWaitsForTheRetryDelay() throws {
        var given = Fixture.workingQueue(contacts: [Fixture.contact("c1"), Fixture.contact("c2")], mode: .single,
                                         retryDelayMs: 600_000)
        try Fixture.dialAll(&given, group: "g1")
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
        let endedAt = given.time
        try Fixture.dialAll(&given, group: "g2")
        #expect(given.state.batches["g2"]?.calls.map(\.contactId) == ["c2"])
        try given.when(.recordFailure(batchId: "g2", callId: "g2-1", reason: "network"))
        // Both wait: the queue is not completed, and says when to look again.
        #expect(given.refusal(.startBatch(sessionId: "s", batchId: "g3"))
                == .waitingForRetry("q", until: endedAt.adding(milliseconds: 600_000)))
        #expect(given.state.queues["q"]?.state == .active)
        given.advance(600_000)
        try given.when(.startBatch(sessionId: "s", batchId: "g3"))
        #expect(given.state.batches["g3"]?.calls.map(\.contactId) == ["c1"])
    }
}

@Suite("Who is dialled next")
struct DialOrderTests {
    @Test func aContactCutShortByAWinnerComesAfterTheFreshOnesAndACancelledOneComesFirstAgain() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(6))
        try Fixture.dialAll(&given, group: "g1")  // c1, c2, c3
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))  // c2 and c3 cut short: no attempt, but not fresh
        try given.when(.hangUp(sessionId: "s"))
        try Fixture.dialAll(&given, group: "g2")
        #expect(given.state.batches["g2"]?.calls.map(\.contactId) == ["c4", "c5", "c6"])
        #expect(given.state.queues["q"]?.contacts["c2"]?.attempts == 0)
        // A cancelled batch gives its contacts back as they were: they are dialled first again.
        try given.when(.cancelBatch(batchId: "g2"))
        try given.when(.resumeSession(sessionId: "s"))
        try Fixture.dialAll(&given, group: "g3")
        #expect(given.state.batches["g3"]?.calls.map(\.contactId) == ["c4", "c5", "c6"])
    }
}
