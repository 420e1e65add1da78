import Crypto
import Foundation
import SwitchboardJSON

/// The hash chain: each event's hash is SHA-256(previous hash ‖ canonical bytes of the event).
///
/// The canonical bytes are the envelope as compact JSON in a fixed key order, without `hash`, with
/// `data` exactly as stored. The first event chains to 32 zero bytes.
public enum EventHashing {
    public static let genesis = [UInt8](repeating: 0, count: 32)

    public static func hash(previous: [UInt8], event: RecordedEvent) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: event.canonicalBytes)
        return Array(hasher.finalize())
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension UUID {
    /// Lowercase RFC 4122 text, as stored in envelopes.
    public var lowercasedString: String { uuidString.lowercased() }

    var bytes: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }

    /// The lowercase text form as bytes, without making a String.
    var lowercasedBytes: [UInt8] {
        let digits: StaticString = "0123456789abcdef"
        var out = [UInt8]()
        out.reserveCapacity(36)
        withUnsafeBytes(of: uuid) { raw in
            digits.withUTF8Buffer { hex in
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0x0F)])
                }
            }
        }
        return out
    }

    init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let b = Array(bytes)
        self.init(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}

extension RecordedEvent {
    /// The bytes the hash covers (the envelope without `hash`).
    public var canonicalBytes: [UInt8] {
        var writer = JSONWriter(reservingCapacity: data.count + 256)
        writeEnvelope(into: &writer, includeHash: false)
        return writer.bytes
    }

    /// The whole envelope as one line of JSON: `position, stream, streamVersion, id, type, version,
    /// time, correlationId, data, hash`.
    public var envelopeJSON: [UInt8] {
        var writer = JSONWriter(reservingCapacity: data.count + 330)
        writeEnvelope(into: &writer, includeHash: true)
        return writer.bytes
    }

    public func writeEnvelope(into writer: inout JSONWriter, includeHash: Bool) {
        writer.append("{\"position\":")
        writer.writeInt(position)
        writer.append(",\"stream\":")
        writer.writeString(stream)
        writer.append(",\"streamVersion\":")
        writer.writeInt(streamVersion)
        writer.append(",\"id\":\"")
        writer.writeRaw(id.lowercasedBytes)
        writer.append("\"")
        writer.append(",\"type\":")
        writer.writeString(type)
        writer.append(",\"version\":")
        writer.writeInt(Int64(version))
        writer.append(",\"time\":\"")
        time.writeRFC3339(into: &writer)
        writer.append("\"")
        writer.append(",\"correlationId\":")
        if let correlationId { writer.writeString(correlationId) } else { writer.append("null") }
        writer.append(",\"data\":")
        writer.writeRaw(data)
        if includeHash {
            writer.append(",\"hash\":")
            writer.writeString(EventHashing.hex(hash))
        }
        writer.append("}")
    }
}
