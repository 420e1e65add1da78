import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// Reports: the compliance report (abandonment by queue and day) and the supervisor's overview, now or
/// at a past point.
extension APIServer {
    static let reportRoutes: [Route] = [
        // Read from the live counts the projections keep: not a whole-log read.
        Route("GET", "v1/reports/compliance", .readers()) { api, request in try await api.complianceReport(request.http.query) },
        Route("GET", "v1/overview", .readers(), readsWholeLog: pastPoint) { api, request in
            if let at = try APIServer.point(request.http.query) { return try await api.overview(at: at) }
            let now = api.engine.clock.now
            return HTTPResponse.json(200, await api.projections.read { SupervisorOverview($0).json(at: now) })
        },
    ]

    func complianceReport(_ query: [String: String]) async throws -> HTTPResponse {
        func day(_ name: String) throws -> Timestamp? {
            guard let text = query[name] else { return nil }
            if let time = Timestamp(rfc3339: text) ?? Timestamp(rfc3339: text + "T00:00:00Z") { return time }
            throw APIError(status: 400, code: "invalid-query", message: "\(name) must be a date (YYYY-MM-DD) or an RFC 3339 time")
        }
        if query["queue"]?.isEmpty == true { throw APIError(status: 400, code: "invalid-query", message: "queue must not be empty") }
        let format = query["format"] ?? "json"
        guard format == "json" || format == "csv" else {
            throw APIError(status: 400, code: "invalid-query", message: "format must be json or csv")
        }
        // The live counts, as of everything the log held when the request came (read your writes).
        try await projections.waitUntil(try await store.headPosition())
        let report = await projections.complianceReport(queue: query["queue"].map(QueueID.init), from: try day("from"), to: try day("to"))
        if format == "csv" {
            return HTTPResponse(status: 200, contentType: "text/csv; charset=utf-8", body: Array(report.csv.utf8))
        }
        return .json(200, report.json)
    }

    func overview(at point: Audit.Point) async throws -> HTTPResponse {
        let position = try await audit.position(of: point)
        return past(position, SupervisorOverview(try await audit.state(at: position)).json(at: try await time(at: position)))
    }

}
