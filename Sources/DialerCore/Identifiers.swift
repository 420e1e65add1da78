import SwitchboardJSON

/// A string identifier that cannot be confused with another kind of identifier.
public protocol Identifier: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral, JSONConvertible where RawValue == String
{
    init(rawValue: String)
}

extension Identifier {
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(json: JSONValue) throws(JSONError) { self.init(rawValue: try String(json: json)) }
    public var json: JSONValue { .string(rawValue) }
}

public struct QueueID: Identifier { public let rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct ContactID: Identifier { public let rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct SessionID: Identifier { public let rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct AgentID: Identifier { public let rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
/// A batch: the calls dialled together for one agent (the API calls it a parallel group, `groupId`).
public struct BatchID: Identifier { public let rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
public struct CallID: Identifier { public let rawValue: String; public init(rawValue: String) { self.rawValue = rawValue } }
