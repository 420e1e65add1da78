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

    /// A request (or a socket) whose token opened nothing, from `address`: the seconds until the
    /// address may try again if it is shut out; otherwise its guess is counted, if it made one (`guessed`:
    /// it sent a token). The one rule for HTTP and the feed.
    func failedAuthentication(from address: String, guessed: Bool) -> Int? {
        if let wait = blockedFor(address) { return wait }
        if guessed { recordFailure(address) }
        return nil
    }

    /// Seconds until the address may try again, if it is shut out.
    private func blockedFor(_ address: String) -> Int? {
        let now = Self.now()
        return records.withLock { records in
            guard let until = records[address]?.blockedUntil, until > now else { return nil }
            return Int((until - now).rounded(.up))
        }
    }

    private func recordFailure(_ address: String) {
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
        // A carrier's webhook with a bad signature is a guess too (its route is open: no token).
        let badSignature = response.status == 403 && request.route.pattern.hasPrefix("v1/carriers/")
        guard (response.status == 401 && Authenticator.token(in: request.http.headers) != nil) || badSignature,
              let wait = failedAuthentication(from: request.http.peer, guessed: true) else { return response }
        var refusal = HTTPResponse.error(429, code: "too-many-failed-authentications",
                                         message: "too many failed authentications from this address; try again in \(wait) s")
        refusal.headers.append(("Retry-After", String(wait)))
        return refusal
    }
}
