import DialerCore
import DialerEngine
import EventStore
import Foundation
import ReadModels
import WritePath
import SwitchboardBasics
import SwitchboardJSON
import DialerSimulation

/// The first ways in: the admin token kept in a file (made there, mode 0600, when the file does not
/// exist), and on a fresh demo store tokens for its agents, a supervisor and an auditor. Runs before
/// the projections fold the log, so the server knows these tokens from its first request.
struct AccessBootstrap {
    let store: any EventStore & CredentialStore
    /// The server's clock: bootstrap events are stamped on the same timeline as the engine's.
    let clock: SystemClock
    private var handler: CommandHandler?

    init(store: any EventStore & CredentialStore, clock: SystemClock) { self.store = store; self.clock = clock }

    /// What to tell the operator (never a token).
    enum Note: CustomStringConvertible {
        case adminTokenCreated(path: String)
        case adminTokenRead(path: String)
        case adminTokenRegistered(path: String)
        case demoTokens(path: String)

        var description: String {
            switch self {
            case .adminTokenCreated(let path): "admin token created in \(path) (mode 0600)"
            case .adminTokenRead(let path): "admin token: \(path)"
            case .adminTokenRegistered(let path): "admin token from \(path) registered with this store"
            case .demoTokens(let path): "demo tokens (agents, a supervisor, an auditor): \(path)"
            }
        }
    }

    /// The one writer bootstrap needs, made only when there is something to write (it folds the log).
    private mutating func writer() async throws -> CommandHandler {
        if let handler { return handler }
        let made = try await CommandHandler(store: store)
        handler = made
        return made
    }

    private mutating func issue(_ role: Role, agent: AgentID? = nil, label: String, token: String = BearerToken.make()) async throws -> String {
        let handler = try await writer()
        return try await TokenIssuing.issue(role: role, agentId: agent, label: label, expiresAt: nil, token: token,
                                           credentials: store) { command in
            try await handler.handle(command, at: clock.now)
        }.token
    }

    /// Reads the admin token from `path`, or makes one there; makes sure this store knows it.
    mutating func ensureAdminToken(at path: String) async throws -> Note {
        if let data = FileManager.default.contents(atPath: path) {
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.utf8.count == 64, token.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
                throw ConfigurationError(description: "\(path) does not hold a token (64 lower-case hex digits)")
            }
            if try await store.tokenId(forHash: BearerToken.hash(token)) != nil { return .adminTokenRead(path: path) }
            _ = try await issue(.admin, label: "admin (bootstrap)", token: token)
            return .adminTokenRegistered(path: path)
        }
        let token = BearerToken.make()
        try Self.writeSecret(Array((token + "\n").utf8), to: path)
        _ = try await issue(.admin, label: "admin (bootstrap)", token: token)
        return .adminTokenCreated(path: path)
    }

    /// A fresh demo store: tokens for its agents, a supervisor and an auditor, in a JSON file beside it,
    /// and the demo's caller IDs as the organisation's pool.
    mutating func seedDemo(callerIds: [PhoneNumber], tokensFile path: String) async throws -> Note {
        let handler = try await writer()
        try await handler.handle(.addCallerIds(callerIds), at: clock.now)
        var tokens: [JSONObject.Field] = []
        for agent in Demo.agents {
            tokens.append(.init(key: agent.rawValue, value: .string(try await issue(.agent, agent: agent, label: "demo \(agent)"))))
        }
        tokens.append(.init(key: "supervisor", value: .string(try await issue(.supervisor, label: "demo supervisor"))))
        tokens.append(.init(key: "auditor", value: .string(try await issue(.auditor, label: "demo auditor"))))
        try? FileManager.default.removeItem(atPath: path)
        try Self.writeSecret(JSONWriter.encode(.object(JSONObject(fields: tokens))) + [10], to: path)
        return .demoTokens(path: path)
    }

    /// Creates `path` readable by its owner only, and refuses to replace a file that exists.
    static func writeSecret(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw ConfigurationError(description: "cannot create \(path): errno \(errno)") }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw ConfigurationError(description: "cannot write \(path)") }
    }
}
