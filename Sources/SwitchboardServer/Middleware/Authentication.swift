import DialerCore
import DialerEngine
import EventStore
import Foundation
import Synchronization
import ReadModels
import WritePath
import SwitchboardBasics
import WebTransport

/// Turns `Authorization: Bearer …` into a principal: the token's hash names a token id (beside the
/// log); the log says what that token may do, whether it expired, whether it was revoked.
final class Authenticator: Sendable {
    let credentials: any CredentialStore
    let projections: ProjectionHost
    /// Expiry is judged on the engine's clock, the one the tokens' times were written on.
    let clock: any EngineClock
    /// Hash → token id, once looked up (a token id never changes its hash).
    private let known = Mutex<[[UInt8]: TokenID]>([:])

    init(credentials: any CredentialStore, projections: ProjectionHost, clock: any EngineClock) {
        self.credentials = credentials
        self.projections = projections
        self.clock = clock
    }

    /// A token as a client sends it: 64 hex digits.
    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 64 && token.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// The bearer token in an `Authorization` header, or in a `Sec-WebSocket-Protocol` list as
    /// `bearer.<token>` (browsers cannot set headers on a WebSocket).
    static func token(in headers: [String: String]) -> String? {
        if let header = headers["authorization"] {
            // `Bearer <token>`, the scheme in any case (read as bytes: this runs on every request).
            let bytes = Array(header.utf8)
            let scheme = Array("bearer ".utf8)
            guard bytes.count > scheme.count,
                  zip(bytes, scheme).allSatisfy({ (($0 >= 65 && $0 <= 90) ? $0 | 0x20 : $0) == $1 }) else { return nil }
            let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
            guard let first = bytes[scheme.count...].firstIndex(where: { !isSpace($0) }),
                  let last = bytes.lastIndex(where: { !isSpace($0) }) else { return nil }
            return String(decoding: bytes[first...last], as: UTF8.self)
        }
        for offered in (headers["sec-websocket-protocol"] ?? "").split(separator: ",") {
            let name = offered.trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("bearer.") { return String(name.dropFirst("bearer.".count)) }
        }
        return nil
    }

    func principal(for headers: [String: String]) async -> Principal? {
        guard let token = Self.token(in: headers), Self.isWellFormed(token) else { return nil }
        let hash = BearerToken.hash(token)
        var tokenId = known.withLock { $0[hash] }
        if tokenId == nil, let found = try? await credentials.tokenId(forHash: hash) {
            tokenId = TokenID(found)
            known.withLock { $0[hash] = TokenID(found) }
        }
        guard let tokenId, let access = await projections.read({ $0.tokens[tokenId] }), access.isValid(at: clock.now) else { return nil }
        return Principal(tokenId: tokenId, role: access.role, agentId: access.agentId, expiresAt: access.expiresAt)
    }
}

/// 401 unless a route that is not open is called with a valid token; the principal rides on the
/// request from here on.
struct Authentication: Middleware {
    let authenticator: Authenticator

    func handle(_ request: RouteRequest, next: (RouteRequest) async -> HTTPResponse) async -> HTTPResponse {
        guard !request.route.access.isOpen else { return await next(request) }
        guard let principal = await authenticator.principal(for: request.http.headers) else { return APIServer.unauthorized }
        var authenticated = request
        authenticated.principal = principal
        return await next(authenticated)
    }
}
