import DialerCore
import SwitchboardBasics
import SwitchboardTestSupport
import Testing

/// Abandonment from every source, the rolling 30-day rate, the 3 % guard and the safe-harbor message,
/// decided on the pure domain.
@Suite("Compliance: abandonment, the 3 % guard, safe harbor")
struct AbandonmentTests {
    static let message = "This is Acme calling. Call us back at 512 555 0100. Press 9 to stop our calls."

    /// A balanced batch of three placed calls (c1, c2, c3) on a queue with its own `message`, the
    /// `organisation`'s, or none — and with none in force, a batch of one line (c1).
    func dialled(message: String? = Fixture.safeHarborMessage, organisation: String? = nil,
                 profile: ProfileChoice = .auto) throws -> Given {
        var given = Fixture.workingQueue(profile: profile, safeHarborMessage: message)
        if let organisation { try given.when(.setOrganisationSafeHarbor(message: organisation)) }
        try Fixture.dialAll(&given)
        return given
    }

    func compliance(message: String? = nil, warn: Int = 250, cap: Int = 300) -> QueueCompliance {
        QueueCompliance(safeHarborMessage: message, abandonWarnPercent: Percent(basisPoints: warn),
                        abandonCapPercent: Percent(basisPoints: cap))
    }

    func abandonment(in events: [DialerEvent]) -> CallAbandoned? {
        events.lazy.compactMap { if case .callAbandoned(let e) = $0 { e } else { nil } }.first
    }

    // MARK: - Every source

    @Test(arguments: [AnsweredBy.human, .unknown])
    func aPersonWhoAnswersAfterTheWinnerIsAbandoned(answeredBy: AnsweredBy) throws {
        var given = try dialled(message: Self.message)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: answeredBy))
        #expect(abandonment(in: events) == CallAbandoned(batchId: "g1", callId: "g1-2", contactId: "c2", answeredBy: answeredBy,
                                                         cause: .afterWinner, safeHarbor: .requested, message: Self.message))
        #expect(events.last?.callTerminationReason == .abandoned)
    }

    /// The answer that races our hang-up: the winner connected, we ended g1-2, and the person picked
    /// up while our request was on its way — the carrier still reports the answer.
    @Test func anAnswerThatRacesTheWinnersHangUpIsAbandoned() throws {
        var given = try dialled(message: Self.message)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        given.advance(150)
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        #expect(events.map(\.type) == [CallAbandoned.type, AbandonmentGuardChanged.type])
        #expect(abandonment(in: events)?.cause == .racedWinner)
        let call = try #require(given.state.batches["g1"]?.call("g1-2"))
        #expect(call.abandoned && call.answeredBy == .human && call.answeredAt == given.time && call.status == .terminated)
        let contact = try #require(given.state.queues["q"]?.contacts["c2"])
        #expect(contact.isSettled && contact.attempts == 1 && contact.outcome == .terminated, "never redialled automatically")
        // The carrier reporting the same answer again changes nothing.
        #expect(given.refusal(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human)) == .callEnded("g1-2", .terminated))
    }

    /// The answer that races a Cancel (or a stop): the batch is gone and the contact was given back,
    /// but a person picked up — abandoned, and not dialled again.
    @Test(arguments: ["cancel", "stop"])
    func anAnswerThatRacesACancelOrAStopIsAbandoned(how: String) throws {
        var given = try dialled()
        try given.when(how == "cancel" ? .cancelBatch(batchId: "g1") : .stopSession(sessionId: "s"))
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-3", answeredBy: .human))
        #expect(abandonment(in: events)?.cause == .racedCancel)
        #expect(abandonment(in: events)?.safeHarbor == .requested)
        let queue = try #require(given.state.queues["q"])
        #expect(queue.contacts["c3"]?.isSettled == true && queue.contacts["c1"]?.isSettled == false)
        #expect(queue.abandonedCalls == 1 && queue.abandonment.withoutSafeHarbor == 0)
        #expect(given.state.sessions["s"]?.abandoned == 1)
    }

    /// A pause stops placing the batch's remaining calls; calls already placed ring on and an answer
    /// still reaches the agent — so a pause abandons no one.
    @Test func anAnswerAfterAPauseIsConnectedNotAbandoned() throws {
        var given = try dialled()
        try given.when(.pauseSession(sessionId: "s"))
        let events = try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        #expect(events.map(\.type) == [CallAnswered.type, CallConnected.type])
        #expect(given.state.queues["q"]?.abandonedCalls == 0)
    }

    @Test func answersThatAreNotLiveAreNeverAbandoned() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        // A machine after the winner is voicemail.
        #expect(try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .machine)).map(\.type)
                == [CallAnswered.type, CallVoicemail.type])
        try given.when(.endLosingCalls(batchId: "g1"))
        // A machine that races our hang-up is refused (the engine hangs it up).
        #expect(given.refusal(.recordAnswer(batchId: "g1", callId: "g1-3", answeredBy: .machine)) == .callEnded("g1-3", .terminated))
        // Under human-only, an unknown that races a cancel would not have been connected: not abandoned.
        var vip = try dialled(profile: .fixed(.conservative))
        try vip.when(.cancelBatch(batchId: "g1"))
        #expect(vip.refusal(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .unknown)) == .callEnded("g1-1", .terminated))
        // A call that ended unanswered on its own cannot be answered later.
        var timedOut = try dialled()
        try timedOut.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
        #expect(timedOut.refusal(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human)) == .callEnded("g1-1", .completed))
        #expect(given.state.queues["q"]?.abandonedCalls == 0 && vip.state.queues["q"]?.abandonedCalls == 0)
    }

    // MARK: - The safe-harbor message

    @Test func theQueuesMessageWinsOverTheOrganisationsAndNoneIsRecordedAsSuch() throws {
        let organisation = "This is Acme Group. Call 212 555 0100 back; press 9 to opt out of our calls."
        var own = try dialled(message: Self.message, organisation: organisation)
        try own.when(.cancelBatch(batchId: "g1"))
        let ownEvent = abandonment(in: try own.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human)))
        #expect(ownEvent?.safeHarbor == .requested && ownEvent?.message == Self.message)

        var fallback = try dialled(message: nil, organisation: organisation)
        try fallback.when(.cancelBatch(batchId: "g1"))
        let fallbackEvent = abandonment(in: try fallback.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human)))
        #expect(fallbackEvent?.safeHarbor == .requested && fallbackEvent?.message == organisation)

        // With no message anywhere the batch is one line; only a raced cancel can abandon it.
        var none = try dialled(message: nil)
        #expect(none.state.batches["g1"]?.calls.count == 1)
        try none.when(.cancelBatch(batchId: "g1"))
        let noneEvent = abandonment(in: try none.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human)))
        #expect(noneEvent?.safeHarbor == .noSafeHarbor && noneEvent?.message == nil)
        #expect(none.refusal(.recordSafeHarborStarted(batchId: "g1", callId: "g1-1")) != nil, "nothing was asked to play")
    }

    @Test func theMessagesStartAndEndAreRecordedOnce() throws {
        var given = try dialled(message: Self.message)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        #expect(given.refusal(.recordSafeHarborStarted(batchId: "g1", callId: "g1-1")) != nil, "the winner hears no message")
        given.advance(400)
        #expect(try given.when(.recordSafeHarborStarted(batchId: "g1", callId: "g1-2")).count == 1)
        #expect(try given.when(.recordSafeHarborStarted(batchId: "g1", callId: "g1-2")).isEmpty)
        given.advance(6000)
        #expect(try given.when(.recordSafeHarborEnded(batchId: "g1", callId: "g1-2")).count == 1)
        let call = try #require(given.state.batches["g1"]?.call("g1-2"))
        #expect(call.safeHarborStartedAt?.milliseconds(since: try #require(call.answeredAt)) == 400)
        #expect(call.safeHarborEndedAt?.milliseconds(since: try #require(call.safeHarborStartedAt)) == 6000)
    }

    @Test func complianceSettingsAreCheckedAndRecordedWhenTheyChange() throws {
        var given = Fixture.workingQueue()
        #expect(given.refusal(.setQueueCompliance(queueId: "q", compliance: compliance(cap: 350)))?.fieldProblems.map(\.field)
                == ["abandonCapPercent"])
        #expect(given.refusal(.setQueueCompliance(queueId: "q", compliance: compliance(warn: 290, cap: 280)))?.fieldProblems.map(\.field)
                == ["abandonWarnPercent"])
        #expect(given.refusal(.setQueueCompliance(queueId: "q", compliance: compliance(message: "Hi")))?.fieldProblems.map(\.field)
                == ["safeHarborMessage"])
        #expect(given.refusal(.setOrganisationSafeHarbor(message: "   ")) != nil)
        #expect(try given.when(.setQueueCompliance(queueId: "q", compliance: compliance(message: Self.message, warn: 200))).count == 1)
        #expect(try given.when(.setQueueCompliance(queueId: "q", compliance: compliance(message: Self.message, warn: 200))).isEmpty)
        #expect(given.state.queues["q"]?.compliance.abandonWarnPercent == Percent(basisPoints: 200))
        #expect(given.state.queues["q"]?.safeHarborMessageInForce == Self.message)
    }

    /// Issue 19: without a message (the queue's or the organisation's) nobody may be abandoned, so each
    /// batch dials one line and says why; a message set between batches lifts it at the next one.
    @Test func aQueueWithNoSafeHarborMessageDialsOneLineUntilOneIsSet() throws {
        var given = Fixture.workingQueue(safeHarborMessage: nil)
        try Fixture.dialAll(&given, group: "g1")
        let alone = try #require(given.state.batches["g1"])
        #expect(alone.calls.count == 1 && alone.fanout == 1 && alone.linesLimitedBy == .noSafeHarborMessage)
        #expect(alone.profile == .balanced, "the profile stays; only its lines are held")
        try given.when(.recordNoAnswer(batchId: "g1", callId: "g1-1", cause: .timeout))
        try given.when(.setOrganisationSafeHarbor(message: Self.message))
        try Fixture.dialAll(&given, group: "g2")
        let lifted = try #require(given.state.batches["g2"])
        #expect(lifted.calls.count == 3 && lifted.linesLimitedBy == nil)
        // The organisation's message withdrawn: one line again.
        for call in lifted.calls { try given.when(.recordNoAnswer(batchId: "g2", callId: call.id, cause: .timeout)) }
        try given.when(.setOrganisationSafeHarbor(message: nil))
        try Fixture.dialAll(&given, group: "g3")
        #expect(given.state.batches["g3"]?.calls.count == 1 && given.state.batches["g3"]?.linesLimitedBy == .noSafeHarborMessage)
    }

    // MARK: - The rolling 30 days and the guard

    @Test func theGuardLevelsReadLikeTheRule() {
        let c = QueueCompliance.standard  // warn 2.5 %, cap 3 %
        func next(_ level: AbandonmentGuardLevel, _ abandoned: Int, _ live: Int) -> AbandonmentGuardLevel {
            AbandonmentGuardLevel.next(after: level, abandoned: abandoned, live: live, compliance: c)
        }
        #expect(next(.normal, 0, 0) == .normal)
        #expect(next(.normal, 24, 1000) == .normal)
        #expect(next(.normal, 25, 1000) == .warning)  // at the warning
        #expect(next(.warning, 29, 1000) == .warning)
        #expect(next(.warning, 30, 1000) == .capped)  // at the cap
        #expect(next(.capped, 29, 1000) == .capped, "the cap holds until the rate is under the warning")
        #expect(next(.capped, 25, 1000) == .capped)
        #expect(next(.capped, 24, 1000) == .normal)
        #expect(next(.warning, 24, 1000) == .normal)
    }

    /// One batch in which the first call wins; with `abandoning`, the second person answers too.
    func batch(_ given: inout Given, _ number: inout Int, abandoning: Bool = false) throws {
        number += 1
        let group = BatchID("g\(number)")
        try Fixture.dialAll(&given, group: group)
        try given.when(.recordAnswer(batchId: group, callId: CallID("\(group)-1"), answeredBy: .human))
        if abandoning { try given.when(.recordAnswer(batchId: group, callId: CallID("\(group)-2"), answeredBy: .human)) }
        try given.when(.endLosingCalls(batchId: group))
        try given.when(.hangUp(sessionId: "s"))
        given.advance(1000)
    }

    /// The guard holds whatever the session asked for: five lines, `aggressive`, explicitly.
    @Test func aQueueThatAbandonsTooOftenDropsToTwoLinesThenOneAndRecovers() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(400), profile: .fixed(.aggressive),
                                         settings: SessionSettings.backToBack.applying(SettingsPatch(maxLines: 5)))
        var number = 0
        for _ in 0..<36 { try batch(&given, &number) }
        #expect(given.state.batches["g36"]?.fanout == 5 && given.state.batches["g36"]?.profile == .aggressive)
        // 1 abandoned of 38 live answers: 2.63 %, at the warning.
        try batch(&given, &number, abandoning: true)
        let warned = try #require(given.state.queues["q"]?.guardChangedBy)
        #expect(warned.level == .warning && warned.abandoned == 1 && warned.liveAnswers == 38 && warned.maxLines == 2)
        #expect(warned.ratePercent == Percent(basisPoints: 263) && warned.windowDays == 30)
        #expect(warned.windowFrom == "2025-12-07" && warned.windowTo == "2026-01-05")
        try batch(&given, &number, abandoning: true)  // 2 of 40: 5 %, past the cap
        let second = try #require(given.state.batches["g38"])
        #expect(second.fanout == 2 && second.profile == .balanced && second.profileReason == .abandonmentGuard)
        #expect(given.state.queues["q"]?.guardLevel == .capped)
        // One line at a time: no second person can answer. 2 of 81 is under 2.5 %: back to normal.
        var lines: [Int] = []
        while given.state.queues["q"]?.guardLevel == .capped {
            try batch(&given, &number)
            lines.append(given.state.batches[BatchID("g\(number)")]?.fanout ?? 0)
        }
        #expect(lines.dropLast().allSatisfy { $0 == 1 } && lines.count == 42)
        #expect(lines.last == 5, "the batch that found the rate under the warning dials all its lines again")
        let recovered = try #require(given.state.queues["q"]?.guardChangedBy)
        #expect(recovered.level == .normal && recovered.previous == .capped && recovered.abandoned == 2 && recovered.liveAnswers == 81)
    }

    /// Telnyx has no cancel that spares an answered call: a loser who picks up as our hang-up lands is cut
    /// off. Abandoned (the guard counts them), cause `raced-hangup`, no message possible — and never for
    /// a machine, or a call that ended any other way.
    @Test func aPersonCutOffByOurHangUpIsAbandonedWithoutAMessage() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        #expect(given.refusal(.recordCutOff(batchId: "g1", callId: "g1-2", answeredBy: .machine)) != nil)
        let events = try given.when(.recordCutOff(batchId: "g1", callId: "g1-2", answeredBy: .human))
        guard case .callAbandoned(let abandoned) = events.first else { Issue.record("\(events)"); return }
        #expect(abandoned.cause == .racedHangup && abandoned.safeHarbor == .cutOff && abandoned.message == nil)
        #expect(DialerPolicy.followUps(after: events).isEmpty)
        #expect(given.state.queues["q"]?.abandonment.withoutSafeHarbor == 1)
        #expect(given.refusal(.recordCutOff(batchId: "g1", callId: "g1-2", answeredBy: .human)) != nil)   // once
        #expect(given.refusal(.recordCutOff(batchId: "g1", callId: "g1-1", answeredBy: .human)) != nil)   // the winner
    }

    @Test func theWindowIsTheLast30DaysAndLifetimeTotalsStay() throws {
        var given = try dialled()
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        try given.when(.hangUp(sessionId: "s"))
        #expect(given.state.queues["q"]?.guardLevel == .capped)  // 1 of 2
        var later = given
        later.advance(29 * 86_400_000)  // the abandonment's day is still in the window
        try later.when(.startBatch(sessionId: "s", batchId: "g2"))
        #expect(later.state.batches["g2"]?.fanout == 1)
        given.advance(30 * 86_400_000)  // now it is not
        let events = try given.when(.startBatch(sessionId: "s", batchId: "g2"))
        #expect(events.first?.type == AbandonmentGuardChanged.type)
        #expect(given.state.batches["g2"]?.fanout == 3)
        let queue = try #require(given.state.queues["q"])
        #expect(queue.abandonment.window(endingAt: given.time) == .init(liveAnswers: 0, abandoned: 0))
        #expect(queue.abandonment.lifetime == .init(liveAnswers: 2, abandoned: 1))
        #expect(queue.abandonmentRate == 0.5)
    }
}
