import Foundation
import Testing
@testable import WebTransport

/// A lagging reader's queue: the states a newer one of the same topic replaces are dropped while the
/// queue is long, and every event still goes out, once, in order.
@Suite("Superseded states in a long queue")
struct SupersededStateTests {
    var limits: WebServer.Limits {
        var limits = WebServer.Limits()
        limits.supersedeStatesAboveBytes = 2_000
        limits.maxQueuedBytes = 1 << 20
        return limits
    }

    /// Commit `n` as the pump sends it: its event, then the group's and the session's state after it.
    static func commit(_ n: Int, groups: Int = 3) -> (texts: [[UInt8]], topics: [String?]) {
        let group = "group:g\(n % groups)"
        return ([Array(#"{"type":"event","position":\#(n)}"#.utf8),
                 Array(#"{"type":"state","topic":"\#(group)","position":\#(n)}"#.utf8),
                 Array(#"{"type":"state","topic":"session:s","position":\#(n)}"#.utf8)],
                [nil, group, "session:s"])
    }

    /// Queues `count` commits (each framed once, as shared by every socket of its share) without
    /// writing anything, then writes the whole queue out: the messages, as the reader would get them.
    static func lagging(_ count: Int, limits: WebServer.Limits, singles: Bool = false) -> (messages: [[String: Any]], superseded: Int) {
        var socket = WebSocketConnection()
        var superseded = 0
        for n in 1...count {
            let (texts, topics) = commit(n)
            let messages = singles ? zip(texts, topics).map { OutgoingMessage($0, state: $1) } : [OutgoingMessage(frames: texts, stateTopics: topics)]
            superseded += socket.supersedeStates(with: messages, limits: limits).states
            _ = socket.enqueue(messages, bytes: messages.reduce(0) { $0 + $1.count }, totalQueued: 0, limits: limits)
        }
        var wire: [UInt8] = []
        let pre = WebServer.headroom
        while !socket.queue.isEmpty {
            for message in socket.takeBatch(limit: 64 * 1024) {
                let payload = Array(message.bytes[pre..<(pre + message.count)])
                wire += message.isFramed ? payload : WebSocketFraming.textFrames([payload[...]], headroom: 0)
            }
        }
        #expect(socket.queuedBytes == 0)
        return (unframe(wire).map { (try? JSONSerialization.jsonObject(with: Data($0))) as? [String: Any] ?? [:] }, superseded)
    }

    /// Server frames (unmasked, final, text) back into their payloads.
    static func unframe(_ bytes: [UInt8]) -> [[UInt8]] {
        var payloads: [[UInt8]] = [], at = 0
        while at < bytes.count {
            var length = Int(bytes[at + 1] & 0x7f), header = 2
            if length == 126 { length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]); header = 4 }
            if length == 127 { length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[at + 2 + $1]) }; header = 10 }
            payloads.append(Array(bytes[(at + header)..<(at + header + length)]))
            at += header + length
        }
        return payloads
    }

    @Test(arguments: [false, true])
    func aLaggingReaderGetsEveryEventInOrderAndOnlyTheNewerStates(singles: Bool) {
        let (messages, superseded) = Self.lagging(200, limits: limits, singles: singles)
        let events = messages.filter { $0["type"] as? String == "event" }.compactMap { $0["position"] as? Int }
        #expect(events == Array(1...200), "every event, once, in order")
        let states = messages.filter { $0["type"] as? String == "state" }
        #expect(superseded > 0 && states.count == 400 - superseded, "states were dropped from the long queue")
        #expect(states.count < 200, "most of the 400 states were superseded")
        // Each topic's last state is there, states never go back, and a state follows its own event.
        var seen: [String: Int] = [:], lastEvent = 0
        for message in messages {
            let position = message["position"] as? Int ?? -1
            if message["type"] as? String == "event" { lastEvent = position; continue }
            let topic = message["topic"] as? String ?? ""
            #expect(position > seen[topic, default: 0], "\(topic) went back to \(position)")
            #expect(position <= lastEvent, "a state came before its event")
            seen[topic] = position
        }
        #expect(seen == ["group:g0": 198, "group:g1": 199, "group:g2": 200, "session:s": 200])
    }

    @Test func aReaderThatKeepsUpGetsEveryState() {
        var relaxed = limits
        relaxed.supersedeStatesAboveBytes = 1 << 20
        let (messages, superseded) = Self.lagging(50, limits: relaxed)
        #expect(superseded == 0)
        #expect(messages.filter { $0["type"] as? String == "state" }.count == 100)
    }
}
