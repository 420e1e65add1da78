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

struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "Path of the SQLite event log.")
    var store: String = "./switchboard.sqlite"

    /// Held by `serve` while it runs: the store has one writing process, so a command that writes
    /// (tokens) refuses a store a server is using and points at the API instead.
    static func claim(_ store: String) throws -> Int32 {
        // Named after the real file, so a symlink or another spelling of the path finds the same lock.
        let resolved = URL(fileURLWithPath: store).resolvingSymlinksInPath().path
        let descriptor = Glibc.open(resolved + ".lock", O_RDWR | O_CREAT, 0o600)
        guard descriptor >= 0, flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw ValidationError("\(store) is in use by a running switchboard serve: make this change through its API")
        }
        return descriptor
    }

    /// Opens an existing log; a missing file is an error here, never a silently empty log.
    func openExisting() throws -> SQLiteEventStore {
        guard FileManager.default.fileExists(atPath: store) else {
            throw StoreRefused(description: "no event store at \(store)")
        }
        return try open()
    }

    func open() throws -> SQLiteEventStore {
        do {
            return try SQLiteEventStore(path: store)
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
        }
    }

    /// Opens an existing log to read it: nothing is written into its files (safe beside `serve`).
    func openForReading() throws -> SQLiteEventStore {
        guard FileManager.default.fileExists(atPath: store) else {
            throw StoreRefused(description: "no event store at \(store)")
        }
        do {
            return try SQLiteEventStore.openForReading(path: store)
        } catch let error as EventStoreError {
            throw StoreRefused(description: error.description)
        }
    }
}

/// A store that cannot be used (missing, damaged, behind its head record): said plainly, exit 1 — not
/// a usage error with the command's help after it.
struct StoreRefused: Error, CustomStringConvertible {
    var description: String
}
