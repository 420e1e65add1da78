import SwitchboardBasics

extension Timestamp {
    /// Writes the RFC 3339 form straight into a JSON writer's bytes (no String on the hot path).
    public func writeRFC3339(into writer: inout JSONWriter) {
        let (days, msOfDay) = millisecondsSinceEpoch.floorDivided(by: 86_400_000)
        let (year, month, day) = Self.civil(fromDays: days)
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        func put(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            if rest >= divisor * 10 {  // wider than `width` (years past 9999)
                digits.append(contentsOf: String(value).utf8)
                return
            }
            while divisor > 0 {
                digits.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        put(year, 4); digits.append(UInt8(ascii: "-"))
        put(month, 2); digits.append(UInt8(ascii: "-"))
        put(day, 2); digits.append(UInt8(ascii: "T"))
        put(msOfDay / 3_600_000, 2); digits.append(UInt8(ascii: ":"))
        put(msOfDay / 60_000 % 60, 2); digits.append(UInt8(ascii: ":"))
        put(msOfDay / 1000 % 60, 2); digits.append(UInt8(ascii: "."))
        put(msOfDay % 1000, 3); digits.append(UInt8(ascii: "Z"))
        writer.writeRaw(digits)
    }

}

extension Timestamp: JSONConvertible {
    public init(json: JSONValue) throws(JSONError) {
        let text = try String(json: json)
        guard let value = Timestamp(rfc3339: text) else { throw JSONError("expected an RFC 3339 time, got \"\(text)\"") }
        self = value
    }
    public var json: JSONValue { .string(rfc3339) }
}

