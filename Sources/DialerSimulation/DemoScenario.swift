import DialerCore
import EventStore
import SwitchboardJSON
import SwitchboardBasics
import DialerEngine
import WritePath

/// A scripted day in a contact centre, on a virtual timeline, that exercises every event type:
/// winners and losers, voicemail, abandonment, AMD policy, no-answer, failure, cancel and resume,
/// mode and settings changes, a VIP queue, a stopped session, an errored queue and a completed one,
/// safe-harbor messages and the abandonment guard, a queue waiting for its calling hours, an agent on a
/// real carrier whose own phone drops.
///
/// Until the dialer engine drives calls from a carrier, this is what `switchboard demo` records, and
/// the tests use it as a log that contains everything.
public enum DemoScenario {
    public static let startAt = Timestamp(rfc3339: "2026-01-05T15:00:00.000Z") ?? .epoch
    /// The day's agents go from one conversation to the next batch at once (no wrap-up): its story is
    /// the batches, told at fixed times.
    static let backToBack = SessionSettings(wrapUpMs: 0)
    public static let callerIds = ["+15125550100", "+17135550100", "+18005550100"].compactMap(PhoneNumber.init)

    /// Records the scenario through `handler`. Returns the number of commands that produced events.
    @discardableResult
    public static func run(_ handler: CommandHandler) async throws -> Int {
        var clock = startAt
        var recorded = 0
        func at(_ ms: Int64) -> Timestamp { startAt.adding(milliseconds: ms) }
        func run(_ ms: Int64, _ command: Command) async throws {
            clock = max(clock, at(ms))
            if try await !handler.handle(command, at: clock).isEmpty { recorded += 1 }
        }
        func contact(_ id: String, _ phone: String, segment: String? = nil) -> NewContact {
            NewContact(contactId: ContactID(id), name: "Contact \(id)", phone: PhoneNumber(phone) ?? callerIds[0],
                       segment: segment)
        }

        // The organisation: its caller IDs (one added by mistake and taken out again), and who has access
        // (tokens as the log records them: a hash prefix, never a token).
        let mistake = PhoneNumber("+13055550100") ?? callerIds[0]
        try await run(0, .addCallerIds(callerIds + [mistake]))
        try await run(0, .removeCallerId(mistake))
        try await run(0, .issueToken(tokenId: "tok-floor", role: .supervisor, agentId: nil, label: "floor lead",
                                     hashPrefix: "5e1f0c2a", expiresAt: nil))
        try await run(0, .issueToken(tokenId: "tok-agent-1", role: .agent, agentId: "agent-1", label: nil,
                                     hashPrefix: "9b7d03e4", expiresAt: at(86_400_000)))

        // A number asked not to be called; one listed by mistake and taken off again.
        let listedByMistake = PhoneNumber("+12025550199") ?? callerIds[0]
        try await run(0, .addDoNotCall([listedByMistake], source: .request))
        try await run(0, .removeDoNotCall(listedByMistake))

        // Queues
        try await run(0, .createQueue(queueId: "leads", name: "Leads", segment: nil, maxAttempts: 3, contacts: [
            contact("c1", "+15125550001"), contact("c2", "+17135550002"), contact("c3", "+12125550003"),
            contact("c4", "+12125550004"), contact("c5", "+15125550005"), contact("c6", "+17135550006"),
        ], retryDelayMs: 0))  // this scripted day retries at once
        try await run(0, .createQueue(queueId: "vip", name: "VIP Accounts", segment: nil, maxAttempts: 2, contacts: [
            contact("v1", "+15125550101"), contact("v2", "+17135550102"),
        ]))
        try await run(0, .createQueue(queueId: "renewals", name: "Renewals", segment: "smb", maxAttempts: 1, contacts: [
            contact("r1", "+13125550201"),
        ]))
        try await run(0, .setQueueCallerIds(queueId: "renewals", callerIds: [callerIds[0]]))
        try await run(0, .createQueue(queueId: "broken", name: "Imported list", segment: nil, maxAttempts: 3, contacts: []))
        // Who works what: each agent is assigned its queue; one assignment made in error is taken back.
        for (agent, queue) in [("agent-1", "leads"), ("agent-2", "vip"), ("agent-3", "renewals"), ("agent-3", "broken")] {
            try await run(0, .assignAgent(queueId: QueueID(queue), agentId: AgentID(agent)))
        }
        try await run(0, .unassignAgent(queueId: "broken", agentId: "agent-3"))

        // Safe-harbor messages: the organisation's, and the leads queue's own.
        try await run(0, .setOrganisationSafeHarbor(message: "This is Demo Co. Call us back at 512 555 0100; press 9 to opt out."))
        try await run(0, .setQueueCompliance(queueId: "leads", compliance: QueueCompliance(
            safeHarborMessage: "This is Demo Co about your enquiry. Call 512 555 0100 back; press 9 to stop our calls.",
            abandonWarnPercent: QueueCompliance.defaultWarn, abandonCapPercent: QueueCompliance.legalCap)))

        // Overnight: a Honolulu contact at 05:00 local waits for its calling hours.
        try await run(0, .createQueue(queueId: "overnight", name: "Hawaii", segment: nil, maxAttempts: 1, contacts: [
            contact("h1", "+18085550301"),
        ]))

        // Agent 1 works the leads in parallel.
        try await run(100, .startSession(sessionId: "s1", agentId: "agent-1", queueId: "leads", mode: .parallel,
                                         profile: .auto, settings: Self.backToBack, callerIds: callerIds))
        try await run(200, .startBatch(sessionId: "s1", batchId: "g1"))
        try await run(200, .placeCall(batchId: "g1", callId: "g1-1"))
        try await run(700, .placeCall(batchId: "g1", callId: "g1-2"))
        try await run(900, .recordRinging(batchId: "g1", callId: "g1-1"))
        try await run(1200, .placeCall(batchId: "g1", callId: "g1-3"))
        try await run(1300, .recordRinging(batchId: "g1", callId: "g1-2"))
        try await run(1500, .recordRinging(batchId: "g1", callId: "g1-3"))
        try await run(1600, .recordAnswer(batchId: "g1", callId: "g1-2", answeredBy: .machine))
        try await run(2400, .recordAnswer(batchId: "g1", callId: "g1-1", answeredBy: .human))
        try await run(2400, .endLosingCalls(batchId: "g1"))
        try await run(9000, .hangUp(sessionId: "s1"))

        // Switch to single mode for one call, then back, with a longer cooldown.
        try await run(9100, .changeMode(sessionId: "s1", mode: .single))
        try await run(9100, .changeSettings(sessionId: "s1", patch: SettingsPatch(cooldownMs: 3000)))
        try await run(9200, .startBatch(sessionId: "s1", batchId: "g2"))
        try await run(9200, .placeCall(batchId: "g2", callId: "g2-1"))
        try await run(9800, .recordRinging(batchId: "g2", callId: "g2-1"))
        try await run(39_200, .recordNoAnswer(batchId: "g2", callId: "g2-1", cause: .timeout))
        try await run(39_300, .changeMode(sessionId: "s1", mode: .parallel))

        // A batch with a failure, then cancelled by the agent: the agent's dialling pauses, then resumes.
        try await run(42_300, .startBatch(sessionId: "s1", batchId: "g3"))
        try await run(42_300, .placeCall(batchId: "g3", callId: "g3-1"))
        try await run(42_400, .recordFailure(batchId: "g3", callId: "g3-1", reason: "invalid-number"))
        try await run(42_800, .placeCall(batchId: "g3", callId: "g3-2"))
        try await run(43_000, .cancelBatch(batchId: "g3"))
        try await run(45_000, .resumeSession(sessionId: "s1"))

        // Two people answer at the same instant: one winner, one abandoned.
        try await run(45_100, .startBatch(sessionId: "s1", batchId: "g4"))
        try await run(45_100, .placeCall(batchId: "g4", callId: "g4-1"))
        try await run(45_600, .placeCall(batchId: "g4", callId: "g4-2"))
        try await run(46_100, .placeCall(batchId: "g4", callId: "g4-3"))
        try await run(47_000, .recordAnswer(batchId: "g4", callId: "g4-1", answeredBy: .human))
        try await run(47_000, .recordAnswer(batchId: "g4", callId: "g4-2", answeredBy: .human))
        try await run(47_000, .endLosingCalls(batchId: "g4"))
        // The abandoned person hears the queue's message (the queue is now capped at one line: 1 of 3).
        try await run(47_400, .recordSafeHarborStarted(batchId: "g4", callId: "g4-2"))
        try await run(53_400, .recordSafeHarborEnded(batchId: "g4", callId: "g4-2"))
        try await run(80_000, .recordHangup(batchId: "g4", callId: "g4-1"))
        try await run(80_050, .recordDisposition(sessionId: "s1", callId: "g4-1", outcome: .interested,
                                                 notes: "send the price list", callbackAt: nil))
        try await run(80_100, .addContacts(queueId: "leads", contacts: [contact("c7", "+15125550007")]))

        // Agent 2 on the VIP queue: conservative, human-only; an unknown answer is not connected.
        try await run(1000, .startSession(sessionId: "s2", agentId: "agent-2", queueId: "vip", mode: .parallel,
                                          profile: .auto, settings: Self.backToBack, callerIds: callerIds))
        try await run(81_000, .startBatch(sessionId: "s2", batchId: "g5"))
        try await run(81_000, .placeCall(batchId: "g5", callId: "g5-1"))
        try await run(81_800, .placeCall(batchId: "g5", callId: "g5-2"))
        try await run(83_000, .recordAnswer(batchId: "g5", callId: "g5-1", answeredBy: .unknown))
        try await run(84_000, .recordNoAnswer(batchId: "g5", callId: "g5-2", cause: .busy))
        // A supervisor pauses and resumes the whole VIP queue; the agent stops; the supervisor stops the queue.
        try await run(85_000, .pauseQueue(queueId: "vip"))
        try await run(85_500, .resumeQueue(queueId: "vip"))
        try await run(86_000, .stopSession(sessionId: "s2"))
        try await run(86_500, .stopQueue(queueId: "vip"))

        // Agent 3 finishes the renewals queue: a voicemail, then nothing is left.
        try await run(87_000, .startSession(sessionId: "s3", agentId: "agent-3", queueId: "renewals", mode: .single,
                                            profile: .fixed(.balanced), settings: Self.backToBack, callerIds: callerIds))
        try await run(87_100, .startBatch(sessionId: "s3", batchId: "g6"))
        try await run(87_100, .placeCall(batchId: "g6", callId: "g6-1"))
        try await run(90_000, .recordAnswer(batchId: "g6", callId: "g6-1", answeredBy: .machine))
        try await run(92_000, .startBatch(sessionId: "s3", batchId: "g7"))

        // Agent 4 on the Hawaii queue: nobody may be called yet, so the queue waits; the agent stops.
        try await run(92_500, .startSession(sessionId: "s4", agentId: "agent-4", queueId: "overnight", mode: .single,
                                            profile: .auto, settings: Self.backToBack, callerIds: callerIds))
        try await run(92_500, .startBatch(sessionId: "s4", batchId: "g8"))
        try await run(92_600, .stopSession(sessionId: "s4"))

        // Agent 5 on a real carrier: called in on their own phone first; the carrier names the call it
        // places; the agent's phone drops while it rings, so the batch ends and the session pauses.
        try await run(93_000, .createQueue(queueId: "carrier", name: "Twilio floor", segment: nil, maxAttempts: 2, contacts: [
            contact("k1", "+13125550401"), contact("k2", "+13125550402"),
        ]))
        try await run(93_000, .assignAgent(queueId: "carrier", agentId: "agent-5"))
        try await run(93_100, .startSession(sessionId: "s5", agentId: "agent-5", queueId: "carrier", mode: .parallel,
                                            profile: .auto, settings: Self.backToBack, callerIds: callerIds,
                                            agentEndpoint: "+15125550155"))
        try await run(93_900, .recordAgentConnected(sessionId: "s5", carrierCallId: "CA0a5e0000000000000000000000000001"))
        try await run(93_900, .startBatch(sessionId: "s5", batchId: "g9"))
        try await run(93_900, .placeCall(batchId: "g9", callId: "g9-1"))
        try await run(94_100, .recordCarrierCall(batchId: "g9", callId: "g9-1", carrier: "twilio",
                                                 carrierCallId: "CA0a5e0000000000000000000000000002"))
        try await run(95_000, .recordAgentDisconnected(sessionId: "s5", reason: "twilio completed"))
        try await run(95_500, .stopSession(sessionId: "s5"))

        // An imported list the carrier rejects as a whole.
        try await run(93_000, .failQueue(queueId: "broken", reason: "carrier rejected the caller ID"))

        // Agent 1's shift is over: its token is revoked.
        try await run(94_000, .revokeToken(tokenId: "tok-agent-1"))
        return recorded
    }
}
