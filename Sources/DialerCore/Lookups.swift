import SwitchboardJSON
import SwitchboardBasics

/// Lookups that fail with the right error, and the checks every input goes through.
extension DialerState {

    func queue(_ id: QueueID) throws(DomainError) -> Queue {
        guard let queue = queues[id] else { throw .queueNotFound(id) }
        return queue
    }

    /// A session that has not ended (active or paused).
    func liveSession(_ id: SessionID) throws(DomainError) -> Session {
        guard let session = sessions[id] else { throw .sessionNotFound(id) }
        guard session.state != .ended else { throw .sessionEnded(id) }
        return session
    }

    /// A queue that sessions can work (not stopped, completed or errored).
    func workableQueue(_ id: QueueID) throws(DomainError) -> Queue {
        let queue = try queue(id)
        guard [.idle, .active, .paused].contains(queue.state) else { throw .queueNotWorkable(id, queue.state) }
        return queue
    }

    func group(_ id: BatchID) throws(DomainError) -> Batch {
        guard let group = batches[id] else { throw .groupNotFound(id) }
        return group
    }

    /// A call that has not ended: no transition out of an ended call.
    func liveCall(_ batchId: BatchID, _ callId: CallID) throws(DomainError) -> (Batch, Call) {
        let group = try group(batchId)
        guard let call = group.call(callId) else { throw .callNotFound(batchId, callId) }
        guard call.isLive else { throw .callEnded(callId, call.status) }
        return (group, call)
    }

    func placedCall(_ batchId: BatchID, _ callId: CallID) throws(DomainError) -> (Batch, Call) {
        let (group, call) = try liveCall(batchId, callId)
        guard call.isPlaced else { throw .callNotPlaced(callId) }
        return (group, call)
    }

    /// Names and reasons: not blank, at most `maxTextLength` characters (Unicode scalars, as JSON
    /// Schema's `maxLength` counts them; "blank" uses JSON Schema's `\s`, so the API schema says the same).
    static func validateText(_ text: String, field: String) throws(DomainError) {
        guard !text.unicodeScalars.allSatisfy(isSchemaWhitespace) else {
            throw .invalidValue(field: field, message: "must not be empty")
        }
        guard text.unicodeScalars.count <= maxTextLength else {
            throw .invalidValue(field: field, message: "must be at most \(maxTextLength) characters")
        }
    }

    /// What people name and read back (queue names, segments, contact and agent ids, token labels):
    /// text without control characters (C0, DEL, C1) or bidirectional overrides and isolates — a NUL
    /// ends the name in C tools, a U+202E shows `evil.exe` as `exe.live` on a wall (issue 20, D19).
    /// `openapi.yaml`'s `Text` pattern says the same. Carriers' reasons stay as the carrier sent them.
    static func validateName(_ text: String, field: String) throws(DomainError) {
        try validateText(text, field: field)
        guard !text.unicodeScalars.contains(where: isControl) else {
            throw .invalidValue(field: field, message: "must not contain control characters or bidirectional overrides")
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// An agent's id: a name without a comma — the feed's `topics=` list is split on commas, so an
    /// agent `a,b` could never follow its own `agent:` topic (issue 20, D19).
    static func validateAgentId(_ agentId: AgentID) throws(DomainError) {
        try validateName(agentId.rawValue, field: "agentId")
        guard !agentId.rawValue.contains(",") else { throw .invalidValue(field: "agentId", message: "must not contain a comma") }
    }

    /// Why `endpoint` is not where an agent can be called: an E.164 number, `client:NAME` (a browser or app
    /// softphone: letters, digits, `_`, `.`, `-`) or `sip:user@host` (no spaces or control characters,
    /// no `<>"`, which would break the carrier's markup). `nil` when it is one of them.
    public static func agentEndpointProblem(_ endpoint: String) -> String? {
        let why = "must be an E.164 number (+15125550100), client:NAME or sip:user@host"
        if endpoint.hasPrefix("+") { return PhoneNumber(endpoint) == nil ? why : nil }
        if endpoint.hasPrefix("client:") {
            let name = endpoint.dropFirst("client:".count)
            let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) }
            return (1...128).contains(name.count) && allowed ? nil : why
        }
        if endpoint.hasPrefix("sip:") {
            let rest = endpoint.dropFirst("sip:".count)
            let clean = rest.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && !"<>\"".unicodeScalars.contains($0) }
            return (3...256).contains(rest.count) && clean && rest.contains("@") ? nil : why
        }
        return why
    }

    /// ECMAScript's `\s` (what a JSON Schema `pattern` means by white space).
    static func isSchemaWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: true
        default: false
        }
    }

    /// Contact ids and phone numbers are each accepted once per queue.
    static func validateNewContacts(_ contacts: [NewContact], existing: [ContactID: Contact]) throws(DomainError) {
        var seen = Set<ContactID>()
        var phones = Set(existing.values.map(\.phone))
        for contact in contacts {
            guard existing[contact.contactId] == nil, seen.insert(contact.contactId).inserted else {
                throw .duplicateContact(contact.contactId)
            }
            guard phones.insert(contact.phone).inserted else { throw .duplicatePhone(contact.phone) }
            try validateName(contact.contactId.rawValue, field: "contactId")
            if let zone = contact.timeZone, !CallingHours.isKnownZone(zone) {
                throw .invalidValue(field: "timeZone", message: "\(zone) is not an IANA time zone (e.g. America/Chicago)")
            }
        }
    }
}
