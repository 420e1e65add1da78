import DialerCore
import DialerEngine
import Foundation
import SwitchboardJSON

/// Telnyx's account: the API key authenticates our requests (the `Authorization` header only, never
/// logged, never in a URL); the public key checks Telnyx's webhooks.
public struct TelnyxAccount: Sendable {
    public var apiKey: String
    /// The Call Control application (`connection_id`) the calls belong to.
    public var connectionId: String
    /// Base64 of the account's Ed25519 public key (Mission Control → Keys).
    public var publicKey: String
    /// `https://api.telnyx.com/v2` unless told (tests point it at the fake).
    public var apiURL: String
    /// Dials per second (Telnyx's default: 30, over a 5-second window).
    public var callsPerSecond: Int

    public init(apiKey: String, connectionId: String, publicKey: String, apiURL: String = "https://api.telnyx.com/v2",
                callsPerSecond: Int = 30) {
        self.apiKey = apiKey
        self.connectionId = connectionId
        self.publicKey = publicKey
        self.apiURL = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        self.callsPerSecond = callsPerSecond
    }
}

/// What rides in a Telnyx call's `client_state` (base64 of this JSON): our name for the call, or the
/// session an agent's call belongs to. Echoed in every webhook of the call.
enum TelnyxClientState: Equatable {
    case contact(CallReference)
    case agent(SessionID)

    var encoded: String {
        let json: JSONValue = switch self {
        case .contact(let r): ["g": .string(r.batchId.rawValue), "c": .string(r.callId.rawValue)]
        case .agent(let s): ["s": .string(s.rawValue)]
        }
        return Data(JSONWriter.encode(json)).base64EncodedString()
    }

    init?(encoded: String) {
        guard let bytes = Data(base64Encoded: encoded), let json = try? JSONParser.parse(Array(bytes)) else { return nil }
        if let g = json["g"]?.stringValue, let c = json["c"]?.stringValue {
            self = .contact(CallReference(batchId: BatchID(rawValue: g), callId: CallID(rawValue: c)))
        } else if let s = json["s"]?.stringValue {
            self = .agent(SessionID(rawValue: s))
        } else {
            return nil
        }
    }
}

/// Telnyx's words, mapped exactly (lower case, as Telnyx sends them: `user_busy`, never `USER_BUSY`).
enum TelnyxVocabulary {
    /// `call.hangup`'s `hangup_cause` for a call that was not answered.
    static func unanswered(cause: String, sipCause: String?) -> CallReport {
        switch cause {
        case "user_busy": .busy
        case "timeout", "no_answer": .noAnswer
        case "originator_cancel": .canceled
        default: .failed("telnyx \(cause)" + (sipCause.flatMap { $0 == "unspecified" ? nil : " (SIP \($0))" } ?? ""))
        }
    }

    /// AMD results: standard `human | machine | not_sure`, premium adds `human_residence`,
    /// `human_business`, `silence`, `fax_detected`.
    static func verdict(_ result: String) -> AnsweredBy {
        switch result {
        case "human", "human_residence", "human_business": .human
        case "machine", "fax_detected": .machine
        default: .unknown
        }
    }

    /// A REST error body `{"errors": [{"code": "90103", "title": "…", "detail": "…"}]}` as a failure reason.
    static func failure(status: Int, body: [UInt8]) -> String {
        let first = (try? JSONParser.parse(body))?["errors"]?.arrayValue?.first
        let code = first?["code"]?.stringValue ?? "HTTP \(status)"
        let text = first?["detail"]?.stringValue ?? first?["title"]?.stringValue ?? "refused"
        return "telnyx \(code): \(text)"
    }
}
