import Crypto
import Foundation

/// Twilio's `X-Twilio-Signature`: base64 of HMAC-SHA1 under the account's auth token, over the full URL
/// the webhook was sent to followed by every form parameter as `name` + `value`, names in sorted order
/// (each name once, its distinct values sorted) — as twilio-python's `RequestValidator` computes it.
///
/// Why both port forms: Twilio signs some URLs with `:443`/`:80` and some without, so the validator
/// accepts either (twilio-python does the same).
public struct TwilioSignature: Sendable {
    /// The auth token's bytes (the key is made per use: Crypto's key types are not `Sendable`).
    private let token: [UInt8]

    public init(authToken: String) { token = Array(authToken.utf8) }

    /// The signature of a form POST to `url` with `parameters`.
    public func signature(url: String, parameters: [(name: String, value: String)]) -> String {
        var message = Array(url.utf8)
        var values: [String: Set<String>] = [:]
        for (name, value) in parameters { values[name, default: []].insert(value) }
        for name in values.keys.sorted(by: Self.byCodePoint) {
            for value in (values[name] ?? []).sorted(by: Self.byCodePoint) {
                message += Array(name.utf8)
                message += Array(value.utf8)
            }
        }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: token))
        return Data(mac).base64EncodedString()
    }

    /// Whether `signature` is Twilio's for this request, with or without the URL's default port.
    public func isValid(_ signature: String, url: String, parameters: [(name: String, value: String)]) -> Bool {
        guard let given = Data(base64Encoded: signature) else { return false }
        return Self.portForms(of: url).contains { form in
            let expected = Data(base64Encoded: self.signature(url: form, parameters: parameters)) ?? Data()
            return Self.constantTimeEqual(Array(expected), Array(given))
        }
    }

    /// `url` as given, with its scheme's default port added and with it removed.
    static func portForms(of url: String) -> [String] {
        guard var parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased() else { return [url] }
        let standard = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        var forms = [url]
        if parts.port == nil, let standard {
            parts.port = standard
            if let with = parts.string { forms.append(with) }
        } else if parts.port == standard {
            parts.port = nil
            if let without = parts.string { forms.append(without) }
        }
        return forms
    }

    /// Python's `sorted` on str: by code point, which is UTF-8 byte order.
    static func byCodePoint(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

/// Telnyx's webhook signature: Ed25519 by the account's key over `"{telnyx-timestamp}|{raw body}"`,
/// base64 in `telnyx-signature-ed25519`; a timestamp more than five minutes from ours is refused, so
/// a captured webhook cannot be replayed later (the telnyx SDK's `webhook_verification.py`).
public struct TelnyxSignature: Sendable {
    public static let toleranceSeconds: Int64 = 300
    /// The key's 32 bytes, checked at `init` (Crypto's key types are not `Sendable`).
    private let key: Data

    /// `publicKey`: the account's public key as Telnyx shows it (base64 of 32 bytes).
    public init(publicKey: String) throws(SignatureKeyError) {
        guard let raw = Data(base64Encoded: publicKey), raw.count == 32,
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { throw SignatureKeyError(description: "the Telnyx public key must be base64 of 32 bytes") }
        key = raw
    }

    public enum Verdict: Equatable, Sendable {
        case valid
        case missing, malformed, stale, forged
    }

    /// Whether the webhook is Telnyx's and fresh; `now` in Unix seconds.
    public func check(signature: String?, timestamp: String?, body: [UInt8], now: Int64) -> Verdict {
        guard let signature, let timestamp else { return .missing }
        guard let seconds = Int64(timestamp), let raw = Data(base64Encoded: signature), raw.count == 64 else { return .malformed }
        let (distance, overflow) = now.subtractingReportingOverflow(seconds)
        guard !overflow, distance.magnitude <= Self.toleranceSeconds else { return .stale }
        let message = Data(Array(timestamp.utf8) + [UInt8(ascii: "|")] + body)
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else { return .forged }
        return publicKey.isValidSignature(raw, for: message) ? .valid : .forged
    }
}

public struct SignatureKeyError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
