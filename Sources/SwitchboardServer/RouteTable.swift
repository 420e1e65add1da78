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
    private let segments: [Substring]

    init(_ method: String, _ pattern: String, _ access: Access, _ handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.access = access
        self.handler = handler
        segments = pattern.split(separator: "/")
    }

    /// How many of the pattern's segments are literal: of two patterns that match a path, the one
    /// with more literal segments is the one meant (`…/{id}/timeline` over `…/{id}/{action}`).
    var literalCount: Int { segments.count { !($0.first == "{" && $0.last == "}") } }

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

/// What a handler gets: the request, the path parameters its pattern named, and who asks (`nil` on
/// an open route).
struct RouteRequest: Sendable {
    var http: HTTPRequest
    var parameters: [String: String]
    var principal: Principal?

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
        let matching = routes.compactMap { route in route.match(segments).map { (route, $0) } }
        // Only the most specific patterns that match the path count, for dispatch and for `Allow`.
        guard let best = matching.map(\.0.literalCount).max() else { return .notFound }
        let meant = matching.filter { $0.0.literalCount == best }
        if let (route, parameters) = meant.first(where: { $0.0.method == method }) { return .found(route, parameters) }
        return .methodNotAllowed(allowed: meant.map(\.0.method))
    }
}
