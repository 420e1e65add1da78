import DialerCore
import WebTransport
import Foundation
import Synchronization

/// Admission for the reads that fold or walk the whole log — a queue or the overview `?at=` a past
/// position, the chain's verification, the CSV export, the compliance report. Each takes seconds on a
/// long log and holds the store's one read connection meanwhile; four at once starved `/healthz` and
/// the engine (issue 20, D12). At most one runs per token and `nodeLimit` on the node; another is
/// answered 429 at once with `Retry-After` — the caller retries, nobody queues up behind it.
final class ExpensiveReads: Sendable {
    /// How many run at once on the node: half the cores (the engine and the API keep the rest), at least one.
    static let defaultNodeLimit = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)

    let nodeLimit: Int
    private let running = Mutex<(total: Int, byToken: Set<TokenID>)>((0, []))

    init(nodeLimit: Int = ExpensiveReads.defaultNodeLimit) { self.nodeLimit = nodeLimit }

    /// Takes a place for `token`'s read, or says why there is none.
    func admit(_ token: TokenID) -> Refusal? {
        running.withLock { running in
            if running.byToken.contains(token) { return .yoursIsRunning }
            if running.total >= nodeLimit { return .nodeBusy }
            running.total += 1
            running.byToken.insert(token)
            return nil
        }
    }

    func finish(_ token: TokenID) {
        running.withLock { running in
            if running.byToken.remove(token) != nil { running.total -= 1 }
        }
    }

    enum Refusal {
        case yoursIsRunning, nodeBusy

        var response: HTTPResponse {
            var response = switch self {
            case .yoursIsRunning:
                HTTPResponse.error(429, code: "read-in-progress", message: "this token already has a whole-log read running; retry when it ends")
            case .nodeBusy:
                HTTPResponse.error(429, code: "reads-busy", message: "the server is running as many whole-log reads as it takes at once; retry shortly")
            }
            response.headers.append(("Retry-After", "1"))
            return response
        }
    }
}

extension ExpensiveReads: Middleware {
    /// A route that reads the whole log, for a caller with a token: admitted or answered 429.
    func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        guard let token = request.principal?.tokenId, request.route.readsWholeLog(request.http) else { return await next(request) }
        if let refusal = admit(token) { return refusal.response }
        defer { finish(token) }
        return await next(request)
    }
}
