import SwitchboardJSON

/// An E.164 telephone number: `+`, a country code, at most 15 digits in all. A North American number
/// (`+1`) has ten digits whose area code and exchange do not start with 0 or 1 (NANP).
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible, JSONConvertible {
    public let e164: String

    public init?(_ text: String) {
        var count = 0
        for byte in text.utf8 {
            switch count {
            case 0: guard byte == UInt8(ascii: "+") else { return nil }
            case 1: guard byte >= UInt8(ascii: "1"), byte <= UInt8(ascii: "9") else { return nil }
            default: guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            }
            count += 1
            if count > 16 { return nil }
        }
        guard count >= 8 else { return nil }
        let digits = Array(text.utf8.dropFirst())
        if digits.first == UInt8(ascii: "1") {
            guard digits.count == 11, digits[1] >= UInt8(ascii: "2"), digits[4] >= UInt8(ascii: "2") else { return nil }
        }
        e164 = text
    }

    /// The NANP area code (the three digits after `+1`), or `nil` outside the North American plan.
    public var nanpAreaCode: String? {
        let utf8 = e164.utf8
        guard utf8.count == 12, utf8.dropFirst().first == UInt8(ascii: "1") else { return nil }
        return String(decoding: utf8.dropFirst(2).prefix(3), as: UTF8.self)
    }

    public var description: String { e164 }

    public init(json: JSONValue) throws(JSONError) {
        let text = try String(json: json)
        guard let number = PhoneNumber(text) else {
            throw JSONError("\"\(text)\" is not an E.164 phone number (a +1 number: ten digits, area code and exchange not starting with 0 or 1)")
        }
        self = number
    }

    public var json: JSONValue { .string(e164) }
}
