import CoreMetrics
import Logging
import Synchronization
import ReadModels
import WritePath
import WebTransport

/// Every request timed by its route's pattern (`switchboard_http_request_seconds{method, route, status}`:
/// no id, no number, so the label set stays small) and, at `info`, logged: method, path (no person's
/// number), status and milliseconds.
struct RequestLog: Middleware {
    let logger: Logger
    let measurements: Measurements
    /// One timer per method, pattern and status, made once: the poll path serves tens of thousands of
    /// requests a second, and asking the registry each time cost it a tenth of its rate (measured).
    private let timers = TimerCache()

    init(logger: Logger, measurements: Measurements) {
        self.logger = logger
        self.measurements = measurements
    }

    func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        let started = ContinuousClock.now
        let response = await next(request)
        let elapsed = ContinuousClock.now - started
        timers.timer(method: request.route.method, pattern: request.route.pattern, status: response.status) {
            measurements.timer(Measurements.Name.httpRequestSeconds, [
                ("method", request.route.method), ("route", "/" + request.route.pattern), ("status", String(response.status)),
            ])
        }.record(elapsed)
        guard logger.logLevel <= .info else { return response }
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

/// Timers by method, route pattern and status (a small set: the routes times the statuses they answer).
final class TimerCache: Sendable {
    private struct Key: Hashable {
        var method: String
        var pattern: String
        var status: Int
    }

    private let timers = Mutex<[Key: CoreMetrics.Timer]>([:])

    func timer(method: String, pattern: String, status: Int, make: () -> CoreMetrics.Timer) -> CoreMetrics.Timer {
        let key = Key(method: method, pattern: pattern, status: status)
        if let known = timers.withLock({ $0[key] }) { return known }
        let made = make()
        timers.withLock { $0[key] = $0[key] ?? made }
        return made
    }
}
