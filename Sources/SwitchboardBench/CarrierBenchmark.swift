import Carriers
import DialerCore
import DialerEngine
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Synchronization
import SwitchboardBasics
import SwitchboardJSON
import SwitchboardRuntime
import WebTransport

/// Our part of the "hello gap" on Twilio: the whole server (`serve --carrier twilio`, the real log, the
/// real engine) against a stand-in for Twilio's API in this process, driven by signed webhooks.
///
/// - `answer_to_bridge`: the answered call's webhook (its TwiML fetch, verdict included) sent → the reply
///   that puts the person in the agent's room received. The reply *is* the bridge (no REST round trip).
/// - `answer_to_cancel`: the same webhook sent → the last losing call's `Status=canceled` received by
///   the API stand-in.
/// - baseline: a status callback of the same shape (`ringing`) sent → its 204: the webhook route, the
///   signature check and the loopback, without the engine's decision.
enum CarrierBenchmark {
    struct Figures {
        var bridgeMs: [Double] = []
        var cancelMs: [Double] = []
        var baselineMs: [Double] = []
    }

    static let accountSid = "AC" + String(repeating: "0", count: 31) + "7"
    static let authToken = "bench-token-not-a-secret"

    static func run(batches: Int, in workspace: URL) async throws -> Figures {
        let api = TwilioStandIn()
        let apiServer = WebServer(port: 0, application: api)
        let apiPort = try apiServer.start()
        defer { apiServer.shutdown() }
        let port = try freePort()
        let base = "http://127.0.0.1:\(port)"
        var configuration = Configuration()
        configuration.storePath = workspace.appendingPathComponent("carrier.sqlite").path
        configuration.port = port
        configuration.adminTokenFile = workspace.appendingPathComponent("carrier.admin-token").path
        configuration.publicURL = base
        configuration.carrier = .twilio(TwilioAccount(accountSid: accountSid, authToken: authToken,
                                                      apiURL: "http://127.0.0.1:\(apiPort)", callsPerSecond: 1000))
        configuration.clockOffsetHours = CallingHours.shiftHours(into: ["America/New_York"], .legal, at: SystemClock().now)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let app = try await SwitchboardApplication.build(configuration, logger: logger)
        let running = Task { try await app.run() }
        defer { running.cancel() }
        let admin = try String(contentsOfFile: configuration.adminTokenFile ?? "", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let client = Client(base: base, token: admin)
        let signer = TwilioSignature(authToken: authToken)

        let contacts: [JSONValue] = (0..<(batches * 3)).map { index in
            ["id": .string("c\(index)"), "phone": .string("+1212\(5_550_000 + index)")]
        }
        let queue = try await client.json("POST", "/v1/queues", ["name": "bench", "contacts": .array(contacts),
                                                                  "safeHarborMessage": "This is Bench Co. Call 512 555 0100; press 9 to opt out."])
        guard let queueId = queue["queueId"]?.stringValue else { throw BenchError.failed("no queue: \(queue)") }
        let session = try await client.json("POST", "/v1/sessions", [
            "agentId": "bench", "queueId": .string(queueId), "mode": "parallel", "agentEndpoint": "client:bench",
            "settings": ["maxLines": 3, "staggerMs": 0, "wrapUpMs": 0],
        ])
        guard let sessionId = session["sessionId"]?.stringValue else { throw BenchError.failed("no session: \(session)") }
        // The agent picks up.
        let agentCall = try await api.nextCreate()
        _ = try await client.webhook(base + "/v1/carriers/twilio/agents/\(sessionId)/answer",
                                     ["CallSid": agentCall.sid, "CallStatus": "in-progress"], signer: signer)

        var figures = Figures()
        var sequence = 0
        for _ in 0..<batches {
            let lines = [try await api.nextCreate(), try await api.nextCreate(), try await api.nextCreate()]
            guard let status = lines[0].fields["StatusCallback"], let answer = lines[0].fields["Url"] else {
                throw BenchError.failed("a create without its hooks")
            }
            sequence += 1
            let ringing = ["CallSid": lines[0].sid, "CallStatus": "ringing", "SequenceNumber": String(sequence)]
            let baselineStart = now()
            _ = try await client.webhook(status, ringing, signer: signer)
            figures.baselineMs.append(Double(now() - baselineStart) / 1e6)

            api.expectCancels(of: [lines[1].sid, lines[2].sid])
            let start = now()
            let twiml = try await client.webhook(answer, ["CallSid": lines[0].sid, "CallStatus": "in-progress", "AnsweredBy": "human"],
                                                 signer: signer)
            let bridged = now()
            guard String(decoding: twiml, as: UTF8.self).contains("<Conference") else {
                throw BenchError.failed("the answer was not bridged: \(String(decoding: twiml, as: UTF8.self))")
            }
            let cancelled = try await api.cancelsArrived()
            figures.bridgeMs.append(Double(bridged - start) / 1e6)
            figures.cancelMs.append(Double(cancelled - start) / 1e6)
            // The person hangs up: the next batch starts.
            sequence += 1
            _ = try await client.webhook(status, ["CallSid": lines[0].sid, "CallStatus": "completed", "SequenceNumber": String(sequence)],
                                         signer: signer)
        }
        await app.shutdown()
        return figures
    }

    static func freePort() throws -> Int {
        let probe = WebServer(port: 0, application: TwilioStandIn())
        let port = try probe.start()
        probe.shutdown()
        return port
    }

    enum BenchError: Error { case failed(String) }

    /// The bench's HTTP client (the same one for the figure and its baseline).
    struct Client {
        let base: String
        let token: String
        let session = URLSession(configuration: .ephemeral)

        func json(_ method: String, _ path: String, _ body: JSONValue) async throws -> JSONValue {
            var request = URLRequest(url: URL(string: base + path)!)
            request.httpMethod = method
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(JSONWriter.encode(body))
            let (data, _) = try await session.data(for: request)
            return try JSONParser.parse(Array(data))
        }

        /// A webhook signed as Twilio signs it; the reply's body.
        func webhook(_ url: String, _ parameters: [String: String], signer: TwilioSignature) async throws -> [UInt8] {
            let fields = parameters.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
            var request = URLRequest(url: URL(string: url)!)
            request.httpMethod = "POST"
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.setValue(signer.signature(url: url, parameters: fields), forHTTPHeaderField: "X-Twilio-Signature")
            request.httpBody = Data(FormEncoding.encode(fields))
            let (data, response) = try await session.data(for: request)
            guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) else {
                throw BenchError.failed("webhook \(url) answered \(String(describing: (response as? HTTPURLResponse)?.statusCode))")
            }
            return Array(data)
        }
    }
}

/// Twilio's API as far as the benchmark needs it: creates answered 201 with a new `CallSid` (handed to the
/// benchmark in order), updates answered 200 and timed on arrival, lists empty.
final class TwilioStandIn: WebApplication {
    struct Created: Sendable {
        var sid: String
        var fields: [String: String]
    }

    private struct State {
        var created: [Created] = []
        var waiting: CheckedContinuation<Created, Never>?
        var expected: Set<String> = []
        var lastCancel: UInt64 = 0
        var cancelWaiter: CheckedContinuation<UInt64, Never>?
        var count = 0
    }
    private let state = Mutex(State())

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let arrived = DispatchTime.now().uptimeNanoseconds
        guard request.method == "POST" else { return HTTPResponse(status: 200, body: Array(#"{"calls":[]}"#.utf8)) }
        var fields: [String: String] = [:]
        for (name, value) in FormEncoding.decode(request.body) ?? [] where fields[name] == nil { fields[name] = value }
        if request.path.hasSuffix("/Calls.json") {
            let (sid, waiter): (String, CheckedContinuation<Created, Never>?) = state.withLock { state in
                state.count += 1
                let sid = "CA" + String(format: "%032x", state.count)
                let created = Created(sid: sid, fields: fields)
                guard let waiter = state.waiting else {
                    state.created.append(created)
                    return (sid, nil)
                }
                state.waiting = nil
                return (sid, waiter)
            }
            waiter?.resume(returning: Created(sid: sid, fields: fields))
            return HTTPResponse(status: 201, body: Array(#"{"sid":"\#(sid)","status":"queued"}"#.utf8))
        }
        if fields["Status"] == "canceled" {
            let sid = String(request.path.split(separator: "/").last?.dropLast(5) ?? "")
            let waiter: CheckedContinuation<UInt64, Never>? = state.withLock { state in
                guard state.expected.remove(sid) != nil else { return nil }
                state.lastCancel = arrived
                guard state.expected.isEmpty, let waiter = state.cancelWaiter else { return nil }
                state.cancelWaiter = nil
                return waiter
            }
            waiter?.resume(returning: arrived)
        }
        return HTTPResponse(status: 200, body: Array(#"{"status":"canceled"}"#.utf8))
    }

    /// The next create received (waits for it).
    func nextCreate() async throws -> Created {
        await withCheckedContinuation { continuation in
            let ready: Created? = state.withLock { state in
                if !state.created.isEmpty { return state.created.removeFirst() }
                state.waiting = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func expectCancels(of sids: [String]) { state.withLock { $0.expected = Set(sids) } }

    /// When the last expected cancel arrived (waits for it).
    func cancelsArrived() async throws -> UInt64 {
        await withCheckedContinuation { continuation in
            let done: UInt64? = state.withLock { state in
                if state.expected.isEmpty { return state.lastCancel }
                state.cancelWaiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    func webSocketRefusal(_ upgrade: HTTPRequest) -> HTTPResponse? { .error(404, code: "not-found", message: "no feed") }
    func webSocketOpened(_ connection: ConnectionID, upgrade: HTTPRequest, server: WebServer) {}
    func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer) {}
    func webSocketClosed(_ connection: ConnectionID) {}
}
