import WebTransport

/// The server's measurements in Prometheus' text format, for readers' tokens (a scraper gets an
/// auditor's token): counts by queue and timings by route pattern are operational facts, not a
/// person's data, yet not for the public either.
extension APIServer {
    static let metricsRoutes: [Route] = [
        Route("GET", "metrics", .readers()) { api, _ in
            guard let metricsText = api.metricsText else {
                return .error(404, code: "metrics-off", message: "this server does not measure itself")
            }
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metricsText())
        },
    ]
}
