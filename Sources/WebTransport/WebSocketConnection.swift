/// One WebSocket on the service thread, as a value: messages queued for it, what it has sent us, and
/// how it closes. Its transitions say what to do; the loop does it (`Tests/WebTransportTests/WebSocketConnectionTests.swift`).
struct WebSocketConnection {
    /// An array, not a `Deque`: a socket's queue holds a few messages and is taken a batch at a time;
    /// measured at 1 000 walls, a `Deque` here put the fan-out's p99 at 0.94–1.19× the bare broadcaster
    /// against 0.89–0.92× (docs/benchmarks.md, 2026-12-06).
    var queue: [OutgoingMessage] = []
    var queuedBytes = 0
    var closeCode: UInt16?
    var closeReason = ""
    var incoming: [UInt8] = []
    /// The client sent its close frame: nothing more is written, so lws can answer it at once.
    var peerClosing = false
    /// Messages taken off the front of the queue so far: `queue[i]` is message number `dequeued + i`.
    private(set) var dequeued: UInt64 = 0
    /// The number of the last message queued with each topic's state in it.
    private var latestState: [String: UInt64] = [:]

    enum Enqueued: Equatable {
        /// Queued; ask for a writeable callback (the queue was empty: none is coming).
        case askWritable
        /// Queued behind others: the write in flight re-arms while messages remain.
        case queued
        /// Over its own limit, or its share when all queues together are over theirs: closed 4008,
        /// its queue dropped (these bytes freed); it resumes from its last position.
        case slowConsumer(freed: Int)
        /// Closing already, or the peer is: nothing is queued.
        case dropped
    }

    /// Queues `messages` (`bytes` in all) when the queues of all sockets hold `totalQueued` bytes with
    /// these included. A slow reader never delays anyone else, nor do many of them together.
    mutating func enqueue(_ messages: [OutgoingMessage], bytes: Int, totalQueued: Int, limits: WebServer.Limits) -> Enqueued {
        guard closeCode == nil, !peerClosing else { return .dropped }
        let wasEmpty = queue.isEmpty
        let first = dequeued + UInt64(queue.count)
        for (offset, message) in messages.enumerated() {
            for state in message.states { latestState[state.topic] = first + UInt64(offset) }
        }
        queue.append(contentsOf: messages)
        queuedBytes += bytes
        let overTotal = totalQueued > limits.maxTotalQueuedBytes && queuedBytes > limits.maxQueuedBytes / 8
        if queuedBytes > limits.maxQueuedBytes || overTotal {
            return .slowConsumer(freed: close(CloseCode.slowConsumer, reason: "slow consumer: reconnect with after=<last position>"))
        }
        return wasEmpty ? .askWritable : .queued
    }

    /// Before `messages` are queued behind a long queue (`Limits.supersedeStatesAboveBytes`), the states
    /// they carry supersede the same topics' states still waiting: those are taken out (the newest
    /// state wins; events are never touched, so the reader's position stays exact and nothing it
    /// follows is skipped — only a view it would have replaced at once). Returns how many states were
    /// dropped and the bytes freed.
    mutating func supersedeStates(with messages: [OutgoingMessage], limits: WebServer.Limits) -> (states: Int, bytes: Int) {
        guard queuedBytes >= limits.supersedeStatesAboveBytes, closeCode == nil, !peerClosing else { return (0, 0) }
        var states = 0, bytes = 0
        for message in messages {
            for state in message.states {
                guard let number = latestState[state.topic], number >= dequeued, number - dequeued < UInt64(queue.count) else { continue }
                let index = Int(number - dequeued)
                let older = queue[index]
                let kept = older.without(state.topic)
                guard kept !== older else { continue }
                queue[index] = kept
                states += 1
                bytes += older.count - kept.count
            }
        }
        queuedBytes -= bytes
        return (states, bytes)
    }

    /// The queued messages one write takes: at least one, then more while they fit in `limit` bytes.
    /// A message whose states were all superseded stays in the queue, empty, so the numbers
    /// `latestState` holds need no renumbering; it is taken here and never written.
    mutating func takeBatch(limit: Int) -> [OutgoingMessage] {
        var batch: [OutgoingMessage] = [], taken = 0, bytes = 0
        while taken < queue.count {
            let message = queue[taken]
            if message.count > 0 {
                guard batch.isEmpty || bytes + message.count <= limit else { break }
                batch.append(message)
                bytes += message.count
            }
            taken += 1
        }
        queue.removeFirst(taken)
        dequeued += UInt64(taken)
        queuedBytes -= bytes
        return batch
    }

    /// Closes with `code`; a slow consumer's queue is dropped at once. Returns the bytes freed.
    mutating func close(_ code: UInt16, reason: String) -> Int {
        closeCode = code
        closeReason = reason
        guard code == CloseCode.slowConsumer else { return 0 }
        return dropQueue()
    }

    /// The client closes (a page left, a reconnect): its close is answered now, not after whatever was
    /// queued for it. Returns the bytes freed.
    mutating func peerClosed() -> Int {
        peerClosing = true
        return dropQueue()
    }

    private mutating func dropQueue() -> Int {
        defer {
            dequeued += UInt64(queue.count)
            queue = []
            queuedBytes = 0
        }
        return queuedBytes
    }

    enum Received: Equatable {
        /// More fragments to come.
        case partial
        /// A whole message.
        case message([UInt8])
        /// Over the limit: close 1009.
        case tooBig
    }

    /// A fragment of a client's message; `last` when it ends the message.
    mutating func received(_ fragment: UnsafeRawBufferPointer, last: Bool, limit: Int) -> Received {
        incoming.append(contentsOf: fragment)
        guard incoming.count <= limit else { return .tooBig }
        guard last else { return .partial }
        defer { incoming = [] }
        return .message(incoming)
    }
}
