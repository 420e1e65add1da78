import WebTransport

/// One operation of the API: its method, its path pattern (`v1/queues/{queueId}`) and its handler.
///
/// The table drives dispatch, the 405 answer with its `Allow` list, and a test that checks it against
/// `openapi.yaml` in both directions — each route is declared once, here.
struct Route: Sendable {
    typealias Handler = @Sendable (APIServer, RouteRequest) async throws -> HTTPResponse

    let method: String
    let pattern: String
    let handler: Handler
    private let segments: [Substring]

    init(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.handler = handler
        segments = pattern.split(separator: "/")
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

/// What a handler gets: the request and the path parameters its pattern named.
struct RouteRequest: Sendable {
    var http: HTTPRequest
    var parameters: [String: String]

    /// A path parameter the pattern guarantees.
    func parameter(_ name: String) -> String { parameters[name] ?? "" }
}

/// The routes, and how a request finds its route.
struct RouteTable: Sendable {
    let routes: [Route]

    enum Lookup {
        case found(Route, [String: String])
        /// The path exists, not with this method.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    func lookup(method: String, path: String) -> Lookup {
        let segments = path.split(separator: "/")
        var allowed: [String] = []
        for route in routes {
            guard let parameters = route.match(segments) else { continue }
            if route.method == method { return .found(route, parameters) }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }
}
