/// A webhook a carrier sent us, as the server received it: the path below `/v1/carriers/{carrier}/`,
/// the headers the signature needs, the raw body (signatures are over the exact bytes).
public struct CarrierWebhook: Sendable {
    /// Path segments after `v1/carriers/{carrier}/`, decoded.
    public var path: [String]
    /// Lower-cased names.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(path: [String], headers: [String: String], body: [UInt8]) {
        self.path = path; self.headers = headers; self.body = body
    }
}

public struct CarrierWebhookReply: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "application/json", body: [UInt8] = []) {
        self.status = status; self.contentType = contentType; self.body = body
    }

    public static func error(_ status: Int, code: String, message: String) -> CarrierWebhookReply {
        let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return CarrierWebhookReply(status: status, body: Array(#"{"error":{"code":"\#(code)","message":"\#(escaped)"}}"#.utf8))
    }

    /// The signature is missing, stale or not the carrier's: 403, nothing recorded.
    public static let forbidden = CarrierWebhookReply.error(403, code: "bad-signature",
                                                            message: "the webhook's signature is missing, stale or not the carrier's")
    public static let accepted = CarrierWebhookReply(status: 204)
}

/// A carrier that calls back: the server mounts `/v1/carriers/{name}/…` for it as open routes (no bearer
/// token: the signature is the credential) and hands each request here.
public protocol CarrierWebhooks: Sendable {
    /// `twilio`, `telnyx`: the path segment after `/v1/carriers/`.
    var name: String { get }
    /// The headers its signature check reads (lower-cased), which the server must keep.
    var signatureHeaders: [String] { get }
    /// Checks the signature first: a bad one answers 403 and changes nothing.
    func receive(_ webhook: CarrierWebhook) async -> CarrierWebhookReply
}

/// Where the carrier calls back: the public base URL (`--public-url`), which may differ from the address
/// the server listens on behind a proxy or tunnel. Signatures are computed over these URLs.
public struct CallbackURLs: Sendable {
    public let base: String
    public let carrier: String

    public init(publicURL: String, carrier: String) {
        base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.carrier = carrier
    }

    /// `{base}/v1/carriers/{carrier}/{segments…}`, each segment escaped.
    public func url(_ segments: [String]) -> String {
        ([base, "v1", "carriers", carrier] + segments.map(FormEncoding.escape)).joined(separator: "/")
    }
}
