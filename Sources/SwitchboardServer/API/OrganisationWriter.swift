import DialerCore
import EventStore
import SwitchboardBasics
import WritePath

/// Writes the organisation's commands (`Command.isOrganisational`) while the engine is stopped, through
/// the write path every other writer takes (`CommandHandler`: decide on a fold of the log, expect each
/// stream's version, catch up and decide again when another writer got in first). Made when first
/// needed: while the engine runs it takes every command, and the server keeps no extra fold.
actor OrganisationWriter {
    let store: any EventStore
    private var handler: CommandHandler?

    init(store: any EventStore) { self.store = store }

    /// Records `command`; the log position after it (`nil` when it changed nothing).
    func handle(_ command: Command, at time: Timestamp) async throws -> Int64? {
        let handler: CommandHandler
        if let made = self.handler {
            handler = made
        } else {
            handler = try await CommandHandler(store: store)
            self.handler = handler
        }
        return try await handler.handle(command, at: time).last?.position
    }
}
