import Carriers
import WebTransport

/// The carrier's webhooks: open routes (no bearer token — the carrier signs each request, and the
/// adapter checks that signature before anything else), still under the failed-authentication limit:
/// a bad signature counts against its address as a bad token does.
extension APIServer {
    static let carrierRoutes: [Route] = [
        // Twilio: the reference in the path (the signature covers it); `hook` is answer, status or amd.
        Route("POST", "v1/carriers/{carrier}/calls/{groupId}/{callId}/{hook}", .open) { api, request in
            await api.carrierWebhook(request, path: ["calls", request.parameter("groupId"), request.parameter("callId"),
                                                     request.parameter("hook")])
        },
        // Twilio: the agent's own call into the session's room; `hook` is answer or status.
        Route("POST", "v1/carriers/{carrier}/agents/{sessionId}/{hook}", .open) { api, request in
            await api.carrierWebhook(request, path: ["agents", request.parameter("sessionId"), request.parameter("hook")])
        },
        // Telnyx: one URL for every event; the reference rides in `client_state`.
        Route("POST", "v1/carriers/{carrier}/events", .open) { api, request in
            await api.carrierWebhook(request, path: ["events"])
        },
    ]

    func carrierWebhook(_ request: RouteRequest, path: [String]) async -> HTTPResponse {
        guard let carrier = carrierWebhooks, carrier.name == request.parameter("carrier") else {
            return .error(404, code: "no-such-carrier", message: "this server does not use the carrier \(request.parameter("carrier"))")
        }
        let reply = await carrier.receive(CarrierWebhook(path: path, headers: request.http.headers, body: request.http.body))
        return HTTPResponse(status: reply.status, contentType: reply.contentType, body: reply.body)
    }
}
