import SwitchboardJSON

/// An E.164 telephone number: `+`, a country code, at most 15 digits in all.
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible, JSONConvertible {
    public let e164: String

    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 8, utf8.count <= 16, utf8[0] == UInt8(ascii: "+"), utf8[1] != UInt8(ascii: "0"),
            utf8.dropFirst().allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return nil }
        e164 = text
    }

    /// The NANP area code (the three digits after `+1`), or `nil` outside the North American plan.
    public var nanpAreaCode: String? {
        let utf8 = Array(e164.utf8)
        guard utf8.count == 12, utf8[1] == UInt8(ascii: "1") else { return nil }
        return String(decoding: utf8[2..<5], as: UTF8.self)
    }

    public var description: String { e164 }

    public init(json: JSONValue) throws(JSONError) {
        let text = try String(json: json)
        guard let number = PhoneNumber(text) else { throw JSONError("\"\(text)\" is not an E.164 phone number") }
        self = number
    }

    public var json: JSONValue { .string(e164) }
}
