import Logging
import ReadModels
import WritePath
import WebTransport

/// Every request timed by its route's pattern (`switchboard_http_request_seconds{method, route, status}`:
/// no id, no number, so the label set stays small) and, at `info`, logged: method, path (no person's
/// number), status and milliseconds.
struct RequestLog: Middleware {
    let logger: Logger
    let measurements: Measurements

    func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        let started = ContinuousClock.now
        let response = await next(request)
        measurements.timer(Measurements.Name.httpRequestSeconds, [
            ("method", request.route.method), ("route", "/" + request.route.pattern), ("status", String(response.status)),
        ]).recordElapsed(since: started)
        guard logger.logLevel <= .info else { return response }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("http", metadata: ["method": "\(request.http.method)", "path": "\(Self.loggable(request.http.path))",
                                       "status": "\(response.status)", "ms": "\((ms * 100).rounded() / 100)"])
        return response
    }

    /// A path as the info log keeps it: no person's number (`DELETE /v1/dnc/+12125551234` logs
    /// `/v1/dnc/{phone}`); ids of queues, sessions and batches stay, they name no one.
    static func loggable(_ path: String) -> String {
        func isPhone(_ segment: Substring) -> Bool {
            var digits = segment
            for sign in ["+", "%2B", "%2b"] where digits.hasPrefix(sign) {
                digits = digits.dropFirst(sign.count)
                break
            }
            return digits.count >= 10 && digits.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { isPhone($0) ? "{phone}" : String($0) }.joined(separator: "/")
    }
}
