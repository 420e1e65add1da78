import Foundation
import Synchronization
import SwitchboardBasics
import WebTransport

/// The baseline for the fan-out figure: libwebsockets (through the same `WebServer` the product uses,
/// with nothing behind it) sending already-encoded messages of the sizes and count the product sent,
/// at the same rate, to subscribers of the same topics. Nothing is decided, stored or folded: what it
/// measures is the transport's own limit on this machine.
///
/// Every `1/rate` s it takes the next topic in turn among the connected subscribers' (round robin over
/// their `session:`/`agent:` topics, or `all` when everyone follows everything) and sends an event
/// message stamped with the current time, then `statesPerEvent` state messages, to that topic's
/// subscribers and to every `all` subscriber.
///
/// With a `schedule` it replays the product's own timing instead: the sends (events decided together,
/// with their states) at the offsets they were decided, over and over. The product's traffic comes in
/// bursts — a batch ends and the next starts in the same millisecond — and a burst's last message
/// waits for the writes before it in the library as much as in the product.
enum Broadcaster {
    struct Shape: Sendable {
        var eventsPerSecond: Double
        var eventBytes: Int
        var stateBytes: Int
        var statesPerEvent: Double
        /// Replayed timing: each send's offset from the start and its event and state messages.
        var schedule: [Send] = []
    }

    struct Send: Sendable {
        var offsetMs: Double
        var events: Int
        var states: Int
    }

    /// Reads a schedule: one send a line, `offsetMs events states`; `nil` if a line is not one.
    static func schedule(_ text: String) -> [Send]? {
        var sends: [Send] = []
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let offset = Double(fields[0]), let events = Int(fields[1]), let states = Int(fields[2]),
                  offset >= 0, events >= 0, states >= 0 else { return nil }
            sends.append(Send(offsetMs: offset, events: events, states: states))
        }
        return sends.isEmpty ? nil : sends
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

        /// Who gets send number `turn`: every `all` subscriber, and the subscribers of the topic whose
        /// turn it is (round robin over the other topics).
        func recipients(turn: Int64) -> [ConnectionID] {
            let (all, byTopic) = audience()
            guard !byTopic.isEmpty else { return all }
            return all + byTopic[Int(turn % Int64(byTopic.count))].1
        }

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
        if !shape.schedule.isEmpty {
            replay(shape, through: server, to: feed, until: stop)
            server.shutdown()
            return
        }
        let intervalNs = UInt64(1e9 / max(shape.eventsPerSecond, 0.1))
        let statePayload = stateMessage(bytes: shape.stateBytes)
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
            let recipients = feed.recipients(turn: position)
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

    /// Sends `shape.schedule` again and again (each round starting one mean gap after the last send
    /// of the one before), each send's messages together, as the product sends a commit's.
    private static func replay(_ shape: Shape, through server: WebServer, to feed: Feed, until stop: Flag) {
        let sends = shape.schedule
        let spanNs = UInt64((sends.last?.offsetMs ?? 0) * 1e6)
        let roundNs = spanNs + spanNs / UInt64(max(sends.count, 1))
        let statePayload = stateMessage(bytes: shape.stateBytes)
        var position: Int64 = 0
        var roundStart = DispatchTime.now().uptimeNanoseconds
        while !stop.isRaised {
            for send in sends {
                let due = roundStart + UInt64(send.offsetMs * 1e6)
                while !stop.isRaised, case let now = DispatchTime.now().uptimeNanoseconds, now < due {
                    usleep(UInt32(min(50_000, (due - now) / 1000)))
                }
                if stop.isRaised { return }
                let recipients = feed.recipients(turn: position)
                var texts: [[UInt8]] = []
                for _ in 0..<send.events {
                    position += 1
                    texts.append(eventMessage(position: position, bytes: shape.eventBytes))
                }
                texts += Array(repeating: statePayload, count: send.states)
                if !recipients.isEmpty, !texts.isEmpty { server.send(recipients, texts: texts) }
            }
            roundStart += max(roundNs, 1_000_000)
        }
    }

    /// `{"type":"state","topic":"group:x","position":1,"state":{"pad":"…"}}`, `bytes` long.
    static func stateMessage(bytes: Int) -> [UInt8] {
        var message = Array(#"{"type":"state","topic":"group:x","position":1,"state":{"pad":""#.utf8)
        message += [UInt8](repeating: UInt8(ascii: "s"), count: max(0, bytes - message.count - 3))
        message += Array(#""}}"#.utf8)
        return message
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
