import Foundation
import DialerCore
import DialerEngine
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics

/// The JSON shapes clients read — `GET /v1/calls/parallel/{groupId}`, queue and session reads, the
/// supervisor overview, and the feed's state messages (`switchboard simulate`'s summary uses them too). They belong
/// to the server, not to the domain: the projections are plain values; this is how the API shows them.
extension Batch {
    public var summary: JSONValue {
        var object: JSONObject = [
            "groupId": id.json, "sessionId": sessionId.json, "queueId": queueId.json, "status": status.json,
            "profile": profile.json, "profileReason": profileReason?.json ?? .null, "fanout": fanout.json,
            "linesLimitedBy": linesLimitedBy?.json ?? .null, "linesWhy": linesLimitedBy.map { .string($0.why) } ?? .null,
            "staggerMs": staggerMs.json, "amdPolicy": amdPolicy.json,
        ]
        if let winner, let call = call(winner) {
            object["winner"] = ["callId": winner.json, "contactId": call.contactId.json, "connectedAt": call.connectedAt?.json ?? .null]
        } else {
            object["winner"] = .null
        }
        object["disposition"] = disposition?.json ?? .null
        object["calls"] = .array(calls.map(\.summary))
        object["position"] = position.json
        return .object(object)
    }
}

extension Call {
    public var summary: JSONValue {
        [
            "callId": id.json, "contactId": contactId.json, "name": contactName.map(JSONValue.string) ?? .null, "to": to.json, "callerId": callerId.json,
            "priorAttempts": priorAttempts.json,
            "timeZones": .array(CallingHours.zones(of: to, explicit: contactTimeZone).map(JSONValue.string)),
            "status": status.json, "outcome": outcome.json, "answeredBy": answeredBy?.json ?? .null,
            "dialedAt": dialedAt?.json ?? .null, "answeredAt": answeredAt?.json ?? .null,
            "endedAt": endedAt?.json ?? .null, "endReason": endReason.map(JSONValue.string) ?? .null,
            "abandoned": .bool(abandoned),
            "abandonment": abandoned ? [
                "cause": abandonCause?.json ?? .null, "safeHarbor": safeHarbor?.json ?? .null,
                "safeHarborStartedAt": safeHarborStartedAt?.json ?? .null, "safeHarborEndedAt": safeHarborEndedAt?.json ?? .null,
            ] : .null,
        ]
    }
}

extension Queue {
    /// The queue as a client sees it at `now`, with its contacts.
    public func summary(at now: Timestamp) -> JSONValue {
        let contactList: [JSONValue] = contactOrder.compactMap { contacts[$0] }.map { contact in
            [
                "contactId": contact.id.json, "name": contact.name.map(JSONValue.string) ?? .null,
                "phone": contact.phone.json, "segment": contact.segment.map(JSONValue.string) ?? .null,
                "attempts": contact.attempts.json, "outcome": contact.outcome.json, "doNotCall": .bool(contact.isDoNotCall),
                "dialable": .bool(contact.isDialable(maxAttempts: maxAttempts, at: now)),
                "retryAt": contact.retryAt.map { $0 > now ? $0.json : .null } ?? .null,
                "timeZone": contact.timeZone.map(JSONValue.string) ?? .null,
            ]
        }
        let brief = brief(at: now)
        guard case .object(var object) = brief else { return brief }
        object["contacts"] = .array(contactList)
        return .object(object)
    }

    /// The queue without its contacts (`GET /v1/queues`): counts, rates, the profile a new batch would
    /// get and why, and when the next contact waiting for its retry time becomes dialable.
    public func brief(at now: Timestamp) -> JSONValue {
        // What a new parallel session with the profile's own settings would get now: the engine's own decision.
        let pacing = nextBatchPacing(choice: .auto, mode: .parallel, settings: .default, guardLevel: guardLevel(at: now))
        // Active, but everyone left waits for their calling hours: "waiting" (not completed, not stuck).
        let (openNow, waitingForHours) = callingHoursCounts(at: now)
        let nextHours = state == .active && waitingForHours > 0 ? nextCallingHours(after: now) : nil
        let shownState = state == .active && openNow == 0 && liveGroups.isEmpty && waitingForHours > 0 ? "waiting" : state.rawValue
        return [
            "queueId": id.json, "name": .string(name), "segment": segment.map(JSONValue.string) ?? .null,
            "state": .string(shownState), "callingHours": callingWindow.json,
            "waitingForCallingHours": waitingForHours.json, "nextCallingHoursAt": nextHours?.json ?? .null, "maxAttempts": maxAttempts.json, "pending": pendingCount.json,
            "retryDelayMs": retryDelayMs.json, "nextRetryAt": nextRetryAt(after: now)?.json ?? .null,
            "dialedCalls": dialedCalls.json, "fairDials": fairDials.json, "humanAnswers": humanAnswers.json,
            "abandonedCalls": abandonedCalls.json,
            "answerRate": answerRate.map(JSONValue.double) ?? .null,
            "abandonmentRate": abandonmentRate.map(JSONValue.double) ?? .null,
            "compliance": complianceSummary(at: now),
            "profile": [
                "name": pacing.profile.name.json, "reason": pacing.reason.json, "lines": pacing.lines.json,
                "linesLimitedBy": pacing.limitedBy?.json ?? .null,
            ],
            "contactCount": contacts.count.json,
            "callerIds": callerIds.map { .array($0.map(\.json)) } ?? .null,
            "agents": .array(agents.sorted().map(\.json)),
        ]
    }
}

extension Queue {
    /// The abandonment figures (30 days, today, lifetime), the guard's limit and why, the thresholds,
    /// the safe-harbor message in force and any warning a supervisor must act on.
    func complianceSummary(at now: Timestamp) -> JSONValue {
        func figures(_ count: AbandonmentTally.Count) -> JSONValue {
            ["liveAnswers": count.liveAnswers.json, "abandoned": count.abandoned.json,
             "rate": count.rate.map(JSONValue.double) ?? .null]
        }
        let window = abandonment.window(endingAt: now)
        let days = AbandonmentTally.windowDays(endingAt: now)
        let level = guardLevel(at: now)
        let limit = complianceLineLimit(at: level)
        let why: String = switch limit {
        case nil: "30-day abandonment under the warning (\(compliance.abandonWarnPercent))"
        case .abandonmentWarning?: "30-day abandonment at or above the warning (\(compliance.abandonWarnPercent)): at most 2 lines, never aggressive"
        case .abandonmentCapped?: "30-day abandonment reached the cap (\(compliance.abandonCapPercent)): one line at a time until under \(compliance.abandonWarnPercent)"
        case let other?: other.why
        }
        var warnings: [JSONValue] = []
        if compliance.safeHarborMessage == nil && organisationSafeHarborMessage == nil { warnings.append("no-safe-harbor-message") }
        if abandonment.withoutSafeHarbor > 0 { warnings.append("abandoned-without-safe-harbor") }
        if level != .normal { warnings.append(.string("abandonment-\(level.rawValue)")) }
        return [
            "abandonment": [
                "window": ["days": AbandonmentTally.windowDays.json, "from": .string(days.from), "to": .string(days.to)],
                "rolling30": figures(window), "today": figures(abandonment.today(at: now)), "lifetime": figures(abandonment.lifetime),
                "withoutSafeHarbor": abandonment.withoutSafeHarbor.json,
                "byDay": .array(abandonment.days(endingAt: now).map { day, count in
                    ["day": .string(day), "liveAnswers": count.liveAnswers.json, "abandoned": count.abandoned.json]
                }),
            ],
            "guard": [
                "level": level.json, "maxLines": limit?.maxLines.json ?? .null, "limitedBy": limit?.json ?? .null, "why": .string(why),
                "since": guardChangedAt?.json ?? .null,
            ],
            "abandonWarnPercent": compliance.abandonWarnPercent.json, "abandonCapPercent": compliance.abandonCapPercent.json,
            "safeHarborMessage": compliance.safeHarborMessage.map(JSONValue.string) ?? .null,
            "safeHarborSource": compliance.safeHarborMessage != nil ? "queue" : organisationSafeHarborMessage != nil ? "organisation" : .null,
            "warnings": .array(warnings),
        ]
    }
}

extension Session {
    public var summary: JSONValue {
        [
            "sessionId": id.json, "agentId": agentId.json, "queueId": queueId.json, "state": state.json,
            "mode": mode.json, "profile": profile.json, "settings": settings.json,
            "callerIds": callerIds.json, "currentGroupId": currentBatch?.json ?? .null,
            "agentLeg": agentEndpoint.map { ["endpoint": .string($0), "state": agentLeg.json] } ?? .null,
            "lastGroupId": lastGroup?.json ?? .null, "activity": activity.json, "activitySince": activitySince.json,
            "activityNote": activityNote.map(JSONValue.string) ?? .null,
            "startedAt": startedAt.json, "endedAt": endedAt?.json ?? .null,
            "wrapUp": wrapUp.map { ["groupId": $0.batchId.json, "callId": $0.callId.json, "until": $0.endsAt?.json ?? .null] } ?? .null,
            "nextBatch": nextBatch.map { ["at": $0.at?.json ?? .null, "reason": $0.reason.json] } ?? .null,
            "stats": [
                "batches": batches.json, "dials": dials.json, "connects": connects.json, "voicemails": voicemails.json,
                "abandoned": abandoned.json, "talkTimeMs": talkTimeMs.json,
            ],
        ]
    }
}

extension SupervisorOverview {
    /// Each session row carries the session and its current batch in the shapes the feed's state
    /// messages use, so a wall applies a live message to a row the same way it built it.
    public func json(at now: Timestamp) -> JSONValue {
        [
            "position": position.json,
            "sessions": .array(rows.map { row in
                [
                    "sessionId": row.sessionId.json, "agentId": row.agentId.json, "queueId": row.queueId.json,
                    "queueState": row.queueState.json, "sessionState": row.sessionState.json, "mode": row.mode.json,
                    "currentGroupId": row.currentBatch?.json ?? .null,
                    "currentGroupStatus": row.currentGroupStatus?.json ?? .null,
                    "batches": row.batches.json, "connects": row.connects.json, "abandoned": row.abandoned.json,
                    "session": row.session.summary, "group": row.group?.summary ?? .null,
                ]
            }),
            "queues": .array(queues.map { $0.brief(at: now) }),
        ]
    }
}

/// `switchboard simulate`'s last line: the queue, the session and every group in start order, each
/// with exactly the shape the API returns for it.
extension ComplianceReport {
    public var json: JSONValue {
        [
            "window": "the 30 days ending with each day (UTC), per queue",
            "capPercent": .double(3.0),
            "safeHarborWithinMs": Self.safeHarborWithinMs.json,
            "days": .array(days.map { day in
                [
                    "queueId": day.queueId.json, "day": .string(day.day), "dialed": day.dialed.json,
                    "liveAnswers": day.liveAnswers.json, "abandoned": day.abandoned.json,
                    "abandonmentRate": day.abandonmentRate.map(JSONValue.double) ?? .null,
                    "rolling30": [
                        "dialed": day.dialed30.json, "liveAnswers": day.liveAnswers30.json, "abandoned": day.abandoned30.json,
                        "abandonmentRate": day.abandonmentRate30.map(JSONValue.double) ?? .null,
                    ],
                    "callsOutsideCallingHours": day.callsOutsideCallingHours.json,
                    "doNotCallPrevented": day.doNotCallPrevented.json,
                    "abandonedWithSafeHarborWithin2s": day.abandonedWithSafeHarborWithin2s.json,
                    "abandonedWithoutSafeHarbor": day.abandonedWithoutSafeHarbor.json,
                ]
            }),
        ]
    }

    /// One row per queue and day.
    public var csv: String {
        var rows = ["queue,day,dialed,live_answers,abandoned,abandonment_rate,dialed_30d,live_answers_30d,abandoned_30d,"
            + "abandonment_rate_30d,calls_outside_calling_hours,dnc_prevented,abandoned_with_safe_harbor_2s,abandoned_without_safe_harbor"]
        func cell(_ value: Int) -> String { String(value) }
        func cell(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "" }
        for day in days {
            rows.append([CSV.field(day.queueId.rawValue), day.day, String(day.dialed), String(day.liveAnswers),
                         String(day.abandoned), cell(day.abandonmentRate), String(day.dialed30), String(day.liveAnswers30),
                         String(day.abandoned30), cell(day.abandonmentRate30), cell(day.callsOutsideCallingHours),
                         cell(day.doNotCallPrevented), cell(day.abandonedWithSafeHarborWithin2s),
                         cell(day.abandonedWithoutSafeHarbor)].joined(separator: ","))
        }
        return rows.joined(separator: "\r\n") + "\r\n"
    }
}

/// RFC 4180 fields, safe to open in a spreadsheet: a cell that begins with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be read as a formula (an agent id `=HYPERLINK(…)`, and every E.164
/// number), so it starts with `'` — the OWASP advice, shown as text and not as part of the value.
enum CSV {
    static func field(_ text: String) -> String {
        let neutral = text.first.map { "=+-@\t\r".contains($0) } == true ? "'" + text : text
        guard neutral.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return neutral }
        return "\"" + neutral.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension CallDetailRecord {
    static let csvHeader = "calling_number,called_number,agent,queue,session,batch,call,dialed_at,answered_at,ended_at,"
        + "ring_ms,talk_ms,answered_by,status,outcome,end_reason,disposition,abandoned,abandoned_why,safe_harbor_played,"
        + "cut_short_ring_ms,position"

    /// One CSV row (RFC 4180): an abandoned call says why, and whether its safe-harbor message played
    /// (`true` once it started; `no-safe-harbor` when there was none to play).
    var csvRow: String {
        func time(_ value: Timestamp?) -> String { value?.rfc3339 ?? "" }
        func number(_ value: Int64?) -> String { value.map(String.init) ?? "" }
        return [
            CSV.field(call.callerId.e164), CSV.field(call.to.e164), CSV.field(agentId.rawValue), CSV.field(queueId.rawValue),
            CSV.field(sessionId.rawValue), CSV.field(batchId.rawValue), CSV.field(call.id.rawValue), time(call.dialedAt),
            time(call.answeredAt), time(call.endedAt), number(ringMs), number(talkMs), call.answeredBy?.rawValue ?? "",
            call.status.rawValue, call.outcome.rawValue, CSV.field(call.endReason ?? ""), disposition?.rawValue ?? "",
            call.abandoned ? "true" : "false", call.abandonCause?.rawValue ?? "", safeHarborPlayed,
            number(cutShortRingMs), String(dialedPosition),
        ].joined(separator: ",")
    }

    private var safeHarborPlayed: String {
        switch call.safeHarbor {
        case nil: ""
        case .noSafeHarbor?: "no-safe-harbor"
        case .cutOff?: "cut-off"
        case .requested?: call.safeHarborStartedAt == nil ? "false" : "true"
        }
    }

    public static func csv(_ records: [CallDetailRecord]) -> String {
        ([csvHeader] + records.map(\.csvRow)).joined(separator: "\r\n") + "\r\n"
    }
}

/// The product's vocabulary as the domain defines it — dispositions in the order the console offers
/// them, which call statuses are ended, which events end a call, the profiles and the line limits — so
/// the pages read it from the server instead of keeping copies that drift (`GET /v1/meta`).
enum ProductVocabulary {
    static let json: JSONValue = [
        "dispositions": .array(DispositionOutcome.allCases.map(\.json)),
        "callStatuses": .array(CallStatus.allCases.map { ["status": $0.json, "ended": .bool($0.isEnded)] }),
        "callEndingEvents": .array(EventType.allCases.filter(\.endsACall).map(\.json)),
        "profiles": .array(StrategyProfile.Name.allCases.map(StrategyProfile.named).map { profile in
            ["name": profile.name.json, "lines": profile.fanout.json, "staggerMs": profile.staggerMs.json,
             "amdPolicy": profile.amdPolicy.json]
        }),
        "lineLimits": .array(LineLimit.allCases.map { ["limitedBy": $0.json, "maxLines": $0.maxLines.json, "why": .string($0.why)] }),
    ]
}
