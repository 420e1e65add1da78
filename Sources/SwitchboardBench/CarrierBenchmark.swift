import Carriers
import Crypto
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
        /// As the client saw them (send → reply / arrival at the stand-in).
        var bridgeMs: [Double] = []
        var cancelMs: [Double] = []
        var baselineMs: [Double] = []
        /// Inside the server (`DecisionTimes`): the webhook's arrival → the bridge leaving, and → the
        /// batch's last cancel leaving.
        var serverBridgeMs: [Double] = []
        var serverCancelMs: [Double] = []
    }

    /// What the server measured, per batch (the last cancel is the batch's largest).
    final class Collected: Sendable {
        private let samples = Mutex<(bridge: [BatchID: Double], cancel: [BatchID: Double])>(([:], [:]))

        func add(_ step: DecisionTimes.Step, _ batch: BatchID, _ elapsed: Duration) {
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            samples.withLock { samples in
                switch step {
                case .bridge: samples.bridge[batch] = ms
                case .cancel: samples.cancel[batch] = max(samples.cancel[batch] ?? 0, ms)
                }
            }
        }

        func fill(_ figures: inout Figures) {
            let (bridge, cancel) = samples.withLock { ($0.bridge, $0.cancel) }
            figures.serverBridgeMs = Array(bridge.values)
            figures.serverCancelMs = Array(cancel.values)
        }
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
        let collected = CarrierBenchmark.Collected()
        app.carrierDecisions?.observe { step, batch, elapsed in collected.add(step, batch, elapsed) }
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
        _ = try? await running.value   // every part stopped in order before the store goes away
        collected.fill(&figures)
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

        /// A POST of raw bytes with `headers` (a carrier's webhook).
        func post(_ url: String, body: [UInt8], headers: [String: String]) async throws {
            var request = URLRequest(url: URL(string: url)!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            request.httpBody = Data(body)
            let (_, response) = try await session.data(for: request)
            guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) else {
                throw BenchError.failed("webhook \(url) answered \(String(describing: (response as? HTTPURLResponse)?.statusCode))")
            }
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

/// The same figures on Telnyx: the AMD verdict's webhook (`call.machine.detection.ended`, which makes the
/// held answer an answer) sent → `actions/bridge` on the agent's call received by the API stand-in, and →
/// the last loser's `actions/hangup` received. Baseline: a `call.initiated` webhook of a losing line sent →
/// its 204 (signature check, parsing, no decision).
enum TelnyxCarrierBenchmark {
    static func run(batches: Int, in workspace: URL) async throws -> CarrierBenchmark.Figures {
        let key = Curve25519.Signing.PrivateKey()
        let api = TelnyxStandIn()
        let apiServer = WebServer(port: 0, application: api)
        let apiPort = try apiServer.start()
        defer { apiServer.shutdown() }
        let port = try CarrierBenchmark.freePort()
        let base = "http://127.0.0.1:\(port)"
        var configuration = Configuration()
        configuration.storePath = workspace.appendingPathComponent("telnyx.sqlite").path
        configuration.port = port
        configuration.adminTokenFile = workspace.appendingPathComponent("telnyx.admin-token").path
        configuration.publicURL = base
        configuration.carrier = .telnyx(TelnyxAccount(apiKey: "bench-key", connectionId: "1", publicKey: key.publicKey.rawRepresentation.base64EncodedString(),
                                                      apiURL: "http://127.0.0.1:\(apiPort)/v2", callsPerSecond: 1000))
        configuration.clockOffsetHours = CallingHours.shiftHours(into: ["America/New_York"], .legal, at: SystemClock().now)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let app = try await SwitchboardApplication.build(configuration, logger: logger)
        let collected = CarrierBenchmark.Collected()
        app.carrierDecisions?.observe { step, batch, elapsed in collected.add(step, batch, elapsed) }
        let running = Task { try await app.run() }
        defer { running.cancel() }
        let admin = try String(contentsOfFile: configuration.adminTokenFile ?? "", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let client = CarrierBenchmark.Client(base: base, token: admin)
        let events = base + "/v1/carriers/telnyx/events"
        var sequence = 0
        func event(_ type: String, _ call: TelnyxStandIn.Dialled, _ extra: JSONObject = [:]) async throws {
            sequence += 1
            var payload: JSONObject = ["call_control_id": .string(call.ccid), "client_state": .string(call.clientState)]
            for field in extra.fields { payload[field.key] = field.value }
            let body = JSONWriter.encode(["data": ["event_type": .string(type), "id": .string("ev-\(sequence)"), "payload": .object(payload)]])
            let timestamp = String(Int64(Date().timeIntervalSince1970))
            let signature = try key.signature(for: Data(Array(timestamp.utf8) + [UInt8(ascii: "|")] + body)).base64EncodedString()
            try await client.post(events, body: body, headers: ["telnyx-signature-ed25519": signature, "telnyx-timestamp": timestamp])
        }

        let contacts: [JSONValue] = (0..<(batches * 3)).map { ["id": .string("c\($0)"), "phone": .string("+1212\(5_550_000 + $0)")] }
        let queue = try await client.json("POST", "/v1/queues", ["name": "bench", "contacts": .array(contacts),
                                                                  "safeHarborMessage": "This is Bench Co. Call 512 555 0100; press 9 to opt out."])
        guard let queueId = queue["queueId"]?.stringValue else { throw CarrierBenchmark.BenchError.failed("no queue: \(queue)") }
        _ = try await client.json("POST", "/v1/sessions", [
            "agentId": "bench", "queueId": .string(queueId), "mode": "parallel", "agentEndpoint": "sip:bench@agents.example.com",
            "settings": ["maxLines": 3, "staggerMs": 0, "wrapUpMs": 0],
        ])
        try await event("call.answered", try await api.nextDial())   // the agent picks up

        var figures = CarrierBenchmark.Figures()
        for _ in 0..<batches {
            let lines = [try await api.nextDial(), try await api.nextDial(), try await api.nextDial()]
            let baselineStart = now()
            try await event("call.initiated", lines[1])
            figures.baselineMs.append(Double(now() - baselineStart) / 1e6)
            try await event("call.answered", lines[0])   // held for its verdict
            api.expect(bridgeOf: lines[0].ccid, hangUpsOf: [lines[1].ccid, lines[2].ccid])
            let start = now()
            try await event("call.machine.detection.ended", lines[0], ["result": "human"])
            let (bridged, cancelled) = try await api.arrived()
            figures.bridgeMs.append(Double(bridged - start) / 1e6)
            figures.cancelMs.append(Double(cancelled - start) / 1e6)
            try await event("call.hangup", lines[0], ["hangup_cause": "normal_clearing", "hangup_source": "callee"])
        }
        await app.shutdown()
        _ = try? await running.value   // every part stopped in order before the store goes away
        collected.fill(&figures)
        return figures
    }
}

/// Telnyx's API as far as the benchmark needs it: dials answered with a new `call_control_id` (handed to
/// the benchmark in order), actions answered 200 and timed on arrival, no active calls.
final class TelnyxStandIn: WebApplication {
    struct Dialled: Sendable {
        var ccid: String
        var clientState: String
    }

    private struct State {
        var dialled: [Dialled] = []
        var waiting: CheckedContinuation<Dialled, Never>?
        var bridge: String?
        var hangUps: Set<String> = []
        var bridgedAt: UInt64 = 0
        var lastHangUp: UInt64 = 0
        var arrivalWaiter: CheckedContinuation<(UInt64, UInt64), Never>?
        var count = 0
    }
    private let state = Mutex(State())

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let arrived = DispatchTime.now().uptimeNanoseconds
        guard request.method == "POST" else { return HTTPResponse(status: 200, body: Array(#"{"data":[]}"#.utf8)) }
        if request.path.hasSuffix("/calls") {
            let body = (try? JSONParser.parse(request.body)) ?? .null
            let (dialled, waiter): (Dialled, CheckedContinuation<Dialled, Never>?) = state.withLock { state in
                state.count += 1
                let dialled = Dialled(ccid: "v3:bench-\(state.count)", clientState: body["client_state"]?.stringValue ?? "")
                guard let waiter = state.waiting else {
                    state.dialled.append(dialled)
                    return (dialled, nil)
                }
                state.waiting = nil
                return (dialled, waiter)
            }
            waiter?.resume(returning: dialled)
            return HTTPResponse(status: 200, body: JSONWriter.encode(["data": ["call_control_id": .string(dialled.ccid)]]))
        }
        let parts = request.path.split(separator: "/")
        if parts.count >= 4, parts[parts.count - 2] == "actions" {
            let ccid = String(parts[parts.count - 3]).removingPercentEncoding ?? ""
            let action = parts[parts.count - 1]
            let body = (try? JSONParser.parse(request.body)) ?? .null
            let waiter: (CheckedContinuation<(UInt64, UInt64), Never>, (UInt64, UInt64))? = state.withLock { state in
                if action == "bridge", body["call_control_id"]?.stringValue == state.bridge, state.bridge != nil {
                    state.bridge = nil
                    state.bridgedAt = arrived
                } else if action == "hangup", state.hangUps.remove(ccid) != nil {
                    state.lastHangUp = arrived
                }
                guard state.bridge == nil, state.hangUps.isEmpty, let waiter = state.arrivalWaiter else { return nil }
                state.arrivalWaiter = nil
                return (waiter, (state.bridgedAt, state.lastHangUp))
            }
            if let (continuation, times) = waiter { continuation.resume(returning: times) }
        }
        return HTTPResponse(status: 200, body: Array(#"{"data":{"result":"ok"}}"#.utf8))
    }

    func nextDial() async throws -> Dialled {
        await withCheckedContinuation { continuation in
            let ready: Dialled? = state.withLock { state in
                if !state.dialled.isEmpty { return state.dialled.removeFirst() }
                state.waiting = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func expect(bridgeOf winner: String, hangUpsOf losers: [String]) {
        state.withLock { state in
            state.bridge = winner
            state.hangUps = Set(losers)
        }
    }

    /// When the bridge and the last expected hang-up arrived (waits for both): (bridged, cancelled).
    func arrived() async throws -> (UInt64, UInt64) {
        await withCheckedContinuation { continuation in
            let done: (UInt64, UInt64)? = state.withLock { state in
                if state.bridge == nil, state.hangUps.isEmpty { return (state.bridgedAt, state.lastHangUp) }
                state.arrivalWaiter = continuation
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
