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

    init(_ text: [UInt8]) {
        let pre = WebServer.headroom
        bytes = [UInt8](repeating: 0, count: pre + text.count)
        bytes.replaceSubrange(pre..<(pre + text.count), with: text)
        count = text.count
        isFramed = false
    }

    init(frames texts: [[UInt8]]) {
        bytes = WebSocketFraming.textFrames(texts.map { $0[...] }, headroom: WebServer.headroom)
        count = bytes.count - WebServer.headroom
        isFramed = true
    }
}
