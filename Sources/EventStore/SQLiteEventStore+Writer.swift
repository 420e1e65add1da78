import Dispatch
import Foundation
import Synchronization
import SwitchboardJSON
import SwitchboardBasics


// MARK: - The writer


extension SQLiteEventStore {
    /// State only the writer thread touches (the mutex is uncontended; it makes ownership explicit).
    final class Writer {
        let db: SQLiteDatabase
        var head: Int64
        var lastHash: [UInt8]
        var streams: [String: StreamInfo]
        var nextStreamKey: Int64
        var headFile: HeadRecordState

        init(db: SQLiteDatabase, head: Int64, lastHash: [UInt8], streams: [String: StreamInfo], nextStreamKey: Int64,
             headFile: HeadRecordState) {
            self.db = db
            self.head = head
            self.lastHash = lastHash
            self.streams = streams
            self.nextStreamKey = nextStreamKey
            self.headFile = headFile
        }
    }

    /// The head record's file and what it holds now.
    struct HeadRecordState {
        let file: HeadRecordFile
        var record: HeadRecord
    }

    /// What the store shares with its writer thread.
    final class Core: Sendable {
        let inbox = Mutex(Inbox())
        let wakeUp = DispatchSemaphore(value: 0)
        let writerExited = DispatchSemaphore(value: 0)
        let writer: Mutex<Writer>
        let live = LiveFeed()
        let committedHead: Atomic<Int64>
        let commits = Atomic<Int>(0)
        /// The writer thread's CPU time per commit (encoding, hashing, SQLite; not the fsync wait).
        let work = WorkMeter()

        init(writer: sending Writer) {
            committedHead = Atomic(writer.head)
            self.writer = Mutex(writer)
        }

        /// Under load, the appenders just resumed come back within microseconds with their next
        /// append. Waiting briefly for them (never more than `gatherLimit`) lets one commit serve
        /// all of them instead of every other one; an idle or single appender never waits.
        static let gatherLimitMicroseconds = 300

        func gatherStragglers(expected: Int) {
            guard expected > 1 else { return }
            var waited = 0
            while waited < Self.gatherLimitMicroseconds {
                let (pending, closed) = inbox.withLock { ($0.pending.count, $0.closed) }
                if pending >= expected || closed { return }
                usleep(20)
                waited += 20
            }
        }

        /// Runs on the writer thread until the store closes and the inbox is empty.
        func writerLoop() {
            while true {
                wakeUp.wait()
                while true {
                    let (batch, closed) = inbox.withLock { inbox -> ([PendingAppend], Bool) in
                        var taken: [PendingAppend] = []
                        var events = 0
                        while !inbox.pending.isEmpty, events < maxEventsPerCommit || taken.isEmpty {
                            let next = inbox.pending.removeFirst()
                            events += next.writes.reduce(0) { $0 + $1.events.count }
                            taken.append(next)
                        }
                        return (taken, inbox.closed)
                    }
                    if batch.isEmpty {
                        if closed { return }
                        break
                    }
                    let waitingDuringCommit = inbox.withLock { $0.pending.count }
                    let committed = work.measure { writer.withLock { writer in commit(batch, writer: writer) } }
                    commits.add(1, ordering: .relaxed)
                    // The head moves before any appender resumes: an append that has returned is
                    // always within `headPosition()` (read-your-writes for whoever waits on the head).
                    if let head = committed.written.last?.position {
                        committedHead.store(head, ordering: .releasing)
                    }
                    for (pending, outcome) in zip(batch, committed.outcomes) { pending.continuation.resume(with: outcome) }
                    live.publish(committed.written)
                    gatherStragglers(expected: batch.count + waitingDuringCommit)
                }
            }
        }
    }

    /// Whether every event is already in the log (so a failed version check is really a retry).
    static func allStored(_ events: [NewEvent], exists: SQLiteStatement, inBatch: Set<UUID>) throws -> Bool {
        for event in events where !inBatch.contains(event.id) {
            exists.reset()
            exists.bind(1, blob: event.id.bytes)
            guard try exists.step() else { return false }
        }
        exists.reset()
        return true
    }

    /// What one transaction wrote, and each append's answer (in batch order) for the caller to resume.
    struct Committed: Sendable {
        var written: [RecordedEvent]
        var outcomes: [Result<AppendResult, any Error>]
    }

    /// Writes a batch of appends in one transaction. The caller resumes the appenders.
    static func commit(_ batch: [PendingAppend], writer: Writer) -> Committed {
        let db = writer.db
        var outcomes: [Result<AppendResult, any Error>] = []
        var written: [RecordedEvent] = []
        var head = writer.head
        var lastHash = writer.lastHash
        var touched: [String: StreamInfo] = [:]
        var nextStreamKey = writer.nextStreamKey
        var idsInBatch = Set<UUID>()
        do {
            try db.execute("BEGIN IMMEDIATE")
            let exists = try db.statement("SELECT 1 FROM events WHERE id = ?1")
            let insert = try db.statement("""
                INSERT INTO events (position, stream_key, stream_version, id, type, version, time, correlation_id, data, hash)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING
                """)
            let insertStream = try db.statement("INSERT INTO streams (stream_key, name) VALUES (?1, ?2)")
            for pending in batch {
                // Optimistic concurrency, checked before anything of this append is written. A write
                // whose events are all stored already is a retry of an append that succeeded: it passes.
                // Writes to the same stream within one append follow each other.
                var failure: EventStoreError?
                var planned: [String: Int64] = [:]
                for write in pending.writes {
                    let current = planned[write.stream] ?? touched[write.stream]?.version
                        ?? writer.streams[write.stream]?.version ?? 0
                    if !write.expectedVersion.admits(current),
                        try write.events.isEmpty || !allStored(write.events, exists: exists, inBatch: idsInBatch)
                    {
                        failure = .wrongExpectedVersion(stream: write.stream, expected: write.expectedVersion, actual: current)
                        break
                    }
                    planned[write.stream] = current + Int64(write.events.count)
                }
                if let failure {
                    outcomes.append(.failure(failure))
                    continue
                }
                var recorded: [RecordedEvent] = []
                var versions: [String: Int64] = [:]
                for write in pending.writes where !write.events.isEmpty {
                    var info: StreamInfo
                    if let known = touched[write.stream] ?? writer.streams[write.stream] {
                        info = known
                    } else {
                        info = StreamInfo(key: nextStreamKey, version: 0)
                        nextStreamKey += 1
                        insertStream.reset()
                        insertStream.bind(1, info.key)
                        insertStream.bind(2, write.stream)
                        try insertStream.run()
                    }
                    for event in write.events {
                        var record = RecordedEvent(event, position: head + 1, stream: write.stream,
                                                   streamVersion: info.version + 1)
                        record.hash = EventHashing.hash(previous: lastHash, event: record)
                        insert.reset()
                        insert.bind(1, record.position)
                        insert.bind(2, info.key)
                        insert.bind(3, record.streamVersion)
                        insert.bind(4, blob: event.id.bytes)
                        insert.bind(5, event.type)
                        insert.bind(6, Int64(event.version))
                        insert.bind(7, event.time.millisecondsSinceEpoch)
                        insert.bind(8, event.correlationId)
                        insert.bind(9, blob: event.data)
                        insert.bind(10, blob: record.hash)
                        try insert.run()
                        // Idempotency: an id already in the log is skipped by the unique index.
                        guard db.changes > 0 else { continue }
                        head = record.position
                        info.version = record.streamVersion
                        lastHash = record.hash
                        idsInBatch.insert(event.id)
                        recorded.append(record)
                    }
                    touched[write.stream] = info
                    versions[write.stream] = info.version
                }
                written.append(contentsOf: recorded)
                outcomes.append(.success(AppendResult(recorded: recorded, streamVersions: versions, position: head)))
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            let failure = EventStoreError.storage("append failed and was rolled back: \(error)")
            return Committed(written: [], outcomes: batch.map { _ in .failure(failure) })
        }
        writer.head = head
        writer.lastHash = lastHash
        writer.nextStreamKey = nextStreamKey
        for (name, info) in touched { writer.streams[name] = info }
        // After the commit's sync, never before: the record is never ahead of what is durable. A
        // failed write leaves it behind, which only narrows what a lost -wal can be told from; the
        // next commit writes it again.
        if head != writer.headFile.record.position {
            writer.headFile.record.position = head
            writer.headFile.record.hash = lastHash
            try? writer.headFile.file.write(writer.headFile.record)
        }
        return Committed(written: written, outcomes: outcomes)
    }
}
