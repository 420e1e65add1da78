import WebTransport

/// The three pages, their versioned assets, and the product's vocabulary the pages read (`/v1/meta`).
extension APIServer {
    static let pageRoutes: [Route] = [
        Route("GET", "", .open) { _, _ in HTTPResponse(status: 303, headers: [("Location", "/console")]) },
        Route("GET", "console", .open) { _, _ in WebAssets.shared.page("console") },
        Route("GET", "supervisor", .open) { _, _ in WebAssets.shared.page("supervisor") },
        Route("GET", "audit", .open) { _, _ in WebAssets.shared.page("audit") },
        Route("GET", "assets/{version}/{file}", .open) { _, request in
            WebAssets.shared.asset(request.parameter("file"), version: request.parameter("version"))
        },
        Route("GET", "v1/meta", .anyone) { _, _ in .json(200, ProductVocabulary.json) },
    ]
}
