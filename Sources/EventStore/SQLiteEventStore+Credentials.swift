import Dispatch
import Foundation
import Synchronization
import SwitchboardJSON
import SwitchboardBasics

extension SQLiteEventStore: CredentialStore {
    public func saveCredential(tokenId: String, hash: [UInt8]) async throws {
        guard !readOnly else { throw EventStoreError.readOnly(path: path) }
        try core.writer.withLock { writer in
            guard !writer.db.isClosed else { throw EventStoreError.closed }
            try Self.mapErrors(path: path) {
                let statement = try writer.db.statement("INSERT OR IGNORE INTO credentials (token_id, hash) VALUES (?1, ?2)")
                defer { statement.reset() }
                statement.bind(1, tokenId)
                statement.bind(2, blob: hash)
                try statement.run()
            }
        }
    }

    public func tokenId(forHash hash: [UInt8]) async throws -> String? {
        try await readers.read { db in
            try Self.mapErrors(path: path) {
                let statement = try db.statement("SELECT token_id FROM credentials WHERE hash = ?1")
                defer { statement.reset() }
                statement.bind(1, blob: hash)
                return try statement.step() ? statement.text(0) : nil
            }
        }
    }
}
