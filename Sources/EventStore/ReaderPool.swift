import Dispatch
import DequeModule
import Synchronization

/// The log's read connections: a few, each lent to one read at a time, so reads run beside each
/// other and beside the writer (WAL) — a long read, a verify walking millions of events, holds one
/// connection, not every read. A read runs on its connection's own serial queue, not on the
/// cooperative pool: SQLite's calls block (GRDB's `DatabasePool` does the same).
final class ReaderPool: Sendable {
    /// One read connection with the queue its reads run on.
    ///
    /// `@unchecked Sendable`: the database is used only by the read that holds the connection — it is
    /// taken out of `State.idle` under the lock and put back under it after that read has finished on
    /// the connection's serial queue — and closed only while no read holds it.
    final class Connection: @unchecked Sendable {
        let db: SQLiteDatabase
        let queue: DispatchQueue

        init(_ db: SQLiteDatabase, number: Int) {
            self.db = db
            queue = DispatchQueue(label: "switchboard-reader-\(number)")
        }
    }

    private struct State {
        var idle: [Connection]
        var waiting: Deque<CheckedContinuation<Connection, any Error>> = []
        var closed = false
    }

    private let state: Mutex<State>
    let size: Int

    /// Opens `size` connections to `path`; `open` makes one (query-only).
    init(size: Int, open: () throws -> SQLiteDatabase) throws {
        let connections = try (0..<max(1, size)).map { Connection(try open(), number: $0) }
        self.size = connections.count
        state = Mutex(State(idle: connections))
    }

    /// Runs `body` with a connection of its own, off the cooperative pool, while the caller waits.
    func read<T: Sendable>(_ body: (SQLiteDatabase) throws -> T) async throws -> T {
        let connection = try await take()
        defer { give(connection) }
        return try await withoutActuallyEscaping(body) { body in
            let lent = Lent(body)
            return try await withCheckedThrowingContinuation { continuation in
                connection.queue.async {
                    let result = Result { () throws -> T in
                        guard !connection.db.isClosed, let body = lent.body else { throw EventStoreError.closed }
                        return try body(connection.db)
                    }
                    lent.body = nil  // given back before the caller resumes: it never escaped
                    continuation.resume(with: result)
                }
            }
        }
    }

    /// Reads waiting for a connection.
    var waitingReads: Int { state.withLock { $0.waiting.count } }

    /// Closes every connection: idle ones now, lent ones as they come back; waiting reads fail.
    func close() {
        let (idle, waiting) = state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiting = []
            }
            return (state.idle, state.waiting)
        }
        for connection in idle { connection.queue.sync { connection.db.close() } }
        for waiter in waiting { waiter.resume(throwing: EventStoreError.closed) }
    }

    private func take() async throws -> Connection {
        try await withCheckedThrowingContinuation { continuation in
            let taken = state.withLock { state -> Result<Connection, any Error>? in
                guard !state.closed else { return .failure(EventStoreError.closed) }
                if let connection = state.idle.popLast() { return .success(connection) }
                state.waiting.append(continuation)
                return nil
            }
            if let taken { continuation.resume(with: taken) }
        }
    }

    private func give(_ connection: Connection) {
        let next = state.withLock { state -> CheckedContinuation<Connection, any Error>?? in
            if state.closed { return .some(nil) }
            if let waiter = state.waiting.popFirst() { return waiter }
            state.idle.append(connection)
            return nil
        }
        switch next {
        case .some(.some(let waiter)): waiter.resume(returning: connection)
        case .some(.none): connection.queue.async { connection.db.close() }
        case .none: break
        }
    }
}

/// A read's body, lent to a connection's queue while the caller waits for it.
///
/// `@unchecked Sendable`: the caller is suspended from the moment it is lent until the queue has run
/// it and let go of it, so only one thread ever touches it, or what it captures.
private final class Lent<Body>: @unchecked Sendable {
    var body: Body?
    init(_ body: Body) { self.body = body }
}
