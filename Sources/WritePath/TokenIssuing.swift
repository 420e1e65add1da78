import DialerCore
import EventStore
import SwitchboardBasics

/// Issuing a bearer token, the same way for the API, the command line and the server's bootstrap:
/// its hash goes beside the log first (alone it opens nothing), then `token.issued` through the
/// write path. The token itself is answered once and kept nowhere.
public enum TokenIssuing {
    public struct Issued: Sendable {
        public var tokenId: TokenID
        public var token: String
    }

    public static func newTokenID() -> TokenID {
        var generator = SystemRandomNumberGenerator()
        let bits: UInt64 = generator.next()
        return TokenID("tok-" + String(bits & 0xFFFF_FFFF_FFFF, radix: 16))
    }

    /// `decide` records a command through the one write path (and waits until it is durable).
    public static func issue(role: Role, agentId: AgentID?, label: String?, expiresAt: Timestamp?,
                             token: String = BearerToken.make(), credentials: any CredentialStore,
                             decide: (Command) async throws -> Void) async throws -> Issued {
        let tokenId = newTokenID()
        let hash = BearerToken.hash(token)
        try await credentials.saveCredential(tokenId: tokenId.rawValue, hash: hash)
        try await decide(.issueToken(tokenId: tokenId, role: role, agentId: agentId, label: label,
                                     hashPrefix: BearerToken.hashPrefix(hash), expiresAt: expiresAt))
        return Issued(tokenId: tokenId, token: token)
    }
}
