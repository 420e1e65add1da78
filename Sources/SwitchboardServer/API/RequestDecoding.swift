import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// Reading a request: its JSON body, its query's numbers and points in time, its path's ids and
/// numbers. Each refusal is a 400 (or 404 for a path) with a JSON error saying which part is wrong.
extension APIServer {
    func body(_ request: HTTPRequest) throws -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body)
        } catch {
            throw APIError(status: 400, code: "malformed-json", message: "the body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw APIError(status: 400, code: "invalid-body", message: "the body must be a JSON object")
        }
        return object
    }

    static func integer(_ text: String?, name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
        guard let text else { return value }
        guard let number = Int64(text), range.contains(number) else {
            throw APIError(status: 400, code: "invalid-query", message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// `?at=N` (a log position) or `?at=<RFC 3339 time>` (the last position at or before it).
    static func point(_ query: [String: String]) throws -> Audit.Point? {
        guard let text = query["at"] else { return nil }
        if let position = Int64(text), position >= 0 { return .position(position) }
        if let time = Timestamp(rfc3339: text) { return .time(time) }
        throw APIError(status: 400, code: "invalid-query", message: "at must be a log position (0 or more) or an RFC 3339 time")
    }

    /// Only the feed's path; a browser only from this server's own origin or an allowed one (a page
    /// elsewhere must not ride on a user's token). Clients that send no `Origin` are not browsers.
    /// The `{agentId}` of a path: URL-safe characters, as `openapi.yaml`'s `PathId` says.
    static func pathAgent(_ request: RouteRequest) throws -> AgentID {
        let text = request.parameter("agentId")
        let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || "._~:-".contains(c)) }
        guard (1...200).contains(text.count), text.allSatisfy(allowed) else {
            throw DomainError.invalidValue(field: "agentId", message: "must be 1 to 200 of A–Z, a–z, 0–9 and . _ ~ : -")
        }
        return AgentID(text)
    }

    /// A phone number in a path: `+1…` or `%2B1…`.
    static func phone(inPath text: String, notFound code: String) throws -> PhoneNumber {
        let decoded = text.hasPrefix("%2B") || text.hasPrefix("%2b") ? "+" + text.dropFirst(3) : text
        guard let phone = PhoneNumber(decoded) else { throw APIError(status: 404, code: code, message: "\(decoded) is not an E.164 number") }
        return phone
    }
}
