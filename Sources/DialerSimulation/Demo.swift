import DialerCore
import DialerEngine
import SwitchboardBasics
import EventStore
import WritePath
import SwitchboardJSON

/// The demo `serve --demo` starts on an empty store: three queues whose contacts follow the simulated
/// carrier (one VIP, one poor list), an agent working each.
public enum Demo {
    public static let callerIds = ["+15125550100", "+17135550100", "+12125550100", "+18005550100"].compactMap(PhoneNumber.init)

    /// The demo organisation's safe-harbor message (the rule: the seller's name, a number to call back,
    /// and an automated way to opt out).
    public static let safeHarborMessage = "Hello, this is Switchboard Demo calling. We are sorry we missed you. "
        + "Please call us back at 512 555 0100. To stop our calls, press 9 now or say stop at that number."

    /// The demo's agents (one session each).
    public static let agents: [AgentID] = ["agent-1", "agent-2", "agent-3"]

    /// How the simulated carrier answers each demo queue.
    public static let distributions: [QueueID: CallDistribution] = [
        "demo-leads": .typical, "demo-vip": .typical, "demo-cold": .poor,
    ]

    /// The demo's contacts: numbers in Austin, Houston, New York and San Francisco — their calling
    /// hours are their area codes', as a real list's are.
    public static let areaCodes = [512, 713, 212, 415]

    /// The whole hours (−12…12, 0 when it already is) by which the demo's clock is shifted so that it is
    /// well inside the calling hours at every demo number (08:00–19:00 in San Francisco and New York):
    /// whoever runs the demo, whenever, sees live dialling. The banner and `/healthz` say so; the
    /// events carry the shifted time.
    public static func clockOffsetHours(at now: Timestamp) -> Int {
        let roomy = CallingWindow(start: 8 * 60, end: 19 * 60)  // two hours before the window closes
        let zones = Set(areaCodes.compactMap { PhoneNumber("+1\($0)5551000") }.flatMap { phone in
            CallingHours.zones(of: Contact(NewContact(contactId: "zone", phone: phone)))
        }).sorted()
        return CallingHours.shiftHours(into: zones, roomy, at: now) ?? 0
    }

    public static func commands(callerIds: [PhoneNumber]) -> [Command] {
        func contacts(_ prefix: String, _ count: Int) -> [NewContact] {
            (0..<count).compactMap { index in
                PhoneNumber("+1\(areaCodes[index % areaCodes.count])555\(1000 + index)").map { phone in
                    NewContact(contactId: ContactID("\(prefix)-\(index)"), name: "Contact \(index)", phone: phone)
                }
            }
        }
        return [
            .createQueue(queueId: "demo-leads", name: "Leads", segment: nil, maxAttempts: 3, contacts: contacts("lead", 300)),
            .createQueue(queueId: "demo-vip", name: "VIP Accounts", segment: nil, maxAttempts: 3, contacts: contacts("vip", 100)),
            .createQueue(queueId: "demo-cold", name: "Cold list", segment: nil, maxAttempts: 2, contacts: contacts("cold", 400)),
        ] + ["demo-leads", "demo-vip", "demo-cold"].flatMap { queue in
            // Every demo agent may work every demo queue from its console.
            agents.map { Command.assignAgent(queueId: QueueID(queue), agentId: $0) }
        } + [
            .startSession(sessionId: "demo-agent-1", agentId: "agent-1", queueId: "demo-leads", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
            .startSession(sessionId: "demo-agent-2", agentId: "agent-2", queueId: "demo-vip", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
            .startSession(sessionId: "demo-agent-3", agentId: "agent-3", queueId: "demo-cold", mode: .parallel,
                          profile: .auto, settings: .default, callerIds: callerIds),
        ]
    }
}
