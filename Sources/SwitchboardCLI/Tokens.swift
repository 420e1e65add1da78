import ArgumentParser
import DialerEngine
import DialerCore
import EventStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ReadModels
import WritePath
import SwitchboardJSON
import SwitchboardBasics
import Logging
import WebTransport
import SwitchboardRuntime
import SwitchboardServer

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue, list and revoke bearer tokens (admin, supervisor, agent, auditor) in a store.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token and print it once (only its hash is kept).")
        @OptionGroup var options: StoreOption
        @Option(help: "admin, supervisor, agent or auditor.") var role: String
        @Option(help: "The agent an agent's token acts as.") var agent: String?
        @Option(help: "A note to tell tokens apart.") var label: String?
        @Option(help: "Expire after this many hours.") var expiresInHours: Int64?

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be admin, supervisor, agent or auditor") }
            let claim = try StoreOption.claim(options.store)
            defer { close(claim) }
            let log = try options.open()
            defer { log.close() }
            let handler = try await CommandHandler(store: log)
            let now = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
            let expiresAt = try expiresInHours.map { hours in
                guard (1...87_600).contains(hours) else { throw ValidationError("--expires-in-hours must be 1 to 87600") }
                return now.adding(milliseconds: hours * 3_600_000)
            }
            do {
                let issued = try await TokenIssuing.issue(role: role, agentId: agent.map(AgentID.init), label: label,
                                                          expiresAt: expiresAt, credentials: log) { command in
                    try await handler.handle(command, at: now)
                }
                print("\(issued.tokenId.rawValue) \(issued.token)")
            } catch let error as DomainError {
                throw ValidationError(error.description)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never the tokens themselves).")
        @OptionGroup var options: StoreOption

        func run() async throws {
            let log = try options.openForReading()
            defer { log.close() }
            let state = try await DialerState.replay(log)
            let now = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
            for token in state.tokens.values.sorted(by: { ($0.issuedAt, $0.id) < ($1.issuedAt, $1.id) }) {
                let status = token.revokedAt != nil ? "revoked" : token.isValid(at: now) ? "valid" : "expired"
                print([token.id.rawValue, token.role.rawValue, token.agentId?.rawValue ?? "-", token.hashPrefix, status,
                       token.label ?? ""].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: it opens nothing from now on.")
        @OptionGroup var options: StoreOption
        @Argument(help: "The token's id (tokens list).") var tokenId: String

        func run() async throws {
            let claim = try StoreOption.claim(options.store)
            defer { close(claim) }
            let log = try options.openExisting()
            defer { log.close() }
            let handler = try await CommandHandler(store: log)
            do {
                try await handler.handle(.revokeToken(tokenId: TokenID(tokenId)),
                                         at: Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
            } catch let error as DomainError {
                throw ValidationError(error.description)
            }
            print("revoked \(tokenId)")
        }
    }
}
