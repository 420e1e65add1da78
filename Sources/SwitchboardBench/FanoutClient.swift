import Foundation
import Synchronization
import SwitchboardJSON
import WebTransport
import SwitchboardBasics

/// The fan-out figure's subscriber side: `--only fanout-client` opens N feed subscriptions with the
/// compiled `WebSocketLoadClient` and measures, for every event message, the time from the event's
/// `time` (taken by the server just before the append) to its receipt here. The same client measures
/// the bare broadcaster (`switchboard-bench broadcaster`), whose messages carry their send time there.
///
/// The envelope's time has millisecond resolution, so each sample reads up to 1 ms high.
enum FanoutClient {
    struct Figures {
        /// Latencies of connections subscribed to everything, and of the others (one agent's topics).
        var allTopicsMs: [Double] = []
        var ownTopicsMs: [Double] = []
        var report: WebSocketLoadClient.Report
        /// Events stamped before every subscriber was connected and caught up (`warmUpMs`): not counted.
        var skippedCatchUp = 0
        /// What arrived, for the baseline to send the same: event and state messages and their bytes.
        var eventMessages = 0, eventBytes = 0, stateMessages = 0, stateBytes = 0
    }

    /// `topics`: one subscription per connection, used in turn (`all`, or e.g. `session:s-1`).
    /// Samples stamped within `warmUpMs` after the last connection are left out (and counted).
    static let warmUpMs = 2000.0

    static func run(port: Int, connections: Int, seconds: Double, after: Int64, topics: [String], token: String?) -> Figures {
        var samples: [(stampMs: Double, latencyMs: Double, all: Bool)] = []
        samples.reserveCapacity(1 << 20)
        var counts = (events: 0, eventBytes: 0, states: 0, stateBytes: 0)
        let marker = Array(#""time":""#.utf8)
        let eventPrefix = Array(#"{"type":"event""#.utf8)
        let paths = topics.map { "/v1/stream?after=\(after)&topics=\($0)" }
        let isAll = topics.map { $0 == "all" }
        let report = WebSocketLoadClient.run(
            host: "127.0.0.1", port: port, paths: paths, connections: connections, seconds: seconds,
            authorization: token.map { "Bearer " + $0 }
        ) { index, message in
            let receivedMs = Date().timeIntervalSince1970 * 1000
            guard message.starts(with: eventPrefix) else {
                counts.states += 1
                counts.stateBytes += message.count
                return
            }
            counts.events += 1
            counts.eventBytes += message.count
            guard let start = firstIndex(of: marker, in: message), start + 24 <= message.count,
                  let stamp = Timestamp(rfc3339: String(decoding: message[start..<start + 24], as: UTF8.self))
            else { return }
            let stampMs = Double(stamp.millisecondsSinceEpoch)
            samples.append((stampMs, receivedMs - stampMs, isAll[index % isAll.count]))
        }
        // Steady state only: every subscriber connected, and `warmUpMs` more for their catch-ups to join.
        let from = (report.allConnectedAtMs ?? .infinity) + warmUpMs
        let live = samples.filter { $0.stampMs > from }
        return Figures(allTopicsMs: live.filter(\.all).map(\.latencyMs), ownTopicsMs: live.filter { !$0.all }.map(\.latencyMs),
                       report: report, skippedCatchUp: samples.count - live.count, eventMessages: counts.events,
                       eventBytes: counts.eventBytes, stateMessages: counts.states, stateBytes: counts.stateBytes)
    }

    /// The index just past the first occurrence of `needle`.
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) {
                return index + needle.count
            }
            index += 1
        }
        return nil
    }
}

/// The baseline for the fan-out figure: libwebsockets (through the same `WebServer` the product uses,
/// with nothing behind it) sending already-encoded messages of the sizes and count the product sent,
/// at the same rate, to subscribers of the same topics. Nothing is decided, stored or folded: what it
/// measures is the transport's own limit on this machine.
///
/// Every `1/rate` s it takes the next topic in turn among the connected subscribers' (round robin over
/// their `session:`/`agent:` topics, or `all` when everyone follows everything) and sends an event
/// message stamped with the current time, then `statesPerEvent` state messages, to that topic's
/// subscribers and to every `all` subscriber.
enum Broadcaster {
    struct Shape: Sendable {
        var eventsPerSecond: Double
        var eventBytes: Int
        var stateBytes: Int
        var statesPerEvent: Double
    }

    final class Feed: WebApplication {
        private let subscribers = Mutex<[ConnectionID: String]>([:])

        func handle(_ request: HTTPRequest) async -> HTTPResponse { HTTPResponse(status: 404, body: []) }
        func webSocketRefusal(_ upgrade: HTTPRequest) -> HTTPResponse? { nil }
        func webSocketOpened(_ connection: ConnectionID, upgrade: HTTPRequest, server: WebServer) {
            subscribers.withLock { $0[connection] = upgrade.query["topics"] ?? "all" }
        }
        func webSocketReceived(_ connection: ConnectionID, text: [UInt8], server: WebServer) {}
        func webSocketClosed(_ connection: ConnectionID) { subscribers.withLock { _ = $0.removeValue(forKey: connection) } }

        /// Every subscriber of `all`, and the subscribers of each other topic.
        func audience() -> (all: [ConnectionID], byTopic: [(String, [ConnectionID])]) {
            subscribers.withLock { subscribers in
                var all: [ConnectionID] = []
                var byTopic: [String: [ConnectionID]] = [:]
                for (connection, topic) in subscribers {
                    if topic == "all" { all.append(connection) } else { byTopic[topic, default: []].append(connection) }
                }
                return (all, byTopic.sorted { $0.key < $1.key })
            }
        }
    }

    static func run(port: Int, shape: Shape) {
        let feed = Feed()
        let server = WebServer(port: port, application: feed)
        guard let bound = try? server.start() else {
            FileHandle.standardError.write(Data("broadcaster: cannot listen on port \(port)\n".utf8))
            exit(1)
        }
        FileHandle.standardOutput.write(Data("broadcaster listening on http://127.0.0.1:\(bound)\n".utf8))
        let stop = Flag()
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { stop.raise() }
        source.resume()
        let intervalNs = UInt64(1e9 / max(shape.eventsPerSecond, 0.1))
        let state = Array(#"{"type":"state","topic":"group:x","position":1,"state":{"pad":""#.utf8)
        var statePayload = state + [UInt8](repeating: UInt8(ascii: "s"), count: max(0, shape.stateBytes - state.count - 3))
        statePayload += Array(#""}}"#.utf8)
        var position: Int64 = 0
        var states = 0.0
        var next = DispatchTime.now().uptimeNanoseconds
        while !stop.isRaised {
            let now = DispatchTime.now().uptimeNanoseconds
            if now < next {
                usleep(UInt32(min(50_000, (next - now) / 1000)))
                continue
            }
            next += intervalNs
            let (all, byTopic) = feed.audience()
            var recipients = all
            if !byTopic.isEmpty { recipients += byTopic[Int(position % Int64(byTopic.count))].1 }
            position += 1
            server.send(recipients, text: eventMessage(position: position, bytes: shape.eventBytes))
            states += shape.statesPerEvent
            while states >= 1 {
                server.send(recipients, text: statePayload)
                states -= 1
            }
        }
        server.shutdown()
    }

    /// `{"type":"event","position":N,"event":{"position":N,"time":"…","pad":"…"}}`, `bytes` long.
    static func eventMessage(position: Int64, bytes: Int) -> [UInt8] {
        let stamp = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)).rfc3339
        var message = Array(#"{"type":"event","position":\#(position),"event":{"position":\#(position),"time":"\#(stamp)","pad":""#.utf8)
        message += [UInt8](repeating: UInt8(ascii: "e"), count: max(0, bytes - message.count - 3))
        message += Array(#""}}"#.utf8)
        return message
    }
}

/// A one-way flag another thread raises.
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

