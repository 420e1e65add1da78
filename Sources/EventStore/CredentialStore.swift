import Crypto

/// Where an access token's full hash lives: beside the log, never in it.
///
/// A hash only points at a token id; what the token may do, until when, and whether it was revoked
/// are events in the log (`token.issued`, `token.revoked`). A hash whose token has no such event opens
/// nothing, so a write here that its event never followed is harmless.
public protocol CredentialStore: Sendable {
    func saveCredential(tokenId: String, hash: [UInt8]) async throws
    func tokenId(forHash hash: [UInt8]) async throws -> String?
}

/// Bearer tokens: 256 random bits, written as 64 hex digits; stored only as their SHA-256.
public enum BearerToken {
    /// A new token from the system's cryptographic generator.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt64, radix: 16).leftPadded(to: 16) }.joined()
    }

    public static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    /// The first 8 hex digits of the hash: what the log shows of a token.
    public static func hashPrefix(_ hash: [UInt8]) -> String {
        hash.prefix(4).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
