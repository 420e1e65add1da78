/// A JSON document as a value.
///
/// Switchboard keeps its own small JSON type instead of `Codable` because replaying the event log is
/// bounded by decoding speed: Foundation's `JSONDecoder` managed ~85 000 small events/s on the target
/// machine, far below what a cold start needs. Objects keep their keys in insertion order so that the
/// bytes an encoder writes are reproducible (the event log's hash chain depends on that).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object whose fields keep the order in which they were written or parsed.
public struct JSONObject: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    public struct Field: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public internal(set) var fields: [Field]

    public init() { fields = [] }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        fields = elements.map { Field(key: $0.0, value: $0.1) }
    }

    public init(fields: [Field]) { self.fields = fields }

    /// The value for `key`; setting replaces it in place or appends it; setting `nil` removes it.
    public subscript(key: String) -> JSONValue? {
        @inlinable get {
            for field in fields where field.key == key { return field.value }
            return nil
        }
        set {
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append(Field(key: key, value: newValue))
            }
        }
    }

    public var keys: [String] { fields.map(\.key) }
    public var isEmpty: Bool { fields.isEmpty }
}

extension JSONValue {
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    @inlinable public var intValue: Int64? {
        switch self {
        case .int(let i): i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: Int64(d)
        default: nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    @inlinable public var isNull: Bool { if case .null = self { true } else { false } }

    /// A short name of the value's kind, for error messages.
    @inlinable public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByNilLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(fields: elements.map { .init(key: $0.0, value: $0.1) }))
    }
}
