import SwitchboardJSON

/// A pool of caller IDs for local presence: a call shows a number from the recipient's area code
/// when the pool has one, so it looks local; otherwise the pool's default (its first number).
public struct CallerIDPool: Hashable, Sendable {
    public let numbers: [PhoneNumber]
    private let byAreaCode: [String: PhoneNumber]

    /// `nil` for an empty pool: every call needs a number that can be called back.
    public init?(_ numbers: [PhoneNumber]) {
        guard !numbers.isEmpty else { return nil }
        self.numbers = numbers
        var byAreaCode: [String: PhoneNumber] = [:]
        for number in numbers {
            if let area = number.nanpAreaCode, byAreaCode[area] == nil { byAreaCode[area] = number }
        }
        self.byAreaCode = byAreaCode
    }

    public var defaultNumber: PhoneNumber { numbers[0] }

    public func callerID(for recipient: PhoneNumber) -> PhoneNumber {
        if let area = recipient.nanpAreaCode, let local = byAreaCode[area] { return local }
        return defaultNumber
    }
}
