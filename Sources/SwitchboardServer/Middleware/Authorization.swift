import DialerCore
import ReadModels
import WritePath
import SwitchboardJSON
import WebTransport

/// 403 unless the principal may make this request: its role is admitted, or it is an agent's token
/// and the request concerns that agent as the route's scope says. Runs after `Authentication`.
struct Authorization: Middleware {
    let projections: ProjectionHost

    func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        guard let principal = request.principal, !request.route.access.isOpen else { return await next(request) }
        guard await admits(principal, to: request.route.access, request) else {
            return .error(403, code: "forbidden", message: "a \(principal.role.rawValue) token may not \(request.http.method) \(request.http.path)")
        }
        return await next(request)
    }

    func admits(_ principal: Principal, to access: Access, _ request: RouteRequest) async -> Bool {
        if principal.role == .admin || access.roles.contains(principal.role) { return true }
        guard principal.role == .agent, let agent = principal.agentId, let scope = access.agent else { return false }
        switch scope {
        case .ownSession:
            let id = SessionID(request.parameter("sessionId"))
            return await projections.read { $0.sessions[id]?.agentId == agent }
        case .ownBatch:
            let id = BatchID(request.parameter("groupId"))
            return await projections.read { $0.batches[id]?.agentId == agent }
        case .assignedQueue:
            let queueId = QueueID(request.parameter("queueId"))
            return await projections.read { $0.queues[queueId]?.agents.contains(agent) == true }
        case .itself:
            if let named = request.http.query["agent"] { return named == agent.rawValue }
            guard request.http.method != "GET", let body = try? JSONParser.parse(request.http.body) else { return false }
            return body["agentId"]?.stringValue == agent.rawValue
        case .itselfOnAssignedQueue:
            guard let body = try? JSONParser.parse(request.http.body), body["agentId"]?.stringValue == agent.rawValue,
                  let queueId = body["queueId"]?.stringValue.map(QueueID.init) else { return false }
            return await projections.read { $0.queues[queueId]?.agents.contains(agent) == true }
        }
    }
}
