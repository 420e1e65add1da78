import WebTransport

/// One concern around every routed request — the request log, authentication, the failed-token
/// limit, authorization, admission of whole-log reads — each in its own file. It answers the request
/// itself or passes it on to `next` (hummingbird's `MiddlewareProtocol`, without the generics).
protocol Middleware: Sendable {
    func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse
}

/// Middleware in the order a request meets it; the last hands the request to the route's handler.
struct MiddlewareChain: Sendable {
    let middleware: [any Middleware]

    func respond(to request: RouteRequest, endpoint: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        await step(0, request, endpoint)
    }

    /// Non-escaping closures all the way down: a request through the chain allocates no closure.
    private func step(_ index: Int, _ request: RouteRequest, _ endpoint: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        guard index < middleware.count else { return await endpoint(request) }
        return await middleware[index].handle(request) { await step(index + 1, $0, endpoint) }
    }
}
