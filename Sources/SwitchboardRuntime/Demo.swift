import DialerCore
import DialerEngine

/// The demo `serve --demo` starts on an empty store: three queues whose contacts follow the simulated
/// carrier (one VIP, one poor list), an agent working each.
public enum Demo {
    public static let callerIds = ["+15125550100", "+17135550100", "+12125550100", "+18005550100"].compactMap(PhoneNumber.init)

    /// How the simulated carrier answers each demo queue.
    /// The demo's agents (one session each).
    static let agents: [AgentID] = ["agent-1", "agent-2", "agent-3"]

    static let distributions: [QueueID: CallDistribution] = [
        "demo-leads": .typical, "demo-vip": .typical, "demo-cold": .poor,
    ]

    static func commands(callerIds: [PhoneNumber]) -> [Command] {
        func contacts(_ prefix: String, _ count: Int) -> [NewContact] {
            (0..<count).compactMap { index in
                PhoneNumber("+1\([512, 713, 212, 415][index % 4])555\(1000 + index)").map { phone in
                    NewContact(contactId: ContactID("\(prefix)-\(index)"), name: "Contact \(index)", phone: phone)
                }
            }
        }
        return [
            .createQueue(queueId: "demo-leads", name: "Leads", segment: nil, maxAttempts: 3, contacts: contacts("lead", 300)),
            .createQueue(queueId: "demo-vip", name: "VIP Accounts", segment: nil, maxAttempts: 3, contacts: contacts("vip", 100)),
            .createQueue(queueId: "demo-cold", name: "Cold list", segment: nil, maxAttempts: 2, contacts: contacts("cold", 400)),
            .startSession(sessionId: "demo-agent-1", agentId: "agent-1", queueId: "demo-leads", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
            .startSession(sessionId: "demo-agent-2", agentId: "agent-2", queueId: "demo-vip", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
            .startSession(sessionId: "demo-agent-3", agentId: "agent-3", queueId: "demo-cold", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
        ]
    }
}
