import Foundation
import SwitchboardJSON
import Synchronization

/// A message with `LWS_PRE` bytes of headroom in front, made once and shared by every connection it
/// goes to (lws writes the frame header into the headroom right before each write, on one thread) —
/// or several messages already framed, written as they are.
final class OutgoingMessage: @unchecked Sendable {
    // @unchecked: `bytes` is written while building (before the message is shared) and then only
    // by the service thread, in the headroom, one write at a time.
    var bytes: [UInt8]
    /// Bytes after the headroom.
    let count: Int
    /// `bytes` holds complete WebSocket frames (several messages), not one message's payload.
    let isFramed: Bool
    /// The state messages in it, by topic, with their bytes (after the headroom; frames when
    /// `isFramed`): a newer state of the same topic supersedes one still waiting in a long queue.
    let states: [(topic: String, range: Range<Int>)]

    /// One message; `state`: the topic it is the state of, if it is one.
    init(_ text: [UInt8], state topic: String? = nil) {
        let pre = WebServer.headroom
        bytes = [UInt8](repeating: 0, count: pre + text.count)
        bytes.replaceSubrange(pre..<(pre + text.count), with: text)
        count = text.count
        isFramed = false
        states = topic.map { [($0, 0..<text.count)] } ?? []
    }

    /// Several messages framed once; `stateTopics[i]`: the topic `texts[i]` is the state of, if any.
    init(frames texts: [[UInt8]], stateTopics: [String?] = []) {
        bytes = WebSocketFraming.textFrames(texts.map { $0[...] }, headroom: WebServer.headroom)
        count = bytes.count - WebServer.headroom
        isFramed = true
        var states: [(topic: String, range: Range<Int>)] = []
        var offset = 0
        for (index, text) in texts.enumerated() {
            let length = WebSocketFraming.textFrameHeader(length: text.count).count + text.count
            if index < stateTopics.count, let topic = stateTopics[index] { states.append((topic, offset..<(offset + length))) }
            offset += length
        }
        self.states = states
    }

    private init(framed payload: [UInt8], states: [(topic: String, range: Range<Int>)]) {
        bytes = [UInt8](repeating: 0, count: WebServer.headroom) + payload
        count = payload.count
        isFramed = true
        self.states = states
    }

    /// This message for one socket without its state of `topic` (superseded): a copy, since others
    /// share this one. Empty when that state was all it held.
    func without(_ topic: String) -> OutgoingMessage {
        guard let dropped = states.first(where: { $0.topic == topic })?.range else { return self }
        let pre = WebServer.headroom
        var payload: [UInt8] = []
        // A single message that is a state is all that state: nothing is left of it.
        if isFramed {
            payload.reserveCapacity(count - dropped.count)
            payload += bytes[pre..<(pre + dropped.lowerBound)]
            payload += bytes[(pre + dropped.upperBound)..<(pre + count)]
        }
        let kept = states.filter { $0.topic != topic }.map { state in
            (state.topic, state.range.lowerBound >= dropped.upperBound
                ? (state.range.lowerBound - dropped.count)..<(state.range.upperBound - dropped.count) : state.range)
        }
        return OutgoingMessage(framed: payload, states: kept)
    }
}
