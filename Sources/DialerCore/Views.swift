import SwitchboardJSON

/// The supervisor's overview: every session at a glance, with its current batch and its queue's
/// state, and every queue.
public struct SupervisorOverview: Hashable, Sendable {
    public struct Row: Hashable, Sendable {
        public var session: Session
        /// The batch being dialled or talked on now.
        public var group: Batch?
        public var queueState: QueueState

        public var sessionId: SessionID { session.id }
        public var agentId: AgentID { session.agentId }
        public var queueId: QueueID { session.queueId }
        public var sessionState: SessionState { session.state }
        public var mode: CallingMode { session.mode }
        public var currentBatch: BatchID? { session.currentBatch }
        public var currentGroupStatus: BatchStatus? { group?.status }
        public var batches: Int { session.batches }
        public var connects: Int { session.connects }
        public var abandoned: Int { session.abandoned }
    }

    public var rows: [Row]
    public var queues: [Queue]
    public var position: Int64

    public init(_ state: DialerState) {
        rows = state.sessions.values.sorted { $0.id < $1.id }.map { session in
            Row(session: session, group: session.currentBatch.flatMap { state.batches[$0] },
                queueState: state.queues[session.queueId]?.state ?? .error)
        }
        queues = state.queues.values.sorted { $0.id < $1.id }
        position = state.position
    }
}
