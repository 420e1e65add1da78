/// A type that maps to and from a `JSONValue` by hand-written, explicit code.
///
/// Explicit mappings keep the stored wire format independent of Swift property names, and they are
/// several times faster than `Codable` when replaying a large log.
public protocol JSONConvertible: Sendable {
    init(json: JSONValue) throws(JSONError)
    var json: JSONValue { get }
}

extension String: JSONConvertible {
    @inlinable public init(json: JSONValue) throws(JSONError) {
        guard case .string(let s) = json else { throw JSONError("expected a string, got \(json.kindName)") }
        self = s
    }
    @inlinable public var json: JSONValue { .string(self) }
}

extension Int: JSONConvertible {
    @inlinable public init(json: JSONValue) throws(JSONError) {
        guard let i = json.intValue, let value = Int(exactly: i) else {
            throw JSONError("expected an integer, got \(json.kindName)")
        }
        self = value
    }
    @inlinable public var json: JSONValue { .int(Int64(self)) }
}

extension Int64: JSONConvertible {
    @inlinable public init(json: JSONValue) throws(JSONError) {
        guard let i = json.intValue else { throw JSONError("expected an integer, got \(json.kindName)") }
        self = i
    }
    @inlinable public var json: JSONValue { .int(self) }
}

extension Bool: JSONConvertible {
    @inlinable public init(json: JSONValue) throws(JSONError) {
        guard case .bool(let b) = json else { throw JSONError("expected a boolean, got \(json.kindName)") }
        self = b
    }
    @inlinable public var json: JSONValue { .bool(self) }
}

extension JSONValue: JSONConvertible {
    @inlinable public init(json: JSONValue) throws(JSONError) { self = json }
    @inlinable public var json: JSONValue { self }
}

extension JSONObject: JSONConvertible {
    @inlinable public init(json: JSONValue) throws(JSONError) {
        guard case .object(let o) = json else { throw JSONError("expected an object, got \(json.kindName)") }
        self = o
    }
    @inlinable public var json: JSONValue { .object(self) }
}

extension Array: JSONConvertible where Element: JSONConvertible {
    @inlinable public init(json: JSONValue) throws(JSONError) {
        guard case .array(let elements) = json else { throw JSONError("expected an array, got \(json.kindName)") }
        var result: [Element] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            do {
                result.append(try Element(json: element))
            } catch {
                throw JSONError("[\(index)]: \(error.message)")
            }
        }
        self = result
    }
    @inlinable public var json: JSONValue { .array(map(\.json)) }
}

/// String-backed enums and identifiers get their mapping for free.
extension JSONConvertible where Self: RawRepresentable, RawValue == String {
    @inlinable public init(json: JSONValue) throws(JSONError) {
        let raw = try String(json: json)
        guard let value = Self(rawValue: raw) else { throw JSONError("unexpected value \"\(raw)\"") }
        self = value
    }
    @inlinable public var json: JSONValue { .string(rawValue) }
}

extension JSONObject {
    /// The value under `key`, converted; a missing key or a wrong type names the key in the error.
    @inlinable public func decode<T: JSONConvertible>(_ key: String, as type: T.Type = T.self) throws(JSONError) -> T {
        guard let value = self[key] else { throw JSONError("missing field \"\(key)\"") }
        do {
            return try T(json: value)
        } catch {
            throw JSONError("field \"\(key)\": \(error.message)")
        }
    }

    /// Like `decode`, but an absent key or an explicit `null` gives `nil`.
    @inlinable public func decodeIfPresent<T: JSONConvertible>(_ key: String, as type: T.Type = T.self) throws(JSONError) -> T? {
        guard let value = self[key], !value.isNull else { return nil }
        do {
            return try T(json: value)
        } catch {
            throw JSONError("field \"\(key)\": \(error.message)")
        }
    }

    /// Fails when the object has a key outside `allowed`: unknown input fields are a client bug.
    public func rejectUnknownKeys(_ allowed: Set<String>) throws(JSONError) {
        for field in fields where !allowed.contains(field.key) {
            throw JSONError("unknown field \"\(field.key)\"")
        }
    }

    /// Stores `value` under `key`; `nil` writes an explicit JSON `null`.
    @inlinable public mutating func put(_ key: String, _ value: (some JSONConvertible)?) {
        self[key] = value?.json ?? .null
    }

    /// Stores `value` under `key` only when it is not `nil`.
    @inlinable public mutating func putIfPresent(_ key: String, _ value: (some JSONConvertible)?) {
        if let value { self[key] = value.json }
    }
}
