import SwitchboardJSON
import SwitchboardBasics

/// A batch starting: who is dialled, on how many lines, from which numbers, under which profile.
extension DialerState {

    func startBatch(sessionId: SessionID, batchId: BatchID, minimumStaggerMs: Int64 = 0, at now: Timestamp,
                            wallClockBehindMs behind: Int64) throws(DomainError) -> [DialerEvent] {
        let session = try liveSession(sessionId)
        guard session.state == .active else { throw .sessionPaused(sessionId) }
        if let wrapUp = session.wrapUp, wrapUp.endsAt.map({ now < $0 }) ?? true {
            throw .inWrapUp(sessionId, until: wrapUp.endsAt)
        }
        guard batches[batchId] == nil else { throw .groupAlreadyExists(batchId) }
        if let current = session.currentBatch { throw .batchInProgress(sessionId, current) }
        let queue = try queue(session.queueId)
        guard queue.state == .active else { throw .queueNotWorkable(queue.id, queue.state) }

        // Only contacts inside their calling hours now, wherever each one is. Worked out once per set
        // of zones: a list's contacts share a handful, and the clock of each zone costs a calendar's work.
        var hoursByZones: [[String]: Bool] = [:]
        func inHours(_ contact: Contact) -> Bool {
            guard !doNotCall.contains(contact.phone) else { return false }
            let zones = CallingHours.zones(of: contact)
            if let known = hoursByZones[zones] { return known }
            let allowed = CallingHours.allows(zones, queue.callingWindow, at: now, wallClockBehindMs: behind)
            hoursByZones[zones] = allowed
            return allowed
        }
        guard let head = queue.dialableContacts(limit: 1, at: now, where: inHours).first else {
            guard queue.liveGroups.isEmpty else { throw .nothingToDial(queue.id) }
            // Contacts that only wait — for their retry time or their calling hours — keep the queue open.
            let retry = queue.nextRetryAt(after: now), hours = queue.nextCallingHours(after: now, wallClockBehindMs: behind)
            if let hours, hours <= (retry ?? hours) {
                // Recorded once per wait (the first session to find it); the others are told when to look again.
                guard queue.waitingForHoursUntil != hours else { throw .waitingForCallingHours(queue.id, until: hours) }
                return [.queueWaitingForHours(.init(queueId: queue.id, sessionId: sessionId, until: hours,
                                                    contacts: queue.callingHoursCounts(at: now, wallClockBehindMs: behind).waiting))]
            }
            if let retry { throw .waitingForRetry(queue.id, until: retry) }
            // Nothing left to dial and nothing in flight: the queue is done, and so are its sessions.
            return [.queueCompleted(.init(queueId: queue.id))]
                + queue.activeSessions.sorted().map { .sessionEnded(.init(sessionId: $0, reason: .queueCompleted)) }
        }

        // The 3 % guard, at every batch start: the window may have rolled, or connects brought the rate down.
        let guardChange = queue.guardChange(at: now)
        let guardLevel = guardChange?.level ?? queue.guardLevel

        // VIP contacts in an ordinary queue are dialled in batches of their own, under the VIP profile.
        var batchIsVIP = false
        var separateVIPs = false
        if session.profile == .auto, !StrategyProfileRegistry.isVIP(queue.segment), !StrategyProfileRegistry.isVIP(queue.name) {
            batchIsVIP = StrategyProfileRegistry.isVIP(head.segment)
            separateVIPs = true
        }
        let pacing = queue.nextBatchPacing(choice: session.profile, mode: session.mode, settings: session.settings,
                                           batchIsVIP: batchIsVIP, guardLevel: guardLevel)
        let (profile, fanout) = (pacing.profile, pacing.lines)
        let staggerMs = max(pacing.staggerMs, minimumStaggerMs)
        guard let pool = CallerIDPool(callerIds(for: queue, session: session)) else {
            throw .invalidValue(field: "callerIds", message: "must name at least one caller ID")
        }
        // Hours and the do-not-call list, checked as each batch forms: every line must still be inside
        // its person's hours when its stagger places it (the window is one stretch of the local day, so
        // inside at the first and the last placement is inside throughout). When the window closes
        // within the stagger, the batch is the one line that can be placed now.
        let lastPlacement = now.adding(milliseconds: Int64(max(fanout - 1, 0)) * staggerMs)
        let sameKind = { (contact: Contact) in !separateVIPs || StrategyProfileRegistry.isVIP(contact.segment) == batchIsVIP }
        let whole = queue.dialableContacts(limit: fanout, at: now) { contact in
            inHours(contact) && sameKind(contact)
                && CallingHours.allows(CallingHours.zones(of: contact), queue.callingWindow, at: lastPlacement, wallClockBehindMs: behind)
        }
        let candidates = whole.isEmpty ? queue.dialableContacts(limit: 1, at: now) { inHours($0) && sameKind($0) } : whole
        let calls = candidates.enumerated().map { index, contact in
            PlannedCall(callId: CallID("\(batchId.rawValue)-\(index + 1)"), contactId: contact.id, to: contact.phone,
                        callerId: pool.callerID(for: contact.phone), offsetMs: Int64(index) * staggerMs)
        }
        return (guardChange.map { [.abandonmentGuardChanged($0)] } ?? []) + [
            .batchStarted(.init(batchId: batchId, sessionId: sessionId, queueId: queue.id, agentId: session.agentId,
                                mode: session.mode, profile: profile.name, fanout: fanout, staggerMs: staggerMs,
                                amdPolicy: profile.amdPolicy, ringTimeoutMs: session.settings.ringTimeoutMs, calls: calls,
                                linesLimitedBy: pacing.limitedBy)),
            .profileSelected(.init(batchId: batchId, sessionId: sessionId, queueId: queue.id, profile: profile.name,
                                   reason: pacing.reason, dialedCalls: queue.fairDials, humanAnswers: queue.humanAnswers)),
        ]
    }
}
