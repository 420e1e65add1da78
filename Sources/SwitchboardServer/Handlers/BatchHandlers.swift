import DialerCore
import Synchronization
import ReadModels
import WritePath
import SwitchboardJSON
import WebTransport

/// Batches (the API's parallel groups, `/v1/calls/parallel/{groupId}`): the polling fallback of the feed, and cancelling a batch.
extension APIServer {
    static let batchRoutes: [Route] = [
        Route("GET", "v1/calls/parallel/{groupId}", .readers(agent: .ownBatch)) { api, request in
            let id = BatchID(request.parameter("groupId"))
            if let at = try APIServer.point(request.http.query) { return try await api.group(id, at: at) }
            return try await api.group(id, ifNoneMatch: request.http.headers["if-none-match"])
        },
        Route("POST", "v1/calls/parallel/{groupId}/terminate", .staff(agent: .ownBatch)) { api, request in
            try await api.terminate(BatchID(request.parameter("groupId")))
        },
    ]

    func group(_ id: BatchID, ifNoneMatch: String?) async throws -> HTTPResponse {
        guard let group = await projections.group(id) else { throw DomainError.groupNotFound(id) }
        let etag = "\"\(group.position)\""
        if ifNoneMatch == etag { return HTTPResponse(status: 304, headers: [("ETag", etag)]) }
        return HTTPResponse(status: 200, headers: [("ETag", etag), ("Cache-Control", "no-cache")],
                            body: encodedSummaries.body(for: group))
    }

    func terminate(_ id: BatchID) async throws -> HTTPResponse {
        try await write(.cancelBatch(batchId: id))
        return try await group(id, ifNoneMatch: nil)
    }

    func group(_ id: BatchID, at point: Audit.Point) async throws -> HTTPResponse {
        // A batch belongs to one session for its whole life: fold that session's events only.
        guard let sessionId = await projections.group(id)?.sessionId else { throw DomainError.groupNotFound(id) }
        let position = try await audit.position(of: point)
        guard let group = try await audit.sessionState(sessionId, at: position).batches[id] else {
            throw DomainError.groupNotFound(id)
        }
        return past(position, group.summary)
    }

}

/// Encoded group summaries by group and log position (a version never changes once written).
final class SummaryCache: Sendable {
    static let capacity = 4096
    private let entries = Mutex<[BatchID: (position: Int64, body: [UInt8])]>([:])

    func body(for group: Batch) -> [UInt8] {
        if let hit = entries.withLock({ $0[group.id] }), hit.position == group.position { return hit.body }
        let body = JSONWriter.encode(group.summary)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[group.id] = (group.position, body)
        }
        return body
    }
}
