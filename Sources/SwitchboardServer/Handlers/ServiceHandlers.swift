import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// The service itself: whether it is healthy, and its two API descriptions.
extension APIServer {
    static let serviceRoutes: [Route] = [
        Route("GET", "healthz", .open) { api, _ in await api.healthz() },
        Route("GET", "openapi.yaml", .open) { _, _ in
            HTTPResponse(status: 200, contentType: "application/yaml", body: APIDescriptions.openAPI)
        },
        Route("GET", "asyncapi.yaml", .open) { _, _ in
            HTTPResponse(status: 200, contentType: "application/yaml", body: APIDescriptions.asyncAPI)
        },
    ]

    func healthz() async -> HTTPResponse {
        var problems = health.problems
        if let failure = await projections.failure { problems["projections"] = failure.reason }
        let position = JSONValue.int(await projections.read { $0.position })
        let time = engine.clock.now.json  // the pages correct their clocks by it
        guard problems.isEmpty else {
            let reasons = JSONObject(fields: problems.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })
            return .json(503, ["status": "failing", "position": position, "problems": .object(reasons)])
        }
        var fields: [JSONObject.Field] = [.init(key: "status", value: "ok"), .init(key: "position", value: position),
                                          .init(key: "time", value: time)]
        // The wall clock stepped back: event times run on from the last stamp until it catches up.
        let behind = engine.clock.wallClockBehindMs
        if behind > 1000 { fields.append(.init(key: "wallClockBehindMs", value: .int(behind))) }
        // A demo's or a test's clock, shifted so the US is inside its calling hours: say so.
        if engine.clock.shiftHours != 0 { fields.append(.init(key: "clockShiftHours", value: .int(Int64(engine.clock.shiftHours)))) }
        return .json(200, .object(JSONObject(fields: fields)))
    }

}
