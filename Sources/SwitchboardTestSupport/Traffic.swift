import DialerCore
import DialerSimulation
import SwitchboardBasics
import WritePath

/// Drives random but valid traffic through a `CommandHandler`, as the engine will.
public enum Traffic {
    public static func run(_ handler: CommandHandler, seed: UInt64, steps: Int) async throws {
        var rng = SplitMix64(seed: seed)
        var time = DemoScenario.startAt
        let prefix = "t\(seed)"
        let queue = QueueID(prefix)
        try await handler.handle(.createQueue(
            queueId: queue, name: "Leads", segment: nil, maxAttempts: 3,
            contacts: (1...15).map { NewContact(contactId: ContactID("c\($0)"), phone: PhoneNumber("+1512555\(1000 + $0)")!) }),
            at: time)
        for (session, agent) in [("s1", "a1"), ("s2", "a2")] {
            try await handler.handle(.startSession(sessionId: SessionID("\(prefix)-\(session)"),
                                                   agentId: AgentID("\(prefix)-\(agent)"), queueId: queue,
                                                   mode: .parallel, profile: .auto, settings: .default,
                                                   callerIds: DemoScenario.callerIds), at: time)
        }
        for _ in 0..<steps {
            time = time.adding(milliseconds: Int64.random(in: 0...900, using: &rng))
            let state = await handler.state
            let command = RandomWalk.command(in: state, queue: queue, sessions: [SessionID("\(prefix)-s1"), SessionID("\(prefix)-s2")], using: &rng)
            guard let recorded = try? await handler.handle(command, at: time) else { continue }
            let events = try recorded.map(EventCodec.decode)
            for followUp in DialerPolicy.followUps(after: events) { _ = try? await handler.handle(followUp, at: time) }
        }
    }
}
