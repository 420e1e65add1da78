import Carriers
import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// Queues: created, filled with contacts, given caller IDs and compliance settings, paused, resumed,
/// stopped, and given agents by a supervisor.
extension APIServer {
    static let queueRoutes: [Route] = [
        Route("GET", "v1/queues", .anyone) { api, _ in await api.queues() },
        Route("POST", "v1/queues", .staff()) { api, request in try await api.createQueue(try api.body(request.http)) },
        Route("GET", "v1/queues/{queueId}", .readers(agent: .assignedQueue), readsWholeLog: pastPoint) { api, request in
            let id = QueueID(request.parameter("queueId"))
            if let at = try APIServer.point(request.http.query) { return try await api.queue(id, at: at) }
            return try await api.queue(id)
        },
        Route("PATCH", "v1/queues/{queueId}", .staff()) { api, request in
            try await api.changeQueue(QueueID(request.parameter("queueId")), try api.body(request.http))
        },
        Route("POST", "v1/queues/{queueId}/contacts", .staff()) { api, request in
            try await api.addContacts(QueueID(request.parameter("queueId")), try api.body(request.http))
        },
        Route("POST", "v1/queues/{queueId}/pause", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.pauseQueue(queueId: id), on: id)
        },
        Route("POST", "v1/queues/{queueId}/resume", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.resumeQueue(queueId: id), on: id)
        },
        Route("POST", "v1/queues/{queueId}/stop", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.stopQueue(queueId: id), on: id)
        },
        Route("PUT", "v1/queues/{queueId}/agents/{agentId}", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.assignAgent(queueId: id, agentId: try APIServer.pathAgent(request)), on: id)
        },
        Route("DELETE", "v1/queues/{queueId}/agents/{agentId}", .staff()) { api, request in
            let id = QueueID(request.parameter("queueId"))
            return try await api.queueAct(.unassignAgent(queueId: id, agentId: try APIServer.pathAgent(request)), on: id)
        },
    ]

    /// Every queue without its contacts, in id order.
    func queues() async -> HTTPResponse {
        let now = engine.clock.now
        let briefs = await projections.read { state in state.queues.values.sorted { $0.id < $1.id }.map { $0.brief(at: now) } }
        return .json(200, ["queues": .array(briefs)])
    }

    func queue(_ id: QueueID) async throws -> HTTPResponse {
        let now = engine.clock.now
        guard var summary = await projections.read({ $0.queues[id]?.summary(at: now) }) else { throw DomainError.queueNotFound(id) }
        // A real carrier's limit holds calls back beyond what the log says: shown beside the queue.
        if let pacing = (carrierWebhooks as? any CarrierPacingReporting)?.pacingStatus(), case .object(var fields) = summary {
            fields["carrier"] = [
                "name": .string(pacing.carrier), "callsPerSecond": .int(Int64(pacing.callsPerSecond)),
                "waitingCalls": .int(Int64(pacing.waiting[id.rawValue] ?? 0)),
                "backingOffUntil": pacing.backingOffUntilMs.map { Timestamp(millisecondsSinceEpoch: $0).json } ?? .null,
                "refusals": .int(Int64(pacing.refusals)),
            ]
            summary = .object(fields)
        }
        return .json(200, summary)
    }

    func queue(_ id: QueueID, at point: Audit.Point) async throws -> HTTPResponse {
        let position = try await audit.position(of: point)
        let state = try await audit.state(at: position)
        guard let queue = state.queues[id] else { throw DomainError.queueNotFound(id) }
        return past(position, queue.summary(at: try await time(at: position)))
    }

    /// A supervisor's queue-wide pause, resume or stop; answers with the queue after it.
    func queueAct(_ command: Command, on queueId: QueueID) async throws -> HTTPResponse {
        try await write(command)
        return try await queue(queueId)
    }

    func createQueue(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["name", "segment", "maxAttempts", "retryDelayMs", "contacts", "callerIds", "callingHours",
                                    "safeHarborMessage", "abandonWarnPercent", "abandonCapPercent"])
        let subset: [PhoneNumber]? = try body.decodeIfPresent("callerIds")
        if let subset {  // checked before the queue exists, so a refused subset creates nothing
            let pool = await projections.read { $0.callerIds }
            guard !subset.isEmpty else { throw DomainError.invalidValue(field: "callerIds", message: "must name at least one number") }
            if let outside = subset.first(where: { !pool.contains($0) }) { throw DomainError.callerIdNotInPool(outside) }
        }
        let queueId = QueueID("q-" + ids.next().lowercasedString.prefix(8) + ids.next().lowercasedString.suffix(8))
        let contacts = try parseContacts(try body.decodeIfPresent("contacts", as: [JSONObject].self) ?? [])
        try await write(.createQueue(
            queueId: queueId, name: try body.decode("name"), segment: try body.decodeIfPresent("segment"),
            maxAttempts: try body.decodeIfPresent("maxAttempts") ?? 3, contacts: contacts,
            retryDelayMs: try body.decodeIfPresent("retryDelayMs") ?? Queue.defaultRetryDelayMs,
            callingHours: try body.decodeIfPresent("callingHours"),
            compliance: try Self.compliance(body, over: .standard)))
        if let subset {
            try await write(.setQueueCallerIds(queueId: queueId, callerIds: subset))
        }
        var response = try await queue(queueId)
        response.status = 201
        return response
    }

    func addContacts(_ queueId: QueueID, _ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["contacts"])
        let contacts = try parseContacts(try body.decode("contacts", as: [JSONObject].self))
        try await write(.addContacts(queueId: queueId, contacts: contacts))
        // The queue without its contacts, and how many were added: an upload of a long list in
        // pieces costs each piece, not the whole queue again (issue 20, D12).
        let now = engine.clock.now
        guard case .object(var brief)? = await projections.read({ $0.queues[queueId]?.brief(at: now) }) else {
            throw DomainError.queueNotFound(queueId)
        }
        brief["added"] = .int(Int64(contacts.count))
        return .json(200, .object(brief))
    }

    func parseContacts(_ list: [JSONObject]) throws -> [NewContact] {
        try list.enumerated().map { index, contact in
            let parsed: NewContact
            do throws(JSONError) {
                try contact.rejectUnknownKeys(["id", "name", "phone", "segment", "script", "timeZone"])
                parsed = NewContact(contactId: try contact.decodeIfPresent("id") ?? ContactID("c-\(ids.next().lowercasedString.suffix(12))"),
                                    name: try contact.decodeIfPresent("name"), phone: try contact.decode("phone"),
                                    segment: try contact.decodeIfPresent("segment"), script: try contact.decodeIfPresent("script"),
                                    timeZone: try contact.decodeIfPresent("timeZone"))
            } catch {
                throw APIError(status: 400, code: "invalid-body", message: "contacts[\(index)]: \(error.message)")
            }
            if let script = parsed.script, let problem = contactScriptProblem(script) {
                throw DomainError.invalidValue(field: "contacts[\(index)].script", message: problem)
            }
            return parsed
        }
    }

    /// A queue's own caller IDs (`callerIds`: a subset of the organisation's, or null for all of them)
    /// and its compliance settings (`safeHarborMessage`, null for the organisation's; the abandonment
    /// thresholds). Whatever the body names changes; everything is checked before anything is written.
    func changeQueue(_ id: QueueID, _ body: JSONObject) async throws -> HTTPResponse {
        let complianceKeys = ["safeHarborMessage", "abandonWarnPercent", "abandonCapPercent"]
        try body.rejectUnknownKeys(Set(["callerIds"] + complianceKeys))
        guard !body.fields.isEmpty else {
            throw APIError(status: 400, code: "invalid-body", message: "name at least one of callerIds, " + complianceKeys.joined(separator: ", "))
        }
        guard let current = await projections.read({ $0.queues[id]?.compliance }) else { throw DomainError.queueNotFound(id) }
        var compliance: QueueCompliance?
        if complianceKeys.contains(where: { body[$0] != nil }) {
            let changed = try Self.compliance(body, over: current)
            let violations = changed.violations
            guard violations.isEmpty else { throw DomainError.invalidSettings(violations) }
            compliance = changed
        }
        var subset: [PhoneNumber]??
        if body["callerIds"] != nil {
            let list: [PhoneNumber]? = try body.decodeIfPresent("callerIds")
            let pool = await projections.read { $0.callerIds }
            if let list, let outside = list.first(where: { !pool.contains($0) }) { throw DomainError.callerIdNotInPool(outside) }
            subset = .some(list)
        }
        if let subset { try await write(.setQueueCallerIds(queueId: id, callerIds: subset)) }
        if let compliance { try await write(.setQueueCompliance(queueId: id, compliance: compliance)) }
        return try await queue(id)
    }

    /// `base` with the compliance fields `body` names (`safeHarborMessage: null` clears the queue's own).
    static func compliance(_ body: JSONObject, over base: QueueCompliance) throws -> QueueCompliance {
        var compliance = base
        if body["safeHarborMessage"] != nil { compliance.safeHarborMessage = try body.decodeIfPresent("safeHarborMessage") }
        if let warn: Percent = try body.decodeIfPresent("abandonWarnPercent") { compliance.abandonWarnPercent = warn }
        if let cap: Percent = try body.decodeIfPresent("abandonCapPercent") { compliance.abandonCapPercent = cap }
        return compliance
    }

}
