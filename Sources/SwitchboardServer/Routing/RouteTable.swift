import WebTransport

/// One operation of the API: its method, its path pattern (`v1/queues/{queueId}`) and its handler.
///
/// The table drives dispatch, the 405 answer with its `Allow` list, and a test that checks it against
/// `openapi.yaml` in both directions — each route is declared once, here.
struct Route: Sendable {
    typealias Handler = @Sendable (APIServer, RouteRequest) async throws -> HTTPResponse

    let method: String
    let pattern: String
    /// Who may call it (the dispatcher enforces it; `openapi.yaml` lists it as `x-roles`).
    let access: Access
    let handler: Handler
    /// Whether a request reads the whole log (`ExpensiveReads` admits it): a fold of every event, a
    /// walk of the chain — never an ordinary read of the projections.
    let readsWholeLog: @Sendable (HTTPRequest) -> Bool
    let segments: [Substring]
    /// How many of the pattern's segments are literal: of two patterns that match a path, the one
    /// with more literal segments is the one meant (`…/{id}/timeline` over `…/{id}/{action}`).
    let literalCount: Int

    init(_ method: String, _ pattern: String, _ access: Access, readsWholeLog: @escaping @Sendable (HTTPRequest) -> Bool = { _ in false },
         _ handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.access = access
        self.readsWholeLog = readsWholeLog
        self.handler = handler
        segments = pattern.split(separator: "/")
        literalCount = segments.count { !($0.first == "{" && $0.last == "}") }
    }

    /// Whether `path` (split into segments, as many as the pattern's) fits the pattern.
    func fits(_ path: [Substring]) -> Bool {
        for (want, have) in zip(segments, path) where !(want.first == "{" && want.last == "}") && want != have { return false }
        return true
    }

    /// The path parameters when `path` (split into segments) matches the pattern.
    func match(_ path: [Substring]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (want, have) in zip(segments, path) {
            if want.first == "{", want.last == "}" {
                parameters[String(want.dropFirst().dropLast())] = String(have)
            } else if want != have {
                return nil
            }
        }
        return parameters
    }
}

/// What the middleware and a handler get: the request, the route it found, the path parameters its
/// pattern named, and who asks (`nil` on an open route, and until `Authentication` has run).
struct RouteRequest: Sendable {
    var http: HTTPRequest
    var route: Route
    var parameters: [String: String]
    var principal: Principal?

    /// A path parameter the pattern guarantees.
    func parameter(_ name: String) -> String { parameters[name] ?? "" }
}

/// The routes, and how a request finds its route.
struct RouteTable: Sendable {
    let routes: [Route]
    /// Route indices by the number of segments their pattern has (a path can only fit those).
    private let bySegmentCount: [Int: [Int]]

    init(routes: [Route]) {
        self.routes = routes
        bySegmentCount = Dictionary(grouping: routes.indices, by: { routes[$0].segments.count })
    }

    enum Lookup {
        case found(Route, [String: String])
        /// The path exists, not with this method.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    func lookup(method: String, path: String) -> Lookup {
        let segments = path.split(separator: "/")
        // Only the most specific patterns that fit the path count, for dispatch and for `Allow`.
        var best = -1
        var meant: [Int] = []
        for index in bySegmentCount[segments.count] ?? [] where routes[index].fits(segments) {
            let literals = routes[index].literalCount
            if literals > best {
                best = literals
                meant = [index]
            } else if literals == best {
                meant.append(index)
            }
        }
        guard !meant.isEmpty else { return .notFound }
        if let index = meant.first(where: { routes[$0].method == method }), let parameters = routes[index].match(segments) {
            return .found(routes[index], parameters)
        }
        return .methodNotAllowed(allowed: meant.map { routes[$0].method })
    }

    /// The route for a request, always: a path that exists with no such method, or no path at all,
    /// gets a route whose handler says so (405 with `Allow`, 404), so that the middleware (the request
    /// log first) sees every request the same way. `HEAD` is answered as `GET`.
    func route(_ request: HTTPRequest) -> RouteRequest {
        let method = request.method == "HEAD" ? "GET" : request.method
        switch lookup(method: method, path: request.path) {
        case .found(let route, let parameters):
            return RouteRequest(http: request, route: route, parameters: parameters)
        case .methodNotAllowed(let allowed):
            let refusal = Route(request.method, "(method not allowed)", .open) { _, request in
                var response = HTTPResponse.error(405, code: "method-not-allowed", message: "\(request.http.method) is not allowed on \(request.http.path)")
                response.headers.append(("Allow", allowed.joined(separator: ", ")))
                return response
            }
            return RouteRequest(http: request, route: refusal, parameters: [:])
        case .notFound:
            return RouteRequest(http: request, route: Self.unmatched, parameters: [:])
        }
    }

    private static let unmatched = Route("GET", "(unmatched)", .open) { _, request in
        .error(404, code: "not-found", message: "no such path \(request.http.path)")
    }
}
