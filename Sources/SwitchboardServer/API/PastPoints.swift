import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// A projection as it was at a past point (`?at=`), folded from the log alone.
extension APIServer {
    /// `?at=` a past point: a fold of the log up to it.
    static let pastPoint: @Sendable (HTTPRequest) -> Bool = { $0.query["at"] != nil }
    static let always: @Sendable (HTTPRequest) -> Bool = { _ in true }

    /// A projection as it was at a past position, answered with that position in `X-Log-Position`.
    func past(_ position: Int64, _ value: JSONValue) -> HTTPResponse {
        var response = HTTPResponse.json(200, value)
        response.headers.append(("X-Log-Position", String(position)))
        return response
    }

    /// The time of the event at `position`: "now" as it was then.
    func time(at position: Int64) async throws -> Timestamp {
        try await store.readAll(after: max(0, position - 1), limit: 1).first?.time ?? .epoch
    }
}
