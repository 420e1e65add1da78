import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// The organisation's do-not-call list: looked up, added to, a number removed.
extension APIServer {
    static let doNotCallRoutes: [Route] = [
        Route("GET", "v1/dnc", .readers()) { api, request in await api.doNotCallLookup(request.http.query) },
        Route("POST", "v1/dnc", .staff()) { api, request in try await api.addDoNotCall(try api.body(request.http)) },
        Route("DELETE", "v1/dnc/{phone}", .admin) { api, request in try await api.removeDoNotCall(request.parameter("phone")) },
    ]

    /// `?phone=`: whether that number is listed; without it, how many are.
    func doNotCallLookup(_ query: [String: String]) async -> HTTPResponse {
        let list = await projections.read { $0.doNotCall }
        guard let text = query["phone"] else { return .json(200, ["count": .int(Int64(list.count))]) }
        guard let phone = PhoneNumber(text) else {
            return .error(400, code: "invalid-query", message: "phone must be an E.164 number")
        }
        return .json(200, ["phone": phone.json, "listed": .bool(list.contains(phone))])
    }

    func addDoNotCall(_ body: JSONObject) async throws -> HTTPResponse {
        try body.rejectUnknownKeys(["phones"])
        let phones: [PhoneNumber] = try body.decode("phones")
        let before = await projections.read { $0.doNotCall.count }
        try await write(.addDoNotCall(phones, source: .request))
        let after = await projections.read { $0.doNotCall.count }
        return .json(200, ["added": .int(Int64(after - before)), "count": .int(Int64(after))])
    }

    func removeDoNotCall(_ text: String) async throws -> HTTPResponse {
        let phone = try Self.phone(inPath: text, notFound: "not-on-do-not-call-list")
        try await write(.removeDoNotCall(phone))
        return .json(200, ["phone": phone.json, "listed": .bool(false)])
    }

}
