/// What an event is about: the one mapping from events to the queue, session, batch and agent they
/// concern, and to the stream they are stored in. The log's streams, each event's session
/// (`correlationId`) and the live feed's topics all come from here.
public struct EventSubject: Hashable, Sendable {
    /// The stream an event is stored in: one per queue, session and parallel group.
    public enum Stream: Hashable, Sendable {
        case queue(QueueID)
        case session(SessionID)
        case group(BatchID)
        /// Who has access and which numbers the organisation calls from.
        case organisation

        public var name: String {
            switch self {
            case .organisation: "organisation"
            case .queue(let id): "queue-" + id.rawValue
            case .session(let id): "session-" + id.rawValue
            case .group(let id): "group-" + id.rawValue
            }
        }
    }

    public var stream: Stream
    public var queueId: QueueID?
    public var sessionId: SessionID?
    public var batchId: BatchID?
    public var agentId: AgentID?

    public init(stream: Stream, queueId: QueueID? = nil, sessionId: SessionID? = nil, batchId: BatchID? = nil,
                agentId: AgentID? = nil) {
        self.stream = stream; self.queueId = queueId; self.sessionId = sessionId; self.batchId = batchId
        self.agentId = agentId
    }

    static func queue(_ id: QueueID, session: SessionID? = nil) -> EventSubject {
        EventSubject(stream: .queue(id), queueId: id, sessionId: session)
    }

    static func session(_ id: SessionID, queue: QueueID? = nil, agent: AgentID? = nil) -> EventSubject {
        EventSubject(stream: .session(id), queueId: queue, sessionId: id, agentId: agent)
    }

    static func group(_ id: BatchID, session: SessionID? = nil, queue: QueueID? = nil, agent: AgentID? = nil) -> EventSubject {
        EventSubject(stream: .group(id), queueId: queue, sessionId: session, batchId: id, agentId: agent)
    }
}

extension DialerState {
    /// Everything `event` concerns: what it names, completed from the projections (a batch knows its
    /// session, queue and agent; a session its queue and agent).
    public func subject(of event: DialerEvent) -> EventSubject {
        var subject = event.subject
        if let batchId = subject.batchId, let group = batches[batchId] {
            subject.sessionId = subject.sessionId ?? group.sessionId
            subject.queueId = subject.queueId ?? group.queueId
            subject.agentId = subject.agentId ?? group.agentId
        }
        if let sessionId = subject.sessionId, let session = sessions[sessionId] {
            subject.queueId = subject.queueId ?? session.queueId
            subject.agentId = subject.agentId ?? session.agentId
        }
        return subject
    }
}
