import CoreMetrics
import Foundation
import ReadModels
import WritePath
import Synchronization
import WebTransport

/// Ten failed authentications (by default) from one address within a minute shut that address out
/// for a minute.
public final class FailedAuthentications: Sendable {
    public static let defaultLimit = 10
    static let windowSeconds: Double = 60
    let limit: Int
    /// Every failed authentication, HTTP and feed alike (a rising rate is someone guessing).
    private let failures: Counter

    init(limit: Int = FailedAuthentications.defaultLimit, measurements: Measurements = .none) {
        self.limit = max(1, limit)
        failures = measurements.counter(Measurements.Name.failedAuthentications)
    }

    private struct Record {
        var failures: [Double] = []
        var blockedUntil: Double = 0
    }

    private let records = Mutex<[String: Record]>([:])

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Seconds until the address may try again, if it is shut out.
    func blockedFor(_ address: String) -> Int? {
        let now = Self.now()
        return records.withLock { records in
            guard let until = records[address]?.blockedUntil, until > now else { return nil }
            return Int((until - now).rounded(.up))
        }
    }

    func recordFailure(_ address: String) {
        failures.increment()
        let now = Self.now()
        records.withLock { records in
            var record = records[address] ?? Record()
            record.failures = record.failures.filter { now - $0 < Self.windowSeconds } + [now]
            if record.failures.count >= limit {
                record.blockedUntil = now + Self.windowSeconds
                record.failures = []
            }
            records[address] = record
            if records.count > 10_000 { records = records.filter { $0.value.blockedUntil > now || !$0.value.failures.isEmpty } }
        }
    }
}

extension FailedAuthentications: Middleware {
    /// Around `Authentication`: a request whose token opened nothing counts against its address, and
    /// an address that guessed too often is answered 429 — its guesses, never a valid token (a
    /// colleague behind the same NAT, or the operator locked out by a broken script). A request with
    /// no token guesses nothing (401 as it is).
    func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        let response = await next(request)
        guard response.status == 401, Authenticator.token(in: request.http.headers) != nil else { return response }
        if let wait = blockedFor(request.http.peer) {
            var refusal = HTTPResponse.error(429, code: "too-many-failed-authentications",
                                             message: "too many failed authentications from this address; try again in \(wait) s")
            refusal.headers.append(("Retry-After", String(wait)))
            return refusal
        }
        recordFailure(request.http.peer)
        return response
    }
}
