import DialerCore
import SwitchboardJSON
import SwitchboardTestSupport
import Testing

@Suite("Queues and sessions")
struct QueueAndSessionTests {
    @Test func creatingAQueueRecordsItAndItsContacts() throws {
        var given = Given()
        let contacts = Fixture.contacts(2)
        let events = try given.when(.createQueue(queueId: "q", name: "Leads", segment: nil, maxAttempts: 3, contacts: contacts))
        #expect(events == Fixture.queueCreated(retryDelayMs: Queue.defaultRetryDelayMs, safeHarborMessage: nil, contacts: contacts))
        #expect(given.state.queues["q"]?.state == .idle)
        #expect(given.state.queues["q"]?.pendingCount == 2)
    }

    @Test func queueInputIsValidated() {
        let given = Given(Fixture.queueCreated(contacts: Fixture.contacts(1)))
        #expect(given.refusal(.createQueue(queueId: "q", name: "Again", segment: nil, maxAttempts: 3, contacts: []))
                == .queueAlreadyExists("q"))
        #expect(given.refusal(.createQueue(queueId: "q2", name: "  ", segment: nil, maxAttempts: 3, contacts: []))?.kind == .invalid)
        #expect(given.refusal(.createQueue(queueId: "q2", name: "X", segment: nil, maxAttempts: 0, contacts: []))?.kind == .invalid)
        #expect(given.refusal(.createQueue(queueId: "q2", name: "X", segment: nil, maxAttempts: 3,
                                           contacts: [Fixture.contact("a"), Fixture.contact("a")])) == .duplicateContact("a"))
        #expect(given.refusal(.addContacts(queueId: "q", contacts: [Fixture.contact("c1")])) == .duplicateContact("c1"))
        #expect(given.refusal(.addContacts(queueId: "nope", contacts: [Fixture.contact("x")])) == .queueNotFound("nope"))
        #expect(given.refusal(.addContacts(queueId: "q", contacts: []))?.kind == .invalid)
        // Issue 20, D19: names people read back carry no control characters or bidirectional overrides.
        let hidden = DomainError.invalidValue(field: "name", message: "must not contain control characters or bidirectional overrides")
        for name in ["Leads\u{0}", "Lea\u{202E}sd", "Tab\tbed", "\u{85}Next line"] {
            #expect(given.refusal(.createQueue(queueId: "q2", name: name, segment: nil, maxAttempts: 3, contacts: [])) == hidden, "\(name)")
        }
        #expect(given.refusal(.createQueue(queueId: "q2", name: "Café Ünïcode 東京", segment: nil, maxAttempts: 3, contacts: [])) == nil)
        #expect(given.refusal(.addContacts(queueId: "q", contacts: [Fixture.contact("c\u{1B}[31m")]))
                == .invalidValue(field: "contactId", message: "must not contain control characters or bidirectional overrides"))
    }

    @Test func sessionDefaultsAreThoseOfTheProduct() {
        let settings = SessionSettings.backToBack
        #expect(settings.maxLines == nil)  // the profile decides: balanced → 3
        #expect(settings.cooldownMs == 2000)
        #expect(settings.ringTimeoutMs == 30_000)
        #expect(StrategyProfile.balanced.fanout == 3 && StrategyProfile.balanced.staggerMs == 500)
    }

    @Test func startingASessionActivatesTheQueue() throws {
        var given = Given(Fixture.queueCreated(contacts: Fixture.contacts(1)))
        let start = Command.startSession(sessionId: "s", agentId: "agent-1", queueId: "q", mode: .parallel,
                                         profile: .auto, settings: .backToBack, callerIds: Fixture.callerIds)
        #expect(try given.when(start) == [Fixture.sessionStarted()])
        #expect(given.state.queues["q"]?.state == .active)
        #expect(given.state.sessions["s"]?.state == .active)
        #expect(given.refusal(start) == .sessionAlreadyExists("s"))
    }

    @Test(arguments: [
        (SessionSettings(maxLines: 7, wrapUpMs: 0), "maxLines"),
        (SessionSettings(maxLines: 1, wrapUpMs: 0), "maxLines"),
        (SessionSettings(staggerMs: -1, wrapUpMs: 0), "staggerMs"),
        (SessionSettings(cooldownMs: -5, wrapUpMs: 0), "cooldownMs"),
        (SessionSettings(ringTimeoutMs: 14_999, wrapUpMs: 0), "ringTimeoutMs"),
    ])
    func outOfRangeSettingsAreRefusedByField(settings: SessionSettings, field: String) {
        let given = Given(Fixture.queueCreated(contacts: Fixture.contacts(1)))
        let error = given.refusal(.startSession(sessionId: "s", agentId: "a", queueId: "q", mode: .parallel,
                                                profile: .auto, settings: settings, callerIds: Fixture.callerIds))
        guard case .invalidSettings(let violations) = error else {
            Issue.record("expected invalid settings, got \(String(describing: error))")
            return
        }
        #expect(violations.map(\.field) == [field])
        #expect(error?.kind == .invalid)
    }

    @Test func settingsAtTheEdgesAreAccepted() {
        #expect(SessionSettings(maxLines: 2, staggerMs: 0, cooldownMs: 0, ringTimeoutMs: 15_000, wrapUpMs: 0).violations.isEmpty)
        #expect(SessionSettings(maxLines: 5, staggerMs: 10_000, cooldownMs: 600_000, ringTimeoutMs: 120_000, wrapUpMs: 0).violations.isEmpty)
    }

    @Test func aSessionNeedsCallerIDsAndAFreeAgent() {
        let given = Given(Fixture.queueCreated(contacts: Fixture.contacts(1)) + [Fixture.sessionStarted()])
        #expect(given.refusal(.startSession(sessionId: "s2", agentId: "agent-2", queueId: "q", mode: .single,
                                            profile: .auto, settings: .backToBack, callerIds: []))?.kind == .invalid)
        if case .invalidTransition = given.refusal(.startSession(
            sessionId: "s2", agentId: "agent-1", queueId: "q", mode: .single, profile: .auto, settings: .backToBack,
            callerIds: Fixture.callerIds))
        {} else { Issue.record("a busy agent must not start a second session") }
        #expect(given.refusal(.startSession(sessionId: "s2", agentId: " ", queueId: "q", mode: .single,
                                            profile: .auto, settings: .backToBack, callerIds: Fixture.callerIds))?.kind == .invalid)
        // Issue 20, D19: an agent `a,b` could never follow its own `agent:` topic (the list is split on commas).
        #expect(given.refusal(.startSession(sessionId: "s2", agentId: "agent,2", queueId: "q", mode: .single, profile: .auto,
                                            settings: .backToBack, callerIds: Fixture.callerIds))
                == .invalidValue(field: "agentId", message: "must not contain a comma"))
        #expect(given.refusal(.startSession(sessionId: "s2", agentId: "a", queueId: "none", mode: .single,
                                            profile: .auto, settings: .backToBack, callerIds: Fixture.callerIds)) == .queueNotFound("none"))
    }

    @Test func modeAndSettingsChangesAreRecordedOnlyWhenTheyChangeSomething() throws {
        var given = Fixture.workingQueue()
        #expect(try given.when(.changeMode(sessionId: "s", mode: .parallel)).isEmpty)
        #expect(try given.when(.changeMode(sessionId: "s", mode: .single)) == [.sessionModeChanged(.init(sessionId: "s", mode: .single))])
        let patch = SettingsPatch(maxLines: 4, cooldownMs: 5000)
        #expect(try given.when(.changeSettings(sessionId: "s", patch: patch))
                == [.sessionSettingsChanged(.init(sessionId: "s", settings: SessionSettings(maxLines: 4, cooldownMs: 5000, wrapUpMs: 0)))])
        #expect(try given.when(.changeSettings(sessionId: "s", patch: patch)).isEmpty)
        #expect(given.refusal(.changeSettings(sessionId: "s", patch: SettingsPatch(maxLines: 7)))?.kind == .invalid)
        #expect(given.refusal(.changeMode(sessionId: "nobody", mode: .single)) == .sessionNotFound("nobody"))
    }

    // Changed (issue 8): pause and resume were queue-wide acts of any agent; an agent's pause and
    // resume now touch that agent's session only.
    @Test func anAgentsPauseAndResumeAreIdempotentAndTouchOnlyTheirSession() throws {
        var given = Fixture.workingQueue()
        #expect(try given.when(.pauseSession(sessionId: "s")) == [.sessionPaused(.init(sessionId: "s", reason: .requested))])
        #expect(try given.when(.pauseSession(sessionId: "s")).isEmpty)
        #expect(given.refusal(.startBatch(sessionId: "s", batchId: "g1")) == .sessionPaused("s"))
        #expect(given.state.queues["q"]?.state == .paused, "its only session is paused")
        #expect(try given.when(.resumeSession(sessionId: "s")) == [.sessionResumed(.init(sessionId: "s"))])
        #expect(try given.when(.resumeSession(sessionId: "s")).isEmpty)
        #expect(given.state.queues["q"]?.state == .active)
        #expect(given.state.sessions["s"]?.state == .active)
    }

    @Test func aSupervisorPausesResumesAndStopsTheWholeQueue() throws {
        var given = Fixture.workingQueue()
        given.apply([Fixture.sessionStarted("s2", agent: "agent-2")])
        #expect(try given.when(.pauseQueue(queueId: "q")) == [.queuePaused(.init(queueId: "q", reason: .requested, sessionId: nil))])
        #expect(try given.when(.pauseQueue(queueId: "q")).isEmpty)
        #expect(given.state.queues["q"]?.state == .paused)
        #expect(given.refusal(.startBatch(sessionId: "s2", batchId: "g1")) == .queueNotWorkable("q", .paused))
        // A session's own resume does not lift the queue-wide pause.
        #expect(try given.when(.resumeSession(sessionId: "s")).isEmpty)
        #expect(given.state.queues["q"]?.state == .paused)
        #expect(try given.when(.resumeQueue(queueId: "q")) == [.queueResumed(.init(queueId: "q", sessionId: nil))])
        #expect(try given.when(.resumeQueue(queueId: "q")).isEmpty)
        #expect(given.state.queues["q"]?.state == .active)
        // Stop: every session on it stops, a live batch is cancelled, and nothing reopens it.
        try Fixture.dialAll(&given)
        let events = try given.when(.stopQueue(queueId: "q"))
        #expect(events.suffix(3) == [
            .sessionEnded(.init(sessionId: "s", reason: .queueStopped)),
            .sessionEnded(.init(sessionId: "s2", reason: .queueStopped)),
            .queueStopped(.init(queueId: "q", sessionId: nil)),
        ])
        #expect(events.contains(.batchCancelled(.init(batchId: "g1", reason: .queueStopped, releasedContactIds: ["c1", "c2", "c3"]))))
        #expect(given.state.queues["q"]?.state == .stopped)
        #expect(try given.when(.stopQueue(queueId: "q")).isEmpty)
        #expect(given.refusal(.resumeQueue(queueId: "q")) == .queueNotWorkable("q", .stopped))
        #expect(given.refusal(.startSession(sessionId: "s3", agentId: "agent-3", queueId: "q", mode: .parallel, profile: .auto,
                                            settings: .backToBack, callerIds: Fixture.callerIds)) == .queueNotWorkable("q", .stopped))
    }

    // Changed (issue 8): stopping one agent's session stopped the queue for good; now the queue goes
    // on for the other agents.
    @Test func stoppingASessionCancelsItsBatchAndTheQueueGoesOnForOthers() throws {
        var given = Fixture.workingQueue()
        given.apply([Fixture.sessionStarted("s2", agent: "agent-2")])
        try Fixture.dialAll(&given)
        let events = try given.when(.stopSession(sessionId: "s"))
        #expect(events == [
            .callTerminated(.init(batchId: "g1", callId: "g1-1", reason: .cancelled)),
            .callTerminated(.init(batchId: "g1", callId: "g1-2", reason: .cancelled)),
            .callTerminated(.init(batchId: "g1", callId: "g1-3", reason: .cancelled)),
            .batchCancelled(.init(batchId: "g1", reason: .sessionStopped, releasedContactIds: ["c1", "c2", "c3"])),
            .sessionEnded(.init(sessionId: "s", reason: .stopped)),
        ])
        #expect(given.state.queues["q"]?.state == .active)
        #expect(given.refusal(.stopSession(sessionId: "s")) == .sessionEnded("s"))
        // The other agent dials the released contacts (still fresh: a cancelled call is not an attempt).
        try given.when(.startBatch(sessionId: "s2", batchId: "g2"))
        #expect(given.state.batches["g2"]?.calls.map(\.contactId) == ["c1", "c2", "c3"])
    }

    // Changed (issue 8): the stop no longer stops the queue, and the agent can still hang up.
    @Test func stoppingDuringAConversationLetsTheAgentFinish() throws {
        var given = Fixture.workingQueue()
        try Fixture.dialAll(&given)
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try given.when(.endLosingCalls(batchId: "g1"))
        let events = try given.when(.stopSession(sessionId: "s"))
        #expect(events == [.sessionEnded(.init(sessionId: "s", reason: .stopped))])
        #expect(given.state.batches["g1"]?.status == .connected)
        // Still on the call: no new session for this agent until it ends.
        let again = Command.startSession(sessionId: "s2", agentId: "agent-1", queueId: "q", mode: .parallel, profile: .auto,
                                         settings: .backToBack, callerIds: Fixture.callerIds)
        #expect(given.refusal(again) == .agentOnCall("agent-1"))
        #expect(try given.when(.hangUp(sessionId: "s")) == [
            .callCompleted(.init(batchId: "g1", callId: "g1-1", endedBy: .agent)),
            .batchCompleted(.init(batchId: "g1", result: .connected, winnerCallId: "g1-1")),
        ])
        #expect(given.state.batches["g1"]?.status == .completed)
        #expect(try given.when(again).count == 1)
    }

    @Test func twoAgentsOnOneQueuePauseAndCancelOnlyTheirOwnDialling() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(9))
        given.apply([Fixture.sessionStarted("s2", agent: "agent-2")])
        try Fixture.dialAll(&given, group: "g1", session: "s")
        try Fixture.dialAll(&given, group: "g2", session: "s2")
        // Agent 1 terminates a batch nobody answered: agent 1's dialling pauses, agent 2's does not.
        let events = try given.when(.cancelBatch(batchId: "g1"))
        #expect(events.last == .sessionPaused(.init(sessionId: "s", reason: .batchCancelled)))
        #expect(given.state.sessions["s"]?.state == .paused)
        #expect(given.state.sessions["s2"]?.state == .active)
        #expect(given.state.queues["q"]?.state == .active, "agent 2 still dials it")
        #expect(given.state.batches["g2"]?.status == .dialing)
        try given.when(.pauseSession(sessionId: "s2"))
        #expect(given.state.queues["q"]?.state == .paused, "every session on it is paused")
        try given.when(.resumeSession(sessionId: "s"))
        #expect(given.state.queues["q"]?.state == .active)
    }

    @Test func aPauseStopsTheBatchFromPlacingItsRemainingCalls() throws {
        var given = Fixture.workingQueue()
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        #expect(try given.when(.pauseSession(sessionId: "s")) == [
            .sessionPaused(.init(sessionId: "s", reason: .requested)),
            .callTerminated(.init(batchId: "g1", callId: "g1-2", reason: .cancelled)),
            .callTerminated(.init(batchId: "g1", callId: "g1-3", reason: .cancelled)),
        ])
        // The placed call rings on; the unplaced ones are never placed, and their contacts wait.
        #expect(given.state.batches["g1"]?.call("g1-1")?.status == .dialing)
        #expect(given.refusal(.placeCall(batchId: "g1", callId: "g1-2")) == .callEnded("g1-2", .terminated))
        #expect(given.state.queues["q"]?.contacts["c2"]?.attempts == 0)
        #expect(given.state.queues["q"]?.contacts["c2"]?.isDialable(maxAttempts: 3, at: given.time) == true)
        // A pause before any call was placed cancels the batch.
        var early = Fixture.workingQueue()
        try early.when(.startBatch(sessionId: "s", batchId: "g1"))
        let events = try early.when(.pauseSession(sessionId: "s"))
        #expect(events.last == .batchCancelled(.init(batchId: "g1", reason: .requested, releasedContactIds: ["c1", "c2", "c3"])))
        #expect(early.state.sessions["s"]?.currentBatch == nil)
    }

    @Test func nothingIsPlacedOnceTheBatchHasAWinner() throws {
        var given = Fixture.workingQueue()
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        try given.when(.placeCall(batchId: "g1", callId: "g1-1"))
        try given.when(.recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        // The stagger timer of the second call fires before the losers are ended.
        #expect(given.refusal(.placeCall(batchId: "g1", callId: "g1-2")) == .invalidTransition("group g1 already has a winner"))
    }

    @Test func aQueueCanBeMarkedInError() throws {
        var given = Fixture.workingQueue()
        #expect(try given.when(.failQueue(queueId: "q", reason: "carrier down")) == [.queueErrored(.init(queueId: "q", reason: "carrier down"))])
        #expect(given.state.queues["q"]?.state == .error)
        #expect(try given.when(.failQueue(queueId: "q", reason: "again")).isEmpty)
    }
}

@Suite("Batches: fanout, stagger, profiles, local presence")
struct BatchTests {
    @Test func aBalancedBatchDialsThreeContactsFiveHundredMillisecondsApart() throws {
        var given = Fixture.workingQueue(contacts: [
            Fixture.contact("c1", "+15125550001"), Fixture.contact("c2", "+17135550002"),
            Fixture.contact("c3", "+12125550003"), Fixture.contact("c4", "+12125550004"),
        ])
        let events = try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(events == [
            .batchStarted(.init(batchId: "g1", sessionId: "s", queueId: "q", agentId: "agent-1", mode: .parallel,
                                profile: .balanced, fanout: 3, staggerMs: 500, amdPolicy: .humanOrUnknown,
                                ringTimeoutMs: 30_000, calls: [
                PlannedCall(callId: "g1-1", contactId: "c1", to: PhoneNumber("+15125550001")!, callerId: Fixture.callerIds[0], offsetMs: 0),
                PlannedCall(callId: "g1-2", contactId: "c2", to: PhoneNumber("+17135550002")!, callerId: Fixture.callerIds[1], offsetMs: 500),
                PlannedCall(callId: "g1-3", contactId: "c3", to: PhoneNumber("+12125550003")!, callerId: Fixture.callerIds[0], offsetMs: 1000),
            ])),
            .profileSelected(.init(batchId: "g1", sessionId: "s", queueId: "q", profile: .balanced, reason: .default,
                                   dialedCalls: 0, humanAnswers: 0)),
        ])
        #expect(given.state.sessions["s"]?.currentBatch == "g1")
        #expect(given.refusal(.startBatch(sessionId: "s", batchId: "g2")) == .batchInProgress("s", "g1"))
        #expect(given.refusal(.startBatch(sessionId: "s", batchId: "g1")) == .groupAlreadyExists("g1"))
    }

    @Test func singleModeDialsOneContact() throws {
        var given = Fixture.workingQueue(mode: .single)
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(given.state.batches["g1"]?.calls.map(\.contactId) == ["c1"])
        #expect(given.state.batches["g1"]?.fanout == 1)
    }

    @Test func explicitSettingsOverrideTheProfilesFanoutAndStagger() throws {
        var given = Fixture.workingQueue(settings: SessionSettings(maxLines: 5, staggerMs: 250, wrapUpMs: 0))
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        let group = try #require(given.state.batches["g1"])
        #expect(group.profile == .balanced)
        #expect(group.calls.map(\.offsetMs) == [0, 250, 500, 750, 1000])
        #expect(group.amdPolicy == .humanOrUnknown)
    }

    @Test func aQueueNamedVIPIsWorkedConservatively() throws {
        var given = Fixture.workingQueue(name: "Gold vIp accounts")
        let events = try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        let group = try #require(given.state.batches["g1"])
        #expect(group.profile == .conservative && group.fanout == 2 && group.staggerMs == 800 && group.amdPolicy == .humanOnly)
        #expect(events.last == .profileSelected(.init(batchId: "g1", sessionId: "s", queueId: "q", profile: .conservative,
                                                      reason: .vipQueueName, dialedCalls: 0, humanAnswers: 0)))
    }

    @Test func aVIPSegmentQueueIsWorkedConservatively() throws {
        var given = Fixture.workingQueue(segment: "VIP")
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(given.state.batches["g1"]?.profileReason == .vipSegment)
        #expect(given.state.batches["g1"]?.calls.count == 2)
    }

    @Test func vipContactsInAnOrdinaryQueueGetBatchesOfTheirOwn() throws {
        var given = Fixture.workingQueue(contacts: [
            Fixture.contact("v1", segment: "vip"), Fixture.contact("c1"), Fixture.contact("v2", segment: "VIP"),
            Fixture.contact("c2"), Fixture.contact("v3", segment: "vip"),
        ])
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(given.state.batches["g1"]?.calls.map(\.contactId) == ["v1", "v2"])
        #expect(given.state.batches["g1"]?.profile == .conservative)
        try given.when(.cancelBatch(batchId: "g1"))
        try given.when(.resumeSession(sessionId: "s"))
        // The cancelled VIPs are pending again and come first again.
        try given.when(.startBatch(sessionId: "s", batchId: "g2"))
        #expect(given.state.batches["g2"]?.calls.map(\.contactId) == ["v1", "v2"])
    }

    @Test func anExplicitProfileWinsOverContext() throws {
        var given = Fixture.workingQueue(name: "VIP", profile: .fixed(.aggressive))
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(given.state.batches["g1"]?.profile == .aggressive)
        #expect(given.state.batches["g1"]?.profileReason == .explicit)
        #expect(given.state.batches["g1"]?.calls.map(\.offsetMs) == [0, 300, 600, 900, 1200])
    }

    @Test(arguments: [
        (25, 2, StrategyProfile.Name.aggressive),  // 8 % after 25 calls
        (25, 3, .balanced),  // exactly 12 % is not below 12 %
        (24, 0, .balanced),  // too few calls to judge
        (100, 11, .aggressive),
        (100, 12, .balanced),
    ])
    func aQueueWithALowAnswerRateIsWorkedAggressively(dialed: Int, human: Int, expected: StrategyProfile.Name) {
        let choice = StrategyProfileRegistry.select(for: ProfileContext(
            choice: .auto, queueName: "Leads", queueSegment: nil, dialedCalls: dialed, humanAnswers: human))
        #expect(choice.profile.name == expected)
        #expect(choice.reason == (expected == .aggressive ? .lowAnswerRate : .default))
    }

    @Test func theProfileIsChosenAgainAtEveryBatchFromTheQueuesAnswerRate() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(40), maxAttempts: 1)
        var batch = 0
        // Work batches that nobody answers until the queue has 25 dialled calls.
        while (given.state.queues["q"]?.dialedCalls ?? 0) < 25 {
            batch += 1
            let group = BatchID("g\(batch)")
            try Fixture.dialAll(&given, group: group)
            #expect(given.state.batches[group]?.profile == .balanced)
            for call in given.state.batches[group]?.calls ?? [] {
                try given.when(.recordNoAnswer(batchId: group, callId: call.id, cause: .timeout))
            }
        }
        try given.when(.startBatch(sessionId: "s", batchId: "next"))
        #expect(given.state.batches["next"]?.profile == .aggressive)
        #expect(given.state.batches["next"]?.profileReason == .lowAnswerRate)
        #expect(given.state.batches["next"]?.calls.count == 5)
    }

    @Test func localPresencePicksACallerIDFromTheRecipientsAreaCode() {
        let pool = CallerIDPool(Fixture.callerIds)!
        #expect(pool.callerID(for: PhoneNumber("+15125551234")!) == Fixture.callerIds[0])
        #expect(pool.callerID(for: PhoneNumber("+17135551234")!) == Fixture.callerIds[1])
        #expect(pool.callerID(for: PhoneNumber("+12125551234")!) == Fixture.callerIds[0])  // no 212 number: default
        #expect(pool.callerID(for: PhoneNumber("+442071234567")!) == Fixture.callerIds[0])  // outside NANP
        #expect(CallerIDPool([]) == nil)
    }

    @Test func aQueueTakesEachPhoneNumberOnce() throws {
        var given = Fixture.workingQueue(contacts: [Fixture.contact("c1", "+15125550001")])
        // A retried upload under new ids does not ring one person on two lines.
        #expect(given.refusal(.addContacts(queueId: "q", contacts: [Fixture.contact("again", "+15125550001")]))
                == .duplicatePhone(PhoneNumber("+15125550001")!))
        #expect(given.refusal(.addContacts(queueId: "q", contacts: [Fixture.contact("x", "+15125550002"),
                                                                   Fixture.contact("y", "+15125550002")]))
                == .duplicatePhone(PhoneNumber("+15125550002")!))
        #expect(try given.when(.addContacts(queueId: "q", contacts: [Fixture.contact("c2", "+15125550002")])).count == 1)
    }

    @Test func aSessionChangeAppliesWholeOrNotAtAll() throws {
        var given = Fixture.workingQueue()
        // A valid mode with invalid settings changes nothing.
        #expect(given.refusal(.changeSession(sessionId: "s", mode: .single, patch: SettingsPatch(maxLines: 9)))?.kind == .invalid)
        #expect(given.state.sessions["s"]?.mode == .parallel)
        #expect(try given.when(.changeSession(sessionId: "s", mode: .single, patch: SettingsPatch(cooldownMs: 100))) == [
            .sessionModeChanged(.init(sessionId: "s", mode: .single)),
            .sessionSettingsChanged(.init(sessionId: "s", settings: SessionSettings(cooldownMs: 100, wrapUpMs: 0))),
        ])
    }

    @Test func explicitLinesApplyButAVIPBatchNeverUsesMoreThanTwo() throws {
        var ordinary = Fixture.workingQueue(settings: SessionSettings(maxLines: 5, staggerMs: 100, wrapUpMs: 0))
        try ordinary.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(ordinary.state.batches["g1"]?.calls.map(\.offsetMs) == [0, 100, 200, 300, 400])
        var vip = Fixture.workingQueue(name: "VIP accounts", settings: SessionSettings(maxLines: 5, staggerMs: 100, wrapUpMs: 0))
        try vip.when(.startBatch(sessionId: "s", batchId: "g1"))
        #expect(vip.state.batches["g1"]?.calls.map(\.offsetMs) == [0, 100])
        #expect(vip.state.batches["g1"]?.amdPolicy == .humanOnly)
    }

    @Test func phoneNumbersMustBeE164() {
        #expect(PhoneNumber("+15125550100")?.nanpAreaCode == "512")
        #expect(PhoneNumber("+442071234567")?.nanpAreaCode == nil)
        // NANP: ten digits after +1; neither the area code nor the exchange starts with 0 or 1.
        for bad in ["5125550100", "+0123456789", "+1512555010a", "+1234567890123456", "", "+", "+10125550100",
                    "+11125550100", "+15121550100", "+15120550100", "+1512555010", "+151255501000"] {
            #expect(PhoneNumber(bad) == nil, "\(bad) should be refused")
        }
    }

    @Test func aContactInAnotherSessionsLiveBatchIsNeverDialledTwice() throws {
        var given = Fixture.workingQueue(contacts: Fixture.contacts(4))
        given.apply([Fixture.sessionStarted("s2", agent: "agent-2")])
        try given.when(.startBatch(sessionId: "s", batchId: "g1"))
        try given.when(.startBatch(sessionId: "s2", batchId: "g2"))
        #expect(given.state.batches["g1"]?.calls.map(\.contactId) == ["c1", "c2", "c3"])
        #expect(given.state.batches["g2"]?.calls.map(\.contactId) == ["c4"])
        // Nothing left that is not already in flight: the third session must wait, not re-dial.
        given.apply([Fixture.sessionStarted("s3", agent: "agent-3")])
        #expect(given.refusal(.startBatch(sessionId: "s3", batchId: "g3")) == .nothingToDial("q"))
    }

    @Test func modeChangesApplyFromTheNextBatch() throws {
        var given = Fixture.workingQueue()
        try Fixture.dialAll(&given)
        try given.when(.changeMode(sessionId: "s", mode: .single))
        #expect(given.state.batches["g1"]?.calls.count == 3)
        try given.when(.cancelBatch(batchId: "g1"))
        try given.when(.resumeSession(sessionId: "s"))
        try given.when(.startBatch(sessionId: "s", batchId: "g2"))
        #expect(given.state.batches["g2"]?.calls.count == 1)
        #expect(given.state.batches["g2"]?.mode == .single)
    }
}
