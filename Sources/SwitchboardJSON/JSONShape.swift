/// One field of a JSON object: its key, and how to read it and write it.
public struct JSONField<Root, Value>: Sendable {
    public let key: String
    @usableFromInline let read: @Sendable (JSONObject) throws(JSONError) -> Value
    /// `nil` leaves the key out.
    @usableFromInline let write: @Sendable (Root) -> JSONValue?

    @usableFromInline
    init(key: String, read: @escaping @Sendable (JSONObject) throws(JSONError) -> Value,
         write: @escaping @Sendable (Root) -> JSONValue?) {
        self.key = key
        self.read = read
        self.write = write
    }
}

// Everything on the decoding path is inlinable, so that each field's reader and each shape are
// specialised for their types where the shape is declared: decoding bounds replay.

extension JSONField where Value: JSONConvertible {
    /// A required field.
    @inlinable
    public init(_ key: String, _ path: KeyPath<Root, Value> & Sendable) {
        self.init(key: key, read: { object throws(JSONError) in try object.decode(key) }, write: { $0[keyPath: path].json })
    }
}

extension JSONField where Value: JSONConvertible {
    /// A field added after logs were written: read as `defaultValue` when absent, always written.
    @inlinable
    public init(_ key: String, _ path: KeyPath<Root, Value> & Sendable, absent defaultValue: Value) {
        self.init(key: key, read: { object throws(JSONError) in try object.decodeIfPresent(key) ?? defaultValue },
                  write: { $0[keyPath: path].json })
    }
}

extension JSONField {
    /// An optional field, written as `null` when absent (the schema lists it), read as absent when
    /// missing or `null`.
    @inlinable
    public init<Wrapped: JSONConvertible>(_ key: String, _ path: KeyPath<Root, Wrapped?> & Sendable) where Value == Wrapped? {
        self.init(key: key, read: { object throws(JSONError) in try object.decodeIfPresent(key) },
                  write: { $0[keyPath: path]?.json ?? .null })
    }

    /// An optional field left out entirely when absent.
    @inlinable
    public static func omittedWhenAbsent<Wrapped: JSONConvertible>(_ key: String, _ path: KeyPath<Root, Wrapped?> & Sendable)
        -> JSONField<Root, Wrapped?>
    {
        JSONField<Root, Wrapped?>(key: key, read: { object throws(JSONError) in try object.decodeIfPresent(key) },
                                  write: { $0[keyPath: path]?.json })
    }
}

/// The one description of a value's JSON object: its fields in order and how to build the value from
/// them. Encoding and decoding both run from it, so each key is written once.
///
///     static let shape = JSONShape(CallRinging.init, .init("groupId", \.batchId), .init("callId", \.callId))
public struct JSONShape<Root, each Value>: Sendable {
    @usableFromInline let fields: (repeat JSONField<Root, each Value>)
    @usableFromInline let make: @Sendable (repeat each Value) -> Root

    public init(_ make: @escaping @Sendable (repeat each Value) -> Root, _ fields: repeat JSONField<Root, each Value>) {
        self.make = make
        self.fields = (repeat each fields)
    }

    /// The object's keys, in order.
    public var keys: [String] {
        var keys: [String] = []
        for field in repeat each fields { keys.append(field.key) }
        return keys
    }

    @inlinable
    public func decode(_ object: JSONObject) throws(JSONError) -> Root {
        make(repeat try (each fields).read(object))
    }

    @inlinable
    public func decode(_ json: JSONValue) throws(JSONError) -> Root {
        try decode(try JSONObject(json: json))
    }

    @inlinable
    public func encode(_ root: Root) -> JSONObject {
        var written: [JSONObject.Field] = []
        for field in repeat each fields {
            if let value = field.write(root) { written.append(JSONObject.Field(key: field.key, value: value)) }
        }
        return JSONObject(fields: written)
    }
}

/// A value whose JSON form is one `JSONShape`.
public protocol JSONShaped: JSONConvertible {
    associatedtype Shape: JSONShapeProtocol where Shape.Root == Self
    static var shape: Shape { get }
}

/// What `JSONShaped` needs of a shape (a protocol, because the shape's field types are a pack).
public protocol JSONShapeProtocol: Sendable {
    associatedtype Root
    func decode(_ object: JSONObject) throws(JSONError) -> Root
    func encode(_ root: Root) -> JSONObject
}

extension JSONShape: JSONShapeProtocol {}

extension JSONShaped {
    @inlinable public init(json: JSONValue) throws(JSONError) { self = try Self.shape.decode(try JSONObject(json: json)) }
    @inlinable public var json: JSONValue { .object(Self.shape.encode(self)) }
}
