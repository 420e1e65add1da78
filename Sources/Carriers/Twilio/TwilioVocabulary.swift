import DialerCore
import Foundation
import SwitchboardJSON

/// Twilio's account and credentials. The auth token signs webhooks and authenticates our requests: it
/// is kept here and in the `Authorization` header, never logged, never in a URL.
public struct TwilioAccount: Sendable {
    public var accountSid: String
    public var authToken: String
    /// `https://api.twilio.com` unless told (tests point it at the fake).
    public var apiURL: String
    /// The account's calls-per-second limit for `POST /Calls` (Twilio's default: 1).
    public var callsPerSecond: Int

    public init(accountSid: String, authToken: String, apiURL: String = "https://api.twilio.com", callsPerSecond: Int = 1) {
        self.accountSid = accountSid
        self.authToken = authToken
        self.apiURL = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        self.callsPerSecond = callsPerSecond
    }

    var authorization: String {
        "Basic " + Data("\(accountSid):\(authToken)".utf8).base64EncodedString()
    }

    /// `…/2010-04-01/Accounts/{AccountSid}/Calls.json`, or one call's.
    func callsURL(_ sid: String? = nil) -> String {
        let calls = "\(apiURL)/2010-04-01/Accounts/\(FormEncoding.escape(accountSid))/Calls"
        return (sid.map { calls + "/" + FormEncoding.escape($0) } ?? calls) + ".json"
    }
}

/// Twilio's words, mapped exactly (the strings are the spec's `call_enum_status` and the AMD docs').
enum TwilioVocabulary {
    /// `CallStatus` of a status callback, in the engine's words; `nil` for `queued`/`initiated` (nothing
    /// the engine waits for) and for what we do not know (logged by the caller).
    static func report(status: String, answeredBy: String?, sipCode: String?, errorCode: String?) -> CallReport? {
        switch status {
        case "queued", "initiated": nil
        case "ringing": .ringing
        case "in-progress": .answered(answeredBy.flatMap(verdict))
        case "completed": .completed(.contact)
        case "busy": .busy
        case "no-answer": .noAnswer
        case "canceled": .canceled
        case "failed":
            .failed("twilio failed" + (errorCode.map { " \($0)" } ?? "") + (sipCode.map { " (SIP \($0))" } ?? ""))
        default: nil
        }
    }

    /// `AnsweredBy`: `human`; `machine_start`, `machine_end_beep`, `machine_end_silence`, `machine_end_other`
    /// and `fax` are machines; `unknown` (and anything new) is unknown.
    static func verdict(_ answeredBy: String) -> AnsweredBy {
        switch answeredBy {
        case "human": .human
        case "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax": .machine
        default: .unknown
        }
    }

    /// A REST error body `{"code": 21211, "message": "…", "status": 400}` as a call's failure reason.
    static func failure(status: Int, body: [UInt8]) -> String {
        let json = try? JSONParser.parse(body)
        let code = json?["code"]?.intValue.map(String.init) ?? "HTTP \(status)"
        let message = json?["message"]?.stringValue ?? "refused"
        return "twilio \(code): \(message)"
    }
}

/// The instructions we answer Twilio with (TwiML). Every text is XML-escaped.
enum TwiML {
    /// Into the agent's room. `maxParticipants="2"`: the agent and one contact, so a second answer can
    /// never join a conversation; the room stays open when the contact leaves (the agent waits there
    /// for the next winner).
    static func agentRoom(_ room: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Conference beep="false" startConferenceOnEnter="true" endConferenceOnExit="false" maxParticipants="2">"#
            + escape(room) + "</Conference></Dial></Response>"
    }

    /// The agent's own call: into the room, which ends when they leave it (a contact left alone there
    /// would hear nothing).
    static func agentJoins(_ room: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Conference beep="false" startConferenceOnEnter="true" endConferenceOnExit="true" maxParticipants="2">"#
            + escape(room) + "</Conference></Dial></Response>"
    }

    static func safeHarbor(_ message: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?><Response><Say>"# + escape(message) + "</Say><Hangup/></Response>"
    }

    static let hangUp = #"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#

    /// No decision yet: silence, then ask again.
    static func askAgain(_ url: String) -> String {
        #"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/><Redirect method="POST">"# + escape(url)
            + "</Redirect></Response>"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// The agent's room for a call bridged to `agent`.
func agentRoom(_ agent: AgentID) -> String { "switchboard-agent-\(agent.rawValue)" }
