import DialerCore
import DialerEngine
import EventStore
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import WebTransport

/// The log itself, for auditors: pages of events, the chain verified, exports that verify on their own.
extension APIServer {
    static let auditRoutes: [Route] = [
        Route("GET", "v1/events", .readers()) { api, request in try await api.events(request.http.query) },
        Route("GET", "v1/audit/verify", .readers(), readsWholeLog: always) { api, _ in try await api.verify() },
        Route("GET", "v1/audit/export", .readers(), readsWholeLog: { $0.query["format"] == "csv" }) { api, request in try await api.export(request.http.query) },
    ]

    func events(_ query: [String: String]) async throws -> HTTPResponse {
        let after = try Self.integer(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = Int(try Self.integer(query["limit"], name: "limit", default: 100, range: 1...1000))
        var page: [RecordedEvent]
        if let stream = query["stream"] {
            page = try await store.readStream(stream, afterPosition: after, limit: limit)
        } else {
            page = try await store.readAll(after: after, limit: limit)
        }
        return HTTPResponse(status: 200, body: Self.eventPage(page, after: after))
    }

    /// `{"events": [envelope, …], "next": <last position>}`.
    static func eventPage(_ page: [RecordedEvent], after: Int64) -> [UInt8] {
        var bytes: [UInt8] = Array(#"{"events":["#.utf8)
        for (index, event) in page.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += event.envelopeJSON
        }
        bytes += Array(#"],"next":\#(page.last?.position ?? after)}"#.utf8)
        return bytes
    }

    /// The whole chain walked again (`switchboard verify`): intact up to which position, or where it breaks.
    func verify() async throws -> HTTPResponse {
        let report = try await store.verify()
        return .json(200, [
            "intact": .bool(report.firstBadPosition == nil), "eventsChecked": .int(report.eventsChecked),
            "headHash": .string(report.headHash), "firstBadPosition": report.firstBadPosition.map(JSONValue.int) ?? .null,
            "problem": report.problem.map(JSONValue.string) ?? .null,
        ])
    }

    /// `ndjson`: the stored envelopes of positions `from...to` and a trailer anyone can check against
    /// the chain (a contiguous slice, so `queue`/`session` do not apply); `csv`: the call-detail
    /// records of the calls placed in `from...to`, of `queue` / `session` when given.
    func export(_ query: [String: String]) async throws -> HTTPResponse {
        let head = try await store.headPosition()
        let from = try Self.integer(query["from"], name: "from", default: 1, range: 1...Int64.max)
        let to = min(try Self.integer(query["to"], name: "to", default: head, range: 1...Int64.max), head)
        let format = query["format"] ?? "ndjson"
        for name in ["queue", "session"] where query[name]?.isEmpty == true {
            throw APIError(status: 400, code: "invalid-query", message: "\(name) must not be empty")
        }
        switch format {
        case "ndjson":
            let queue = query["queue"], session = query["session"]
            let keep = queue == nil && session == nil ? nil : try await exportFilter(queue: queue.map(QueueID.init),
                                                                                     session: session.map(SessionID.init))
            // Streamed: one page of the log in memory at a time, however long the slice.
            let reader = ChainExport.Reader(store: store, from: from, to: to, keeping: { keep?($0) ?? true })
            var response = HTTPResponse(status: 200, contentType: "application/x-ndjson")
            response.bodyStream = { try await reader.next() }
            return response
        case "csv":
            // The sessions with events in the slice (kept as the log is followed), each folded from its
            // own events: a day's export reads that day's sessions, not the log up to `to`.
            try await projections.waitUntil(to)
            let queue = query["queue"].map(QueueID.init)
            var sessions = await projections.sessions(overlapping: from, to, queue: queue)
            if let session = query["session"].map(SessionID.init) { sessions = sessions.filter { $0 == session } }
            let records = try await CallDetailRecord.records(store, from: from, to: to, sessions: sessions, queue: queue)
            return HTTPResponse(status: 200, contentType: "text/csv; charset=utf-8", body: Array(CallDetailRecord.csv(records).utf8))
        default:
            throw APIError(status: 400, code: "invalid-query", message: "format must be ndjson or csv")
        }
    }

    /// Which events a queue's or a session's export keeps: their streams' and their sessions' events.
    private func exportFilter(queue: QueueID?, session: SessionID?) async throws -> @Sendable (RecordedEvent) -> Bool {
        var sessions = Set<String>()
        if let session { sessions.insert(session.rawValue) }
        if let queue {
            sessions.formUnion(await projections.read { state in state.sessions.values.filter { $0.queueId == queue }.map(\.id.rawValue) })
        }
        let queueStream = queue.map { EventSubject.Stream.queue($0).name }
        return { [sessions] event in event.correlationId.map(sessions.contains) ?? false || event.stream == queueStream }
    }

}
