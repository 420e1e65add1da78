/// RFC 6455 framing for server-to-client text messages (unmasked), used to send several queued
/// messages in one write. lws frames single messages itself.
enum WebSocketFraming {
    /// The frame header of one final text frame carrying `length` payload bytes.
    static func textFrameHeader(length: Int) -> [UInt8] {
        let opcode: UInt8 = 0x80 | 0x1  // FIN + text
        switch length {
        case ..<126:
            return [opcode, UInt8(length)]
        case ..<65536:
            return [opcode, 126, UInt8(length >> 8), UInt8(truncatingIfNeeded: length)]
        default:
            return [opcode, 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(length) >> (8 * UInt64($0))) }
        }
    }

    /// Messages (`framed`: already complete frames, copied as they are) as consecutive frames, after
    /// `headroom` zero bytes.
    static func frames(_ parts: [(bytes: ArraySlice<UInt8>, framed: Bool)], headroom: Int) -> [UInt8] {
        var frames = [UInt8](repeating: 0, count: headroom)
        frames.reserveCapacity(headroom + parts.reduce(0) { $0 + $1.bytes.count + 10 })
        for part in parts {
            if !part.framed { frames += textFrameHeader(length: part.bytes.count) }
            frames += part.bytes
        }
        return frames
    }

    /// `payloads` as consecutive text frames, after `headroom` zero bytes (lws's `LWS_PRE`).
    static func textFrames(_ payloads: [ArraySlice<UInt8>], headroom: Int) -> [UInt8] {
        var frames = [UInt8](repeating: 0, count: headroom)
        frames.reserveCapacity(headroom + payloads.reduce(0) { $0 + $1.count + 10 })
        for payload in payloads {
            frames += textFrameHeader(length: payload.count)
            frames += payload
        }
        return frames
    }
}
