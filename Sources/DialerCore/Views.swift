import SwitchboardJSON

/// The supervisor's overview: every session at a glance, with its queue's state and current batch.
public struct SupervisorOverview: Hashable, Sendable {
    public struct Row: Hashable, Sendable {
        public var sessionId: SessionID
        public var agentId: AgentID
        public var queueId: QueueID
        public var queueState: QueueState
        public var sessionState: SessionState
        public var mode: CallingMode
        public var currentGroup: GroupID?
        public var currentGroupStatus: GroupStatus?
        public var batches: Int
        public var connects: Int
        public var abandoned: Int
    }

    public var rows: [Row]
    public var position: Int64

    public init(_ state: DialerState) {
        rows = state.sessions.values.sorted { $0.id < $1.id }.map { session in
            let group = session.currentGroup.flatMap { state.groups[$0] }
            return Row(sessionId: session.id, agentId: session.agentId, queueId: session.queueId,
                       queueState: state.queues[session.queueId]?.state ?? .error, sessionState: session.state,
                       mode: session.mode, currentGroup: session.currentGroup, currentGroupStatus: group?.status,
                       batches: session.batches, connects: session.connects, abandoned: session.abandoned)
        }
        position = state.position
    }
}
